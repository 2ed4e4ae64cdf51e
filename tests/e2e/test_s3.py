"""Large payloads through S3, between the Python SDK (its own S3StorageDriver
over aioboto3) and C activities, against a real S3-compatible server on
loopback (moto's server, which the Python driver's own tests use) and the
dev server: a 1 MiB argument in and a 2 MiB result out; heartbeat details
over the threshold into the retry; failure details; small payloads inline;
a tampered object fails with the hash message; the keys the C worker writes
are the keys the Python driver computes for the same inputs (with characters
that need encoding); a reference with no storage configured fails naming the
bucket and key. And a C workflow: its argument, a signal, a query's answer,
its activity's input and result and its own result, all through S3. And
examples/large_payloads under the Lambda emulator: its invocation hooks open
and check an S3 connection, and a bucket that is not there fails the
invocation."""
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.contrib.aws.s3driver import S3StorageDriver, S3StorageDriverClient
from temporalio.contrib.aws.s3driver.aioboto3 import new_aioboto3_client
from temporalio.converter import (DataConverter, ExternalStorage, StorageDriverActivityInfo,
                                  StorageDriverStoreContext, StorageDriverWorkflowInfo)
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from conftest import REPO, free_port, invoke, program, start, stop, wait_for_port
from workers import CallC, PythonSide, c_env, set_current_version

BUCKET = "tlw-payloads"
REGION = "us-east-1"
MIB = 1024 * 1024
NAMESPACE = "default"
# moto checks every request's SigV4 signature and session token (as S3
# does) once this many requests went through unchecked: those that make the
# bucket and a role, and take temporary credentials of the role, as Lambda
# gives a function.
UNCHECKED_REQUESTS = 4


@dataclasses.dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen
    access_key_id: str = "testing"
    secret: str = "testing"
    token: str | None = None

    def client(self, service="s3"):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret, aws_session_token=self.token)

    def creds(self) -> dict:
        """What Lambda puts in a function's environment."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret,
                "AWS_SESSION_TOKEN": self.token, "AWS_REGION": REGION}

    def keys(self) -> set:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = start([str(REPO / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p",
                  str(port)], log,
                 env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(UNCHECKED_REQUESTS)))
    try:
        wait_for_port(port, proc, 30, log)
        server = S3Server(f"http://127.0.0.1:{port}", proc)
        server.client().create_bucket(Bucket=BUCKET)
        iam = server.client("iam")
        role = iam.create_role(RoleName="function", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}]}))["Role"]
        iam.put_role_policy(RoleName="function", PolicyName="payloads", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        c = server.client("sts").assume_role(RoleArn=role["Arn"],
                                             RoleSessionName="tlw")["Credentials"]
        server.access_key_id, server.secret = c["AccessKeyId"], c["SecretAccessKey"]
        server.token = c["SessionToken"]
        yield server
    finally:
        stop(proc)


@workflow.defn(sandboxed=False)
class CallCAfterGo:
    """Waits for the signal "go", then calls the C activity as CallC does."""

    def __init__(self):
        self.go = False

    @workflow.signal
    def proceed(self):
        self.go = True

    @workflow.run
    async def run(self, req: dict):
        await workflow.wait_condition(lambda: self.go)
        return await workflow.execute_activity(
            req["activity"], args=req.get("args", []), task_queue=req["queue"],
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1))


class S3PythonSide(PythonSide):
    """PythonSide whose client and worker store large payloads in S3."""

    def __init__(self, address: str, s3: S3Server):
        self.loop = asyncio.new_event_loop()
        import threading
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.queue = f"py-s3-{uuid.uuid4().hex[:8]}"
        self.stack = contextlib.AsyncExitStack()

        async def open_s3():
            import aioboto3
            session = aioboto3.Session(aws_access_key_id=s3.access_key_id,
                                       aws_secret_access_key=s3.secret,
                                       aws_session_token=s3.token, region_name=REGION)
            return await self.stack.enter_async_context(
                session.client("s3", endpoint_url=s3.endpoint))

        self.s3 = self.run(open_s3())
        self.driver = S3StorageDriver(client=new_aioboto3_client(self.s3), bucket=BUCKET)
        converter = dataclasses.replace(
            DataConverter.default, external_storage=ExternalStorage(drivers=[self.driver]))
        self.client = self.run(Client.connect(address, data_converter=converter))
        self.worker = Worker(self.client, task_queue=self.queue, workflows=[CallC, CallCAfterGo])
        self.worker_task = asyncio.run_coroutine_threadsafe(self.worker.run(), self.loop)

    def close(self):
        self.run(self.worker.shutdown())
        self.run(self.stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def py(dev_server, s3):
    side = S3PythonSide(dev_server.address, s3)
    yield side
    side.close()


def start_s3_worker(address: str, tmp: Path, env_extra: dict, workflow_slots=0, **tuning):
    """The S3 bootstrap outside Lambda, as workers.start_c_worker starts one."""
    from workers import CWorker
    queue = f"c-s3-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-s3-{uuid.uuid4().hex[:8]}"
    log = tmp / "c-worker.log"
    env = dict(c_env(address, tmp, queue, deployment, workflow_slots=workflow_slots,
                     activity_slots=2,
                     **tuning), **env_extra)
    proc = subprocess.Popen([str(program("tests/e2e/fixtures/s3_bootstrap"))], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                            start_new_session=True)
    worker = CWorker(proc, log, queue, deployment)
    worker.wait_for("workers ready")
    set_current_version(address, deployment, "b1")
    return worker


@pytest.fixture(scope="module")
def cw(dev_server, s3, tmp_path_factory):
    """Storage set in code (tlw_config_set_s3_storage), at debug level so
    that the log would show a credential if one leaked into it."""
    worker = start_s3_worker(dev_server.address, tmp_path_factory.mktemp("c-s3"),
                             dict(s3.creds(), TLW_TEST_S3_BUCKET=BUCKET,
                                  TLW_TEST_S3_ENDPOINT=s3.endpoint),
                             workflow_slots=1, log_level='"DEBUG"')
    yield worker
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(20)
    log = worker.log.read_text()
    assert s3.secret not in log and s3.token not in log


def expected_key(target, payload: Payload) -> str:
    """The key the Python SDK's driver writes for `payload` stored for
    `target`, computed by the driver itself (with a client that only
    records)."""
    class Recorder(S3StorageDriverClient):
        key = None

        async def put_object(self, *, bucket, key, data):
            Recorder.key = key

        async def object_exists(self, *, bucket, key):
            return False

        async def get_object(self, *, bucket, key):
            raise AssertionError("not used")

    driver = S3StorageDriver(client=Recorder(), bucket=BUCKET)
    asyncio.run(driver.store(StorageDriverStoreContext(target=target), [payload]))
    return Recorder.key


def encoded(value) -> Payload:
    return DataConverter.default.payload_converter.to_payloads([value])[0]


def scheduled_and_completed(py, handle):
    events = py.history(handle)
    sched = next(e for e in events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    done = next(e for e in events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    return (sched.activity_task_scheduled_event_attributes.input.payloads,
            done.activity_task_completed_event_attributes.result.payloads)


def is_reference(p: Payload) -> bool:
    return (p.metadata.get("encoding") == b"json/protobuf" and p.metadata.get("messageType")
            == b"temporal.api.sdk.v1.ExternalStorageReference")


def test_a_large_argument_in_and_a_larger_result_out(py, cw, s3):
    arg = "a" * MIB
    wf_id = f"big wf/{uuid.uuid4().hex[:6]}:ü"  # characters that need encoding
    handle = py.run(py.client.start_workflow(
        CallC.run, {"activity": "twice", "args": [arg], "queue": cw.queue, "timeout": 60},
        id=wf_id, task_queue=py.queue))
    result = py.run(handle.result())
    assert result == arg + arg
    inputs, results = scheduled_and_completed(py, handle)
    # Only references went through the server.
    assert is_reference(inputs[0]) and is_reference(results[0])
    assert results[0].external_payloads[0].size_bytes == encoded(arg + arg).ByteSize()
    # The C worker wrote the key the Python driver computes for the same
    # payload and the same workflow.
    target = StorageDriverWorkflowInfo(namespace=NAMESPACE, id=wf_id, run_id=handle.result_run_id,
                                       type="CallC")
    key = expected_key(target, encoded(arg + arg))
    assert "big%20wf%2F" in key and "%3A%C3%BC" in key
    assert key in s3.keys()


def test_small_payloads_stay_inline(py, cw):
    handle = py.start({"activity": "length", "args": ["short"], "queue": cw.queue})
    assert py.run(handle.result()) == 5
    inputs, results = scheduled_and_completed(py, handle)
    assert inputs[0].metadata["encoding"] == b"json/plain"
    assert results[0].metadata["encoding"] == b"json/plain" and results[0].data == b"5"


def test_heartbeat_details_over_the_threshold_survive_into_the_retry(py, cw, s3):
    n = 300 * 1024
    handle = py.start({"activity": "resume_big", "args": [n], "queue": cw.queue, "attempts": 2,
                       "heartbeat": 30, "timeout": 60})
    assert py.run(handle.result()) == {"length": n, "head": "progress:"}
    # Stored for the activity, as the SDKs store heartbeats.
    details = "progress:" + "h" * (n - 9)
    target = StorageDriverActivityInfo(namespace=NAMESPACE, id="1", type="resume_big")
    assert expected_key(target, encoded(details)) in s3.keys()


def test_failure_details_over_the_threshold_reach_python(py, cw):
    with pytest.raises(WorkflowFailureError) as e:
        py.execute({"activity": "fail_big", "args": [300 * 1024], "queue": cw.queue})
    err = e.value.cause.cause
    assert isinstance(err, ApplicationError) and err.type == "TooBig"
    assert list(err.details) == ["d" * 300 * 1024]


def test_a_tampered_object_fails_with_the_hash_message(py, cw, s3):
    arg = "t" * MIB
    wf_id = f"tamper-{uuid.uuid4().hex[:6]}"
    handle = py.run(py.client.start_workflow(
        CallCAfterGo.run, {"activity": "length", "args": [arg], "queue": cw.queue},
        id=wf_id, task_queue=py.queue))
    # Put other bytes where the Python worker will store the argument: its
    # driver sees the object exists and does not overwrite it.
    target = StorageDriverWorkflowInfo(namespace=NAMESPACE, id=wf_id, run_id=handle.result_run_id,
                                       type="CallCAfterGo")
    key = expected_key(target, encoded(arg))
    s3.client().put_object(Bucket=BUCKET, Key=key,
                           Body=encoded("not the argument").SerializeToString())
    py.run(handle.signal(CallCAfterGo.proceed))
    with pytest.raises(WorkflowFailureError) as e:
        py.run(handle.result())
    assert isinstance(e.value.cause, ActivityError)
    err = e.value.cause.cause
    assert err.type == "tlw.ExternalStorageError"
    assert "integrity check failed" in err.message
    assert f"bucket={BUCKET}" in err.message and key in err.message
    assert err.non_retryable


def test_a_reference_without_storage_names_bucket_and_key(py, dev_server, s3, tmp_path):
    plain = start_s3_worker(dev_server.address, tmp_path, {})
    try:
        arg = "n" * MIB
        with pytest.raises(WorkflowFailureError) as e:
            py.execute({"activity": "length", "args": [arg], "queue": plain.queue})
        err = e.value.cause.cause
        assert err.type == "tlw.ExternalStorageError"
        assert "no S3 storage" in err.message and f"bucket {BUCKET}" in err.message
        assert "/d/sha256/" + hashlib.sha256(encoded(arg).SerializeToString()).hexdigest() \
            in err.message
    finally:
        plain.proc.send_signal(signal.SIGTERM)
        plain.proc.wait(20)


def test_the_tuning_file_sets_the_storage(tmp_path):
    cfg = tmp_path / "lambda_worker.cfg"
    cfg.write_text('task_queue = "q";\ns3_bucket = "b1";\ns3_endpoint_url = "http://127.0.0.1:1";\n'
                   's3_path_style = true;\ns3_payload_size_threshold = 1000;\n'
                   's3_key_prefix = "team";\n')
    env = dict(os.environ, TLW_WORKER_CONFIG=str(cfg), AWS_REGION="eu-west-3",
               AWS_SECRET_ACCESS_KEY="do-not-print-me")
    env.pop("TLW_TEST_S3_BUCKET", None)
    p = subprocess.run([str(program("tests/e2e/fixtures/s3_bootstrap")), "--print-config"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: line.split()[1] for line in p.stdout.splitlines() if line.strip()}
    assert rows["worker.s3_bucket"] == "b1"
    assert rows["worker.s3_region"] == "eu-west-3"
    assert rows["worker.s3_path_style"] == "true"
    assert rows["worker.s3_payload_size_threshold"] == "1000"
    assert rows["worker.s3_key_prefix"] == "team"
    assert "do-not-print-me" not in p.stdout + p.stderr
    cfg.write_text('task_queue = "q";\ns3_payload_size_threshold = 0;\n')
    p = subprocess.run([str(program("tests/e2e/fixtures/s3_bootstrap")), "--print-config"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "s3_payload_size_threshold = 0 is out of range" in p.stderr + \
        p.stdout


def wait_for_event(py, handle, event_type, timeout=60):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in py.history(handle):
            if e.event_type == event_type:
                return e
        time.sleep(0.2)
    raise AssertionError(f"no {event_type} in the history")


def test_a_c_workflows_payloads_cross_s3(py, cw, s3, tmp_path):
    arg = "w" * MIB
    more = "s" * (300 * 1024)
    wf_id = f"c wf/{uuid.uuid4().hex[:6]}"
    handle = py.run(py.client.start_workflow("BigEcho", arg, id=wf_id, task_queue=cw.queue))
    sched = wait_for_event(py, handle, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    # The activity's input, which the C workflow sent, went to S3.
    assert is_reference(sched.activity_task_scheduled_event_attributes.input.payloads[0])
    # A query's answer over the threshold comes back through S3.
    assert py.run(handle.query("text")) == arg
    py.run(handle.signal("more", more))
    expected = {"doubled": arg + arg, "signal": more}
    assert py.run(handle.result()) == expected
    done = wait_for_event(py, handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert is_reference(done.workflow_execution_completed_event_attributes.result.payloads[0])
    # Keyed as the Python SDK keys a workflow's payloads.
    target = StorageDriverWorkflowInfo(namespace=NAMESPACE, id=wf_id, run_id=handle.result_run_id,
                                       type="BigEcho")
    keys = s3.keys()
    assert expected_key(target, encoded(arg)) in keys
    assert expected_key(target, encoded(expected)) in keys

    # The history, references and all, replays offline with the storage set
    # (the references are fetched), and fails naming bucket and key without.
    history = tmp_path / "history.json"
    history.write_text(py.run(handle.fetch_history()).to_json())
    bootstrap = str(program("tests/e2e/fixtures/s3_bootstrap"))
    env = dict(os.environ, TEMPORAL_TASK_QUEUE=cw.queue, TLW_WORKER_CONFIG="", **s3.creds())
    p = subprocess.run([bootstrap, "--replay", str(history)], capture_output=True, text=True,
                       timeout=60, env=dict(env, TLW_TEST_S3_BUCKET=BUCKET,
                                            TLW_TEST_S3_ENDPOINT=s3.endpoint))
    assert p.returncode == 0, p.stderr
    p = subprocess.run([bootstrap, "--replay", str(history)], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 1
    assert "no S3 storage" in p.stderr and f"bucket {BUCKET}" in p.stderr, p.stderr


def test_the_example_opens_s3_in_its_invocation_hooks_under_lambda(py, dev_server, s3,
                                                                    lambda_emulator):
    env = dict(s3.creds(), PAYLOAD_BUCKET=BUCKET, S3_ENDPOINT_URL=s3.endpoint,
               TEMPORAL_ADDRESS=dev_server.address)
    example = program("examples/large_payloads/bootstrap")
    emu = lambda_emulator(example, env=env, timeout_s=10)
    status, body, _ = invoke(emu.url, {})
    assert status == 200 and "errorType" not in body, body
    set_current_version(dev_server.address, "reports", "v1.0")
    handle = py.start({"activity": "make_report", "queue": "reports", "timeout": 30})
    status, body, _ = invoke(emu.url, {})
    assert status == 200 and "errorType" not in body, body
    rows = py.run(handle.result())
    assert len(rows) == 20000 and rows[-1] == {"row": 19999, "status": "ok"}
    _, results = scheduled_and_completed(py, handle)
    assert is_reference(results[0])

    # A bucket that is not there fails the invocation in the setup hook.
    emu = lambda_emulator(example, env=dict(env, PAYLOAD_BUCKET="no-such-bucket"), timeout_s=10)
    status, body, _ = invoke(emu.url, {})
    assert isinstance(body, dict) and body.get("errorType") == "Tlw.SetupError", body


def test_virtual_hosted_urls_are_signed_too(s3, tmp_path):
    """AWS's default addressing, bucket.host/key, against the same server
    (libcurl resolves *.localhost to loopback)."""
    cfg = tmp_path / "lambda_worker.cfg"
    port = s3.endpoint.rsplit(":", 1)[1]
    cfg.write_text(f's3_bucket = "{BUCKET}";\ns3_endpoint_url = "http://localhost:{port}";\n')
    env = dict(os.environ, TLW_WORKER_CONFIG=str(cfg), **s3.creds())
    before = s3.keys()
    p = subprocess.run([str(program("tests/e2e/fixtures/s3_probe")), str(300 * 1024), "1"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stdout.splitlines()] == ["store", "fetch"]
    assert len(s3.keys() - before) == 1

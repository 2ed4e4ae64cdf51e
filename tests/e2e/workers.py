"""Helpers for tests that run C activities from Python workflows: a Python
worker on its own event loop thread, the C bootstrap as a process, and
setting a worker deployment version current, as a user would."""
import asyncio
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from conftest import REPO, program


@workflow.defn(sandboxed=False)
class CallC:
    """Calls one C activity as the request says and returns its result."""

    @workflow.run
    async def run(self, req: dict) -> Any:
        return await workflow.execute_activity(
            req["activity"],
            args=req.get("args", []),
            task_queue=req["queue"],
            start_to_close_timeout=timedelta(seconds=req.get("timeout", 10)),
            heartbeat_timeout=(timedelta(seconds=req["heartbeat"]) if "heartbeat" in req
                               else None),
            retry_policy=RetryPolicy(maximum_attempts=req.get("attempts", 1),
                                     initial_interval=timedelta(milliseconds=100)),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )


class PythonSide:
    """A client and a Python worker for CallC, on a loop in a thread."""

    def __init__(self, address: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.queue = f"py-wf-{uuid.uuid4().hex[:8]}"
        self.client = self.run(Client.connect(address))
        self.worker = Worker(self.client, task_queue=self.queue, workflows=[CallC])
        self.worker_task = asyncio.run_coroutine_threadsafe(self.worker.run(), self.loop)

    def run(self, coro, timeout=120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, req: dict, **kw):
        return self.run(self.client.start_workflow(
            CallC.run, req, id=f"wf-{uuid.uuid4().hex[:10]}", task_queue=self.queue, **kw))

    def execute(self, req: dict):
        handle = self.start(req)
        return self.run(handle.result())

    def history(self, handle):
        async def events():
            return [e async for e in handle.fetch_history_events()]
        return self.run(events())

    def close(self):
        self.run(self.worker.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def set_current_version(address: str, deployment: str, build_id: str, timeout=60):
    """What a user does after the first deploy: make the version current.
    It exists once a worker of that version has polled."""
    temporal = str(REPO / ".venv" / "bin" / "temporal")
    deadline = time.monotonic() + timeout
    while True:
        p = subprocess.run([temporal, "worker", "deployment", "set-current-version",
                            "--address", address, "--deployment-name", deployment,
                            "--build-id", build_id, "--yes"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"set-current-version failed: {p.stdout}{p.stderr}")
        time.sleep(0.5)


@dataclass
class CWorker:
    proc: subprocess.Popen
    log: Path
    queue: str
    deployment: str

    def wait_for(self, needle: str, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log.read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {needle!r} in the C worker's log:\n{self.log.read_text()}")


def c_env(address: str, tmp: Path, queue: str, deployment: str, **tuning) -> dict:
    cfg = tmp / "lambda_worker.cfg"
    cfg.write_text("".join(f"{k} = {v};\n" for k, v in tuning.items()))
    env = dict(os.environ, TEMPORAL_ADDRESS=address, TEMPORAL_TASK_QUEUE=queue,
               TLW_TEST_DEPLOYMENT=deployment, TLW_WORKER_CONFIG=str(cfg))
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    if "ASAN_OPTIONS" in env:
        # Under AddressSanitizer an executor that reaches its memory limit may
        # die in the sanitizer's own mmap (exit 1) rather than see malloc
        # return NULL; abort then, so that it reads as the crash it is.
        env["ASAN_OPTIONS"] += ":abort_on_error=1"
    return env


def start_c_worker(address: str, tmp: Path, program_name="activity_bootstrap",
                   **tuning) -> CWorker:
    """A C bootstrap (the activity one by default) outside Lambda (a
    long-lived worker)."""
    queue = f"c-acts-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-{uuid.uuid4().hex[:8]}"
    log = tmp / "c-worker.log"
    env = c_env(address, tmp, queue, deployment, **tuning)
    proc = subprocess.Popen([str(program(f"tests/e2e/fixtures/{program_name}"))], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                            start_new_session=True)
    worker = CWorker(proc, log, queue, deployment)
    worker.wait_for("workers ready")
    set_current_version(address, deployment, "b1")
    return worker

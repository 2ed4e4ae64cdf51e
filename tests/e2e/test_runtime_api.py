"""The Runtime API client (supervisor/runtime_api.c) against the real Lambda
Runtime Interface Emulator. The bootstrap is tests/e2e/fixtures/runtime_api_probe,
which answers each invocation with what the client parsed (TLW_PROBE_MODE
selects other behaviours)."""
import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from conftest import free_port, program

PROBE = "tests/e2e/fixtures/runtime_api_probe"


def post(url, payload, headers=None, timeout=30):
    """One invocation: returns (HTTP status, body bytes)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for_log(log, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the emulator log:\n{log.read_text()[-3000:]}")


def test_invocations_arrive_with_their_deadline_and_identity(lambda_emulator):
    emu = lambda_emulator(program(PROBE), timeout_s=7)
    before_ms = time.time() * 1000
    status, raw = post(emu.url, {"greeting": "hello \"world\"", "n": [1, 2]})
    assert status == 200, raw
    got = json.loads(raw)
    assert json.loads(got["event"]) == {"greeting": "hello \"world\"", "n": [1, 2]}
    assert got["event_len"] == len(got["event"].encode())
    assert got["request_id"]
    assert got["function_arn"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    # The emulator passes no X-Ray trace id, so the client reports "".
    assert got["trace_id"] == ""
    assert got["client_context"] == "" and got["cognito_identity"] == ""
    # AWS_LAMBDA_FUNCTION_TIMEOUT=7: the deadline is 7 s after the invocation began.
    assert 6000 < got["deadline_ms"] - got["received_ms"] <= 7000
    assert 6000 < got["deadline_ms"] - before_ms <= 7500

    # The same client serves the next invocation: a new id and a new deadline.
    status, raw = post(emu.url, {"n": 2})
    again = json.loads(raw)
    assert status == 200
    assert again["request_id"] != got["request_id"]
    assert again["deadline_ms"] > got["deadline_ms"]


def test_deadline_follows_the_function_timeout(lambda_emulator):
    emu = lambda_emulator(program(PROBE), timeout_s=30)
    got = json.loads(post(emu.url, {})[1])
    assert 29000 < got["deadline_ms"] - got["received_ms"] <= 30000


def test_request_id_client_context_and_cognito_identity_pass_through(lambda_emulator):
    emu = lambda_emulator(program(PROBE))
    context = {"custom": {"tenant": "a b"}, "env": {"platform": "c"}}
    identity = {"cognitoIdentityId": "us-east-1:id-1", "cognitoIdentityPoolId": "us-east-1:pool"}
    status, raw = post(emu.url, {"x": 1}, headers={
        "X-Amzn-RequestId": "my-request-0001",
        "X-Amz-Client-Context": base64.b64encode(json.dumps(context).encode()).decode(),
        "X-Amz-Cognito-Identity": json.dumps(identity),
    })
    assert status == 200, raw
    got = json.loads(raw)
    assert got["request_id"] == "my-request-0001"
    assert json.loads(got["client_context"]) == context
    assert json.loads(got["cognito_identity"]) == identity


def test_a_large_event_arrives_whole(lambda_emulator):
    emu = lambda_emulator(program(PROBE))
    blob = "".join(chr(0x61 + i % 26) for i in range(1_000_000))
    status, raw = post(emu.url, {"blob": blob})
    assert status == 200
    got = json.loads(raw)
    assert json.loads(got["event"])["blob"] == blob


def test_an_invocation_error_reaches_the_invoker(lambda_emulator):
    emu = lambda_emulator(program(PROBE), env={"TLW_PROBE_MODE": "error"})
    for n in range(2):  # the runtime goes on after an error
        status, raw = post(emu.url, {"n": n})
        # The emulator answers 200 with the error document as the body.
        assert status == 200, raw
        got = json.loads(raw)
        assert got == {
            "errorType": "Function.ProbeError",
            "errorMessage": "probe failed on purpose: \"quoted\" \\ and\nsecond line",
            "stackTrace": [],
        }


def test_an_init_error_fails_the_invocation_with_its_type_and_message(lambda_emulator):
    emu = lambda_emulator(program(PROBE), env={"TLW_PROBE_MODE": "init_error"})
    for _ in range(2):  # each invocation initialises the runtime again, and fails again
        status, raw = post(emu.url, {})
        assert status == 502, raw
        got = json.loads(raw)
        assert got["errorType"] == "Runtime.ProbeInitError"
        assert got["errorMessage"] == "probe: cannot start \"on purpose\""
    # The probe saw its POST /runtime/init/error accepted before it exited.
    wait_for_log(emu.log, "runtime_api_probe: init error posted")


def test_a_refused_post_reports_lambdas_reason(lambda_emulator):
    emu = lambda_emulator(program(PROBE), env={"TLW_PROBE_MODE": "wrong_id"})
    status, raw = post(emu.url, {})
    assert status == 200, raw
    note = json.loads(raw)["note"]
    # TLW_ERR_SERVER, with the address, the call, the HTTP status and the reason.
    assert note.startswith("server: Runtime API at 127.0.0.1:")
    assert ("refused POST /runtime/invocation/not-the-current-id/response with HTTP 400: "
            "InvalidRequestID: Invalid request ID") in note


def test_an_oversized_response_is_refused_by_lambda(lambda_emulator):
    emu = lambda_emulator(program(PROBE), env={"TLW_PROBE_MODE": "oversized"})
    for _ in range(2):  # the runtime carries on with the next invocation
        status, raw = post(emu.url, {})
        assert status == 200, raw
        assert json.loads(raw)["errorType"] == "Function.ResponseSizeTooLarge"
    # The client saw Lambda's refusal as TLW_ERR_SERVER with the reason.
    log = wait_for_log(emu.log, "with HTTP 413: RequestEntityTooLarge")
    assert "refused POST /runtime/invocation/" in log and "(server)" in log


def run_probe(env, timeout=20):
    full_env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    full_env.update(env)
    t0 = time.monotonic()
    proc = subprocess.run([str(program(PROBE))], env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    return proc, time.monotonic() - t0


def test_a_runtime_api_that_is_gone_is_unavailable_naming_the_address():
    port = free_port()  # nothing listens there
    proc, took = run_probe({"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"})
    assert proc.returncode == 1
    assert f"Runtime API at 127.0.0.1:{port} is unavailable" in proc.stderr
    assert "(unavailable)" in proc.stderr
    assert 0.5 < took < 5  # retried briefly, then gave up


def test_a_runtime_api_that_goes_away_ends_the_loop(lambda_emulator):
    emu = lambda_emulator(program(PROBE))
    assert post(emu.url, {})[0] == 200
    # The emulator runs the bootstrap as its child.
    probe_pids = subprocess.run(["pgrep", "-P", str(emu.proc.pid)], capture_output=True,
                                text=True).stdout.split()
    assert probe_pids
    # Kill the emulator alone: the probe, waiting in GET /next, must notice,
    # retry briefly, and give up naming the address.
    emu.proc.kill()
    emu.proc.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in probe_pids):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{p}") for p in probe_pids)
    wait_for_log(emu.log, "is unavailable")


def test_missing_or_bad_address_names_the_variable():
    proc, _ = run_probe({})
    assert proc.returncode == 1
    assert "AWS_LAMBDA_RUNTIME_API is not set" in proc.stderr
    proc, _ = run_probe({"AWS_LAMBDA_RUNTIME_API": "http://127.0.0.1:9001"})
    assert proc.returncode == 1
    assert "AWS_LAMBDA_RUNTIME_API: Runtime API address \"http://127.0.0.1:9001\"" in proc.stderr

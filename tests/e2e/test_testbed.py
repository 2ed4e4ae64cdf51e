"""The test bed itself: the Lambda emulator launcher runs a bootstrap and
passes it what the supervisor will rely on (request id, function ARN, and a
deadline from AWS_LAMBDA_FUNCTION_TIMEOUT)."""
import json
import time
import urllib.request

from conftest import REPO

ECHO = REPO / "tests" / "e2e" / "fixtures" / "echo_bootstrap.sh"


def invoke(url, payload, timeout=30):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def test_emulator_runs_a_bootstrap_with_a_deadline(lambda_emulator):
    emu = lambda_emulator(ECHO, timeout_s=7)
    before_ms = time.time() * 1000
    got = invoke(emu.url, {"n": 1})
    assert got["event"] == {"n": 1}
    assert got["request_id"]
    assert got["arn"].startswith("arn:aws:lambda:")
    remaining = got["deadline_ms"] - before_ms
    assert 5000 < remaining <= 7500

    # A second invocation gets a new request id.
    again = invoke(emu.url, {"n": 2})
    assert again["event"] == {"n": 2}
    assert again["request_id"] != got["request_id"]

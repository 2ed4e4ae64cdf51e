"""The supervisor under the real Lambda Runtime Interface Emulator, and the
same bootstrap outside Lambda. The workers only idle for now (no polling):
what is checked is the lifecycle: timing against the deadline, drain, kill,
replacement, init errors, and that nothing leaks across invocations."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, invoke, program

BOOTSTRAP = "tests/e2e/fixtures/supervisor_bootstrap"


def bootstrap():
    return program(BOOTSTRAP)


def tuning(tmp_path, **values):
    path = tmp_path / "lambda_worker.cfg"
    lines = [f'{k} = {json.dumps(v) if isinstance(v, str) else v};' for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def base_env(tmp_path, **extra):
    env = {"TEMPORAL_TASK_QUEUE": "e2e", "TLW_TEST_MARKER": str(tmp_path / "marker")}
    env.update(extra)
    return env


def test_invocation_ends_after_the_drain_point_and_before_the_deadline(lambda_emulator, tmp_path):
    emu = lambda_emulator(bootstrap(), env=base_env(tmp_path), timeout_s=10)
    status, body, elapsed = invoke(emu.url, {})
    assert status == 200, body
    # Defaults: buffer 7 s, so the drain comes 3 s in; idle workers leave at once.
    assert 2.8 < elapsed < 9.5, elapsed
    assert body["slots"] == {"workflow": 2, "activity": 2}
    assert body["ready"] == 4
    assert body["killed"] == 0 and body["crashes"] == 0
    assert 2000 < body["work_window_ms"] <= 3000
    assert body["drain_ms"] < 1000


def test_a_worker_that_ignores_drain_is_killed_and_the_answer_is_on_time(lambda_emulator,
                                                                         tmp_path):
    cfg = tuning(tmp_path, graceful_shutdown_timeout_ms=1500, shutdown_deadline_buffer_ms=3000)
    emu = lambda_emulator(bootstrap(), timeout_s=5,
                          env=base_env(tmp_path, TLW_TEST_MODE="stuck-once",
                                       TLW_WORKER_CONFIG=cfg))
    status, body, elapsed = invoke(emu.url, {})
    assert status == 200, body
    assert body["killed"] == 1
    assert body["ready"] == 3
    assert 1400 <= body["drain_ms"] < 2500
    assert elapsed < 5


def test_a_crashed_worker_is_replaced(lambda_emulator, tmp_path):
    cfg = tuning(tmp_path, graceful_shutdown_timeout_ms=1000, shutdown_deadline_buffer_ms=2000)
    emu = lambda_emulator(bootstrap(), timeout_s=5,
                          env=base_env(tmp_path, TLW_TEST_MODE="crash-once",
                                       TLW_WORKER_CONFIG=cfg))
    status, body, elapsed = invoke(emu.url, {})
    assert status == 200, body
    assert body["crashes"] == 1
    assert body["restarts"] == 1
    assert body["ready"] == 4  # three at first, then the replacement
    assert "SIGABRT" in emu.log.read_text()


def test_bad_settings_are_an_init_error(lambda_emulator, tmp_path):
    cfg = tmp_path / "lambda_worker.cfg"
    cfg.write_text("workflow_slots = 1;\nactivty_slots = 1;\n")
    emu = lambda_emulator(bootstrap(), timeout_s=5,
                          env=base_env(tmp_path, TLW_WORKER_CONFIG=str(cfg)))
    status, body, _ = invoke(emu.url, {})
    text = json.dumps(body) + emu.log.read_text()
    assert "Tlw.ConfigError" in text
    assert 'unknown key \\"activty_slots\\"' in text or 'unknown key "activty_slots"' in text


def find_bootstrap_pid(emu):
    target = str(BUILD / "tests/e2e/fixtures/.libs/supervisor_bootstrap")
    lt = str(BUILD / "tests/e2e/fixtures/.libs/lt-supervisor_bootstrap")
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            exe = os.readlink(p / "exe")
        except OSError:
            continue
        if exe in (target, lt):
            return int(p.name)
    raise AssertionError("bootstrap process not found")


def children_of(pid):
    kids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append((int(p.name), fields[0]))
    return kids


def test_back_to_back_invocations_leak_nothing(lambda_emulator, tmp_path):
    cfg = tuning(tmp_path, graceful_shutdown_timeout_ms=500, shutdown_deadline_buffer_ms=1500)
    emu = lambda_emulator(bootstrap(), timeout_s=3,
                          env=base_env(tmp_path, TLW_WORKER_CONFIG=cfg))
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    pid = find_bootstrap_pid(emu)
    fds_after_first = len(os.listdir(f"/proc/{pid}/fd"))
    for i in range(19):
        status, body, elapsed = invoke(emu.url, {"i": i})
        assert status == 200, body
        assert body["ready"] == 4 and body["killed"] == 0
        assert elapsed < 3
    assert children_of(pid) == []  # no zombie, no stray worker
    assert len(os.listdir(f"/proc/{pid}/fd")) == fds_after_first


def run_standalone(tmp_path, extra_env):
    env = dict(os.environ, **base_env(tmp_path), **extra_env)
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    return subprocess.Popen([str(bootstrap())], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_line(proc, needle, timeout=10):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"no {needle!r} in:\n{''.join(seen)}")


def test_outside_lambda_it_runs_until_sigterm_then_drains(tmp_path):
    proc = run_standalone(tmp_path, {})
    try:
        wait_for_line(proc, "workers ready")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 < 5
    assert '"drained_by_signal":true' in err
    assert '"ready":4' in err


def test_json_logs_are_one_object_per_line(tmp_path):
    proc = run_standalone(tmp_path, {"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    try:
        seen = wait_for_line(proc, "workers ready")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [l for l in "".join(seen).splitlines() + err.splitlines() if l.strip()]
    assert len(lines) >= 3
    for line in lines:
        obj = json.loads(line)
        assert {"timestamp", "level", "message"} <= obj.keys()
    assert any("SIGINT" in json.loads(l)["message"] for l in lines)


def test_print_config_shows_sources_and_hides_secrets(tmp_path):
    env = dict(os.environ, TEMPORAL_TASK_QUEUE="e2e", TEMPORAL_API_KEY="sekrit-api-key-42",
               TEMPORAL_ADDRESS="example.tmprl.cloud:7233", TLW_TEST_WORKFLOW="1")
    p = subprocess.run([str(bootstrap()), "--print-config"], env=env, capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "sekrit" not in p.stdout + p.stderr
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip()}
    assert "TEMPORAL_ADDRESS" in rows["client.address"]
    assert "(set, redacted)" in rows["client.api_key"]
    assert "true" in rows["client.tls"] and "API key" in rows["client.tls"]
    assert "e2e" in rows["worker.deployment_name"]
    assert "EchoWorkflow" in rows["workflows"]

    env.pop("TEMPORAL_TASK_QUEUE")
    p = subprocess.run([str(bootstrap()), "--print-config"], env=env, capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 1
    assert "TEMPORAL_TASK_QUEUE" in p.stderr
    assert "sekrit" not in p.stdout + p.stderr


def test_api_key_over_plaintext_needs_the_opt_in(tmp_path):
    # TLS explicitly off with an API key: refused before anything forks, the
    # message naming both settings and the opt-in, never the key.
    env = dict(os.environ, TEMPORAL_TASK_QUEUE="e2e", TEMPORAL_API_KEY="sekrit-api-key-42",
               TEMPORAL_TLS="false")
    env.pop("TLW_WORKER_CONFIG", None)
    p = subprocess.run([str(bootstrap()), "--print-config"], env=env, capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 1
    assert "the API key (TEMPORAL_API_KEY) would be sent in plaintext" in p.stderr
    assert "TLS is off (TEMPORAL_TLS)" in p.stderr
    assert "allow_plaintext_credentials = true;" in p.stderr
    assert "sekrit" not in p.stdout + p.stderr

    # A trusted local proxy: the tuning file allows it on purpose.
    env["TLW_WORKER_CONFIG"] = tuning(tmp_path, allow_plaintext_credentials=True)
    p = subprocess.run([str(bootstrap()), "--print-config"], env=env, capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip()}
    assert "true" in rows["worker.allow_plaintext_credentials"]
    assert "lambda_worker.cfg:1" in rows["worker.allow_plaintext_credentials"]
    assert "sekrit" not in p.stdout + p.stderr

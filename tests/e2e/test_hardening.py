"""The activity worker under real traffic: invocations with idle pauses
between them, a server that goes silent, refuses or is not there, activities
that ignore signals or leave processes behind, results the server refuses,
and signals sent to every process of the function."""
import json
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError

from conftest import free_port, invoke, program
from loopback import Relay
from test_activities import app_error, lambda_activity_worker
from tlsproxy import SERVER_NAME, start_proxy, stop
from workers import PythonSide, c_env, start_c_worker


@pytest.fixture(scope="module")
def py(dev_server):
    side = PythonSide(dev_server.address)
    yield side
    side.close()


# --- helpers ------------------------------------------------------------------

def descendants(root: int) -> list:
    """Pids of every live (non-zombie) process below `root`."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        state, ppid = rest[0], int(rest[1])
        if state != "Z":
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def function_procs(emu) -> dict:
    """The live processes of the function below the emulator: pid -> (comm,
    parent pid)."""
    out = {}
    for p in descendants(emu.proc.pid):
        try:
            cmdline = Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
            if "activity_bootstrap" in cmdline:
                out[p] = (comm(p), ppid(p))
        except OSError:
            pass
    return out


def wait_file(path: Path, timeout=10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def invoke_async(url):
    """Starts an invocation in a thread; returns a function giving its result."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(r=invoke(url, {})))
    thread.start()

    def result(timeout=30):
        thread.join(timeout)
        return box["r"]
    return result


def lambda_function(dev_server, lambda_emulator, tmp_path, timeout_s, address=None,
                    **tuning):
    """The activity bootstrap as a Lambda function with this tuning; no
    invocation yet. Returns (emulator, task queue, deployment)."""
    queue = f"c-h-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-h-{uuid.uuid4().hex[:8]}"
    settings = dict(workflow_slots=0, activity_slots=1, graceful_shutdown_timeout_ms=1000,
                    shutdown_deadline_buffer_ms=2500)
    settings.update(tuning)
    env = c_env(address or dev_server.address, tmp_path, queue, deployment, **settings)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    emu = lambda_emulator(program("tests/e2e/fixtures/activity_bootstrap"), env=env,
                          timeout_s=timeout_s)
    return emu, queue, deployment


# --- 1. timers from the invocation's own clock -----------------------------------

def test_a_warm_invocation_after_an_idle_pause_drains_at_its_own_deadline(
        dev_server, lambda_emulator, tmp_path):
    # timeout 6 s, buffer 2.5 s: the drain comes 3.5 s into each invocation.
    emu, _ = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                    activity_slots=1)
    for gap in (0, 5):  # 5 s idle: longer than the 3.5 s work window
        time.sleep(gap)
        status, body, elapsed = invoke(emu.url, {})
        assert status == 200, body
        assert 3.3 <= elapsed < 6, f"after {gap} s idle: answered in {elapsed:.2f} s"
        assert body["work_window_ms"] > 3000


# --- 2. never past the deadline --------------------------------------------------

def test_a_server_gone_silent_during_the_drain_does_not_delay_the_answer(
        py, dev_server, lambda_emulator, tmp_path):
    relay = Relay(dev_server.port)
    try:
        emu, queue, deployment = lambda_function(dev_server, lambda_emulator, tmp_path, 6,
                                                 address=f"127.0.0.1:{relay.port}")
        status, body, _ = invoke(emu.url, {})
        assert status == 200, body
        from workers import set_current_version
        set_current_version(dev_server.address, deployment, "b1")
        # An activity that runs into the drain, so that the drain has a
        # heartbeat, a ShutdownWorker and a RespondActivityTaskFailed to send.
        py.start({"activity": "long_running", "queue": queue, "attempts": 2, "timeout": 120,
                  "heartbeat": 30})
        result = invoke_async(emu.url)
        time.sleep(2.5)
        relay.silent.set()  # 1 s before the drain
        status, body, elapsed = result()
        assert status == 200, body
        assert elapsed < 6, f"answered after {elapsed:.2f} s, past the 6 s deadline"
        assert "errorType" not in body, body
    finally:
        relay.silent.clear()
        relay.close()


# --- 3. no executor outlives its slot or its invocation ------------------------------

def test_no_process_of_the_function_outlives_the_invocation(
        py, dev_server, lambda_emulator, tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                        activity_slots=2)
    pids = tmp_path / "pids"
    pids.mkdir()
    stubborn = py.start({"activity": "stubborn", "args": [str(pids)], "queue": queue,
                         "timeout": 120})
    holder = py.start({"activity": "fork_holder", "args": [str(pids)], "queue": queue,
                       "timeout": 120})
    result = invoke_async(emu.url)
    # The activity that leaves a grandchild holding its pipe still reports
    # its result at once, not at the drain.
    t0 = time.monotonic()
    assert py.run(holder.result(), timeout=10) == "returned"
    assert time.monotonic() - t0 < 3
    stubborn_pid = int(wait_file(pids / "stubborn.pid"))
    grandchild_pid = int(wait_file(pids / "grandchild.pid"))
    status, body, elapsed = result()
    assert status == 200, body
    assert elapsed < 6
    time.sleep(0.3)
    assert not alive(stubborn_pid), "the stubborn activity outlived the invocation"
    assert not alive(grandchild_pid), "the activity's grandchild outlived the invocation"
    # Below the emulator: the supervisor and its executor zygote (which
    # lives as long as the function), nothing else of the function.
    mine = function_procs(emu)
    assert sorted(c for c, _ in mine.values()) == ["activity_bootst", "tlw-zygote"], \
        f"processes of the function left: {mine}"
    py.run(stubborn.cancel())


@pytest.mark.parametrize("zygote,kind", [("true", ":socket:"), ("false", ":pipe:")])
def test_an_executor_holds_no_descriptor_but_its_own(py, dev_server, lambda_emulator, tmp_path,
                                                     zygote, kind):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                        activity_slots=1, executor_zygote=zygote)
    handle = py.start({"activity": "fds", "queue": queue})
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    fds = py.run(handle.result(), timeout=10)
    # Above stdio: its way to the slot only: the socket it was forked with
    # ahead of its task (worker/zygote.h), or the pipe of one the slot forked
    # itself (executor_zygote = false); no Runtime API socket, no slot
    # channel, no zygote channel, no gRPC socket, no event loop descriptor.
    assert len(fds) == 1 and kind in fds[0], fds


# --- 4. a result the server does not accept -----------------------------------------

def test_a_result_over_the_servers_message_limit_fails_promptly(py, dev_server,
                                                                lambda_emulator, tmp_path):
    # In-process, a 6 MiB result reaches RespondActivityTaskCompleted, over
    # what the server takes in one message: the attempt must fail at once,
    # saying why, not wait for its start-to-close timeout.
    emu, queue, deployment = lambda_function(dev_server, lambda_emulator, tmp_path, 8,
                                             isolation='"in-process"')
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    from workers import set_current_version
    set_current_version(dev_server.address, deployment, "b1")
    handle = py.start({"activity": "big", "args": [6 * 1024 * 1024], "queue": queue,
                       "timeout": 60})
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    t0 = time.monotonic()
    with pytest.raises(WorkflowFailureError) as e:
        py.run(handle.result(), timeout=30)
    assert time.monotonic() - t0 < 10  # not the 60 s start-to-close timeout
    err = app_error(e)
    assert err.type == "tlw.ResultRefused", err.message
    assert err.non_retryable is True
    assert "6291" in err.message  # the size it had


def test_a_result_too_large_to_carry_fails_promptly(py, dev_server, lambda_emulator, tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=8,
                                        activity_slots=1)
    handle = py.start({"activity": "big", "args": [5 * 1024 * 1024], "queue": queue,
                       "timeout": 60})
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    with pytest.raises(WorkflowFailureError) as e:
        py.run(handle.result(), timeout=30)
    err = app_error(e)
    assert err.type == "tlw.ResultTooLarge", err.message
    assert err.non_retryable is True


# --- 5. an invocation that cannot reach Temporal fails --------------------------------

@pytest.fixture(scope="module")
def auth_proxy(dev_server, tmp_path_factory):
    proc, proxy = start_proxy(tmp_path_factory.mktemp("auth"), dev_server.port)
    yield proxy
    stop(proc)


@pytest.mark.parametrize("cause", ["unreachable", "unknown namespace", "rejected credentials"])
def test_an_invocation_that_cannot_reach_temporal_fails(cause, dev_server, lambda_emulator,
                                                        tmp_path, auth_proxy):
    queue = f"c-h-{uuid.uuid4().hex[:8]}"
    address = dev_server.address
    extra = {}
    if cause == "unreachable":
        address = f"127.0.0.1:{free_port()}"
    elif cause == "unknown namespace":
        extra["TEMPORAL_NAMESPACE"] = "no-such-namespace"
    else:
        address = auth_proxy.auth_address
        extra.update(TEMPORAL_API_KEY="wrong-key",
                     TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(auth_proxy.ca),
                     TEMPORAL_TLS_SERVER_NAME=SERVER_NAME)
    env = c_env(address, tmp_path, queue, "e2e-h-c", workflow_slots=0, activity_slots=1,
                graceful_shutdown_timeout_ms=1000, shutdown_deadline_buffer_ms=2500)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    env.update(extra)
    emu = lambda_emulator(program("tests/e2e/fixtures/activity_bootstrap"), env=env,
                          timeout_s=20)
    status, body, elapsed = invoke(emu.url, {})
    assert isinstance(body, dict) and body.get("errorType") == "Tlw.ConnectError", body
    message = body["errorMessage"]
    assert address in message and ("no-such-namespace" if cause == "unknown namespace"
                                   else "default") in message, message
    if cause == "unreachable":
        assert "cannot reach" in message or "no answer" in message, message
        assert elapsed < 12  # the 10 s connect window, not the 17.5 s work window
    elif cause == "unknown namespace":
        assert "not found" in message, message
        assert elapsed < 5
    else:
        assert "credentials" in message or "refused" in message, message
        assert "wrong-key" not in message
        assert elapsed < 5


# --- 6. time left ---------------------------------------------------------------------

def test_time_left_counts_down_to_the_hard_stop(py, dev_server, lambda_emulator, tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                        activity_slots=1)
    handle = py.start({"activity": "time_left", "queue": queue, "timeout": 120})
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    left = py.run(handle.result(), timeout=10)
    # The hard stop is deadline - 2.5 s + 1 s, 4.5 s after the invocation
    # began; the 120 s start-to-close is not what bounds it.
    assert 0 < left < 4500, left


# --- 7. smaller items -------------------------------------------------------------------

@pytest.mark.parametrize("then_exit", [False, True])
def test_an_activitys_stdout_reaches_the_log(then_exit, py, dev_server, lambda_emulator,
                                             tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                        activity_slots=1)
    marker = uuid.uuid4().hex
    handle = py.start({"activity": "say", "args": [marker, then_exit], "queue": queue})
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    if then_exit:
        with pytest.raises(WorkflowFailureError):
            py.run(handle.result(), timeout=10)
    else:
        assert py.run(handle.result(), timeout=10) == "said"
    assert f"activity says {marker}" in emu.log.read_text()


def test_sigterm_to_every_process_drains_instead_of_killing(py, dev_server, tmp_path):
    worker = start_c_worker(dev_server.address, tmp_path, workflow_slots=0, activity_slots=1)
    try:
        handle = py.start({"activity": "sleep_ms", "args": [2000], "queue": worker.queue})
        time.sleep(1.0)  # the activity runs
        everyone = [worker.proc.pid] + descendants(worker.proc.pid)
        assert len(everyone) >= 3, everyone  # supervisor, slot, executor
        for pid in everyone:  # as a cgroup-wide stop or Ctrl-C does
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        assert py.run(handle.result(), timeout=15) == "slept"
        assert worker.proc.wait(15) == 0
        assert "draining (SIGTERM)" in worker.log.read_text()
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()


# --- 8. executors forked ahead of their task (worker/zygote.h) --------------------------

def test_tasks_go_on_when_the_zygote_or_a_waiting_executor_is_killed(py, dev_server, tmp_path):
    worker = start_c_worker(dev_server.address, tmp_path, activity_slots=1, workflow_slots=0)
    try:
        def greet(name):
            return py.run(py.start({"activity": "greet", "args": [name],
                                    "queue": worker.queue}).result(), timeout=30)

        assert greet("one") == "Hello, one!"
        # The slot, its zygote and the executor waiting for the next task.
        want = ["tlw-activity-0", "tlw-executor", "tlw-zygote"]
        deadline = time.monotonic() + 10
        while True:
            procs = {p: comm(p) for p in descendants(worker.proc.pid)}
            if sorted(procs.values()) == want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sorted(procs.values()) == want, procs
        waiting = [p for p, c in procs.items() if c == "tlw-executor"]
        # A waiting executor killed: the next task takes another.
        os.kill(waiting[0], signal.SIGKILL)
        assert greet("two") == "Hello, two!"
        # The zygote killed (its waiting executor dies with it): the slot
        # forks executors itself from then on, and says so.
        zygote = [p for p, c in procs.items() if c == "tlw-zygote"][0]
        os.kill(zygote, signal.SIGKILL)
        for name in ("three", "four"):
            assert greet(name) == f"Hello, {name}!"
        worker.wait_for("the executor zygote is gone; forking executors from the slot")
        left = {p: comm(p) for p in descendants(worker.proc.pid)}
        assert "tlw-zygote" not in left.values(), left
    finally:
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(20)


def zygote_function(dev_server, lambda_emulator, tmp_path, **env_extra):
    """The activity bootstrap as a Lambda function (timeout 6 s: 3.5 s to
    work), its first invocation done and its version current. Returns
    (emulator, task queue)."""
    queue = f"c-z-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-z-{uuid.uuid4().hex[:8]}"
    env = c_env(dev_server.address, tmp_path, queue, deployment, workflow_slots=0,
                activity_slots=1, graceful_shutdown_timeout_ms=1000,
                shutdown_deadline_buffer_ms=2500)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    env.update(env_extra)
    emu = lambda_emulator(program("tests/e2e/fixtures/activity_bootstrap"), env=env,
                          timeout_s=6)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    from workers import set_current_version
    set_current_version(dev_server.address, deployment, "b1")
    return emu, queue


def run_in_invocation(py, emu, request):
    """Starts the activity `request` names, runs one invocation, and returns
    the activity's result."""
    handle = py.start(request)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    return py.run(handle.result(), timeout=10)


def test_the_zygote_lives_across_invocations_and_forks_the_executors(
        py, dev_server, lambda_emulator, tmp_path):
    emu, queue = zygote_function(dev_server, lambda_emulator, tmp_path,
                                 TLW_TEST_START_HOOK="1")
    procs = function_procs(emu)
    boot = [p for p, (c, _) in procs.items() if c == "activity_bootst"]
    zygote = [p for p, (c, _) in procs.items() if c == "tlw-zygote"]
    assert len(boot) == 1 and len(zygote) == 1, procs
    # The supervisor's child, and between invocations nothing else is left.
    assert procs[zygote[0]][1] == boot[0]
    assert len(procs) == 2, procs
    # The executor is the zygote's child, and inherits its start hooks.
    _, parent, hook_pid = run_in_invocation(py, emu, {"activity": "whoami", "queue": queue})
    assert parent == zygote[0] and hook_pid == zygote[0]
    # After an idle pause, the same zygote.
    time.sleep(2)
    _, parent, _ = run_in_invocation(py, emu, {"activity": "whoami", "queue": queue})
    assert parent == zygote[0]
    procs = function_procs(emu)
    assert sorted(c for c, _ in procs.values()) == ["activity_bootst", "tlw-zygote"], procs
    # Killed between invocations: the next invocation starts a new one,
    # again the supervisor's child, which forks the executors.
    os.kill(zygote[0], signal.SIGKILL)
    time.sleep(0.3)
    _, parent, hook_pid = run_in_invocation(py, emu, {"activity": "whoami", "queue": queue})
    procs = function_procs(emu)
    fresh = [p for p, (c, _) in procs.items() if c == "tlw-zygote"]
    assert len(fresh) == 1 and fresh[0] != zygote[0], procs
    assert procs[fresh[0]][1] == boot[0]
    assert parent == fresh[0] and hook_pid == fresh[0]
    assert f"the executor zygote (pid {zygote[0]}) is gone" in emu.log.read_text()


def heavy_mapped(pid: int) -> set:
    """Which of gRPC, libcurl and libtlw's modules for them process `pid` maps."""
    names = ("libgrpc.so", "libcurl.so", "libtlw-grpc.so", "libtlw-s3.so")
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        base = line.rsplit("/", 1)[-1]
        found |= {n for n in names if base.startswith(n)}
    return found


def test_only_the_processes_that_talk_to_a_server_map_grpc(py, dev_server, lambda_emulator,
                                                           tmp_path):
    """issue 11: libtlw.so links neither gRPC nor libcurl; the supervisor
    loads libtlw-grpc.so after forking the zygote, so that the slots have it
    and the zygote and the executors never map it."""
    emu, queue = zygote_function(dev_server, lambda_emulator, tmp_path)
    procs = function_procs(emu)
    boot = [p for p, (c, _) in procs.items() if c == "activity_bootst"][0]
    zygote = [p for p, (c, _) in procs.items() if c == "tlw-zygote"][0]
    assert heavy_mapped(boot) == {"libgrpc.so", "libtlw-grpc.so"}  # no S3 storage: no libcurl
    assert heavy_mapped(zygote) == set()
    mapped = run_in_invocation(py, emu, {"activity": "heavy_libraries", "queue": queue})
    assert mapped == [], mapped


def test_a_slot_killed_while_its_activity_runs_takes_the_activity_along(py, dev_server,
                                                                        tmp_path):
    worker = start_c_worker(dev_server.address, tmp_path, activity_slots=1, workflow_slots=0)
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        handle = py.start({"activity": "stubborn", "args": [str(pids)], "queue": worker.queue,
                           "timeout": 120})
        executor = int(wait_file(pids / "stubborn.pid"))
        procs = {p: comm(p) for p in descendants(worker.proc.pid)}
        zygote = [p for p, c in procs.items() if c == "tlw-zygote"]
        assert len(zygote) == 1 and ppid(executor) == zygote[0], procs
        slot = [p for p, c in procs.items() if c == "tlw-activity-0"][0]
        os.kill(slot, signal.SIGKILL)
        # The zygote kills the slot's executor (it ignores every other
        # signal), and the supervisor reports the task at once.
        deadline = time.monotonic() + 5
        while alive(executor) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(executor), "the activity outlived its slot"
        with pytest.raises(WorkflowFailureError) as e:
            py.run(handle.result(), timeout=30)
        err = app_error(e)
        assert err.type == "tlw.WorkerCrashed", err.message
        worker.wait_for("recovering activity task stubborn (attempt 1)")
        # The zygote goes on serving the restarted slot.
        assert alive(zygote[0])
        assert py.run(py.start({"activity": "greet", "args": ["again"],
                                "queue": worker.queue}).result(), timeout=30) == "Hello, again!"
    finally:
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(20)


def test_with_an_invocation_setup_the_activity_sees_what_it_opened(py, dev_server,
                                                                   lambda_emulator, tmp_path):
    emu, queue = zygote_function(dev_server, lambda_emulator, tmp_path,
                                 TLW_TEST_SETUP_HOOK="1")
    # Per invocation, a zygote forked after the setups: the activity sees
    # this invocation's setup (the first invocation ran one already) and the
    # descriptor it opened; none is left between invocations.
    assert "tlw-zygote" not in [c for c, _ in function_procs(emu).values()]
    seen = run_in_invocation(py, emu, {"activity": "setup_seen", "queue": queue})
    assert seen == {"setups": 2, "fd": True}
    seen = run_in_invocation(py, emu, {"activity": "setup_seen", "queue": queue})
    assert seen == {"setups": 3, "fd": True}
    assert sorted(c for c, _ in function_procs(emu).values()) == ["activity_bootst"]

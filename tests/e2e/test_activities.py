"""C activities called from a Python workflow run by a Python worker, against
the real dev server: results, failures, heartbeats, cancellation, crash
isolation, and the drain under the Lambda emulator."""
import json
import os
import signal
import threading
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from conftest import invoke, program
from workers import PythonSide, c_env, set_current_version, start_c_worker


@pytest.fixture(scope="module")
def py(dev_server):
    side = PythonSide(dev_server.address)
    yield side
    side.close()


@pytest.fixture(scope="module")
def cw(dev_server, tmp_path_factory):
    worker = start_c_worker(dev_server.address, tmp_path_factory.mktemp("c-worker"),
                            workflow_slots=0, activity_slots=2, executor_memory_limit_mb=256)
    yield worker
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(20)


def lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s, activity_slots,
                           **tuning):
    """The activity bootstrap as a Lambda function (graceful 1 s, buffer 2.5 s).
    A first invocation registers its version, which is then made current,
    as a user does after the first deploy. Returns (emulator, task queue)."""
    import uuid
    queue = f"c-lambda-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-l-{uuid.uuid4().hex[:8]}"
    env = c_env(dev_server.address, tmp_path, queue, deployment, workflow_slots=0,
                activity_slots=activity_slots, graceful_shutdown_timeout_ms=1000,
                shutdown_deadline_buffer_ms=2500, **tuning)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    emu = lambda_emulator(program("tests/e2e/fixtures/activity_bootstrap"), env=env,
                          timeout_s=timeout_s)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    set_current_version(dev_server.address, deployment, "b1")
    return emu, queue


def app_error(exc_info):
    err = exc_info.value
    assert isinstance(err, WorkflowFailureError)
    assert isinstance(err.cause, ActivityError)
    assert isinstance(err.cause.cause, ApplicationError)
    return err.cause.cause


def test_results_come_back_exactly(py, cw):
    assert py.execute({"activity": "greet", "args": ["World"], "queue": cw.queue}) == "Hello, World!"
    assert py.execute({"activity": "add", "args": [2, 40], "queue": cw.queue}) == 42


def test_an_application_failure_reads_as_python_raised_it(py, cw):
    with pytest.raises(WorkflowFailureError) as e:
        py.execute({"activity": "fail_app", "args": ["xyz"], "queue": cw.queue, "attempts": 3})
    err = app_error(e)
    assert err.type == "BadInput"
    assert err.message == "the input xyz is bad"
    assert err.non_retryable is True
    assert list(err.details) == ["detail-1", {"code": 42}]


def test_an_unknown_activity_type_names_the_registered_ones(py, cw):
    with pytest.raises(WorkflowFailureError) as e:
        py.execute({"activity": "nope", "queue": cw.queue})
    err = app_error(e)
    assert err.type == "NotFoundError"
    assert '"nope"' in err.message and "greet" in err.message


def test_heartbeat_details_survive_into_the_retry(py, cw):
    result = py.execute({"activity": "resume", "queue": cw.queue, "attempts": 2,
                         "heartbeat": 5})
    assert result == [{"done": 7}]  # the details, as a list, like Python's heartbeat_details


def test_cancellation_from_the_client_reaches_the_activity(py, cw):
    handle = py.start({"activity": "wait_for_cancel", "queue": cw.queue, "heartbeat": 2,
                       "timeout": 60})
    time.sleep(1.5)
    py.run(handle.cancel())
    with pytest.raises(WorkflowFailureError) as e:
        py.run(handle.result())
    assert isinstance(e.value.cause, CancelledError)
    kinds = [ev.event_type for ev in py.history(handle)]
    # The C activity itself reported the cancellation (not a timeout).
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in kinds
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in kinds


@pytest.mark.parametrize("how,type_,says", [
    ("segfault", "tlw.ActivityCrashed", "SIGSEGV"),
    ("abort", "tlw.ActivityCrashed", "SIGABRT"),
    ("exit", "tlw.ActivityExited", "status 3"),
    ("oom", "tlw.ActivityCrashed", "executor_memory_limit_mb is 256"),
    ("hang", "tlw.ActivityTimedOut", "start-to-close timeout (2000 ms)"),
])
def test_a_crash_costs_one_attempt_and_the_slot_goes_on(py, cw, how, type_, says):
    handle = py.start({"activity": "crash", "args": [how], "queue": cw.queue, "timeout": 2})
    with pytest.raises(WorkflowFailureError) as e:
        py.run(handle.result())
    err = app_error(e)
    assert err.type == type_, err.message
    assert says in err.message
    assert err.non_retryable is False
    events = py.history(handle)
    started = next(ev for ev in events
                   if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    failed = next(ev for ev in events
                  if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    took = failed.event_time.ToMilliseconds() - started.event_time.ToMilliseconds()
    limit = 2000 + 1000 if how == "hang" else 1000
    assert took < limit, f"{how} reported after {took} ms"
    # The same worker runs the next activity.
    assert py.execute({"activity": "greet", "args": [how], "queue": cw.queue}) == f"Hello, {how}!"


def test_an_activity_running_at_the_drain_is_retried_on_the_next_invocation(
        py, dev_server, lambda_emulator, tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=6,
                                        activity_slots=1)

    handle = py.start({"activity": "long_running", "queue": queue, "attempts": 2,
                       "timeout": 120, "heartbeat": 30})
    status, body, elapsed = invoke(emu.url, {})
    assert status == 200, body
    assert body["tasks"]["activity"]["timed_out"] == 1, body
    assert body["killed"] == 0
    assert elapsed < 6

    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    result = py.run(handle.result(), timeout=30)
    assert result["attempt"] == 2
    assert result["previous"][0]["step"] >= 1  # the last heartbeat of attempt 1

    events = py.history(handle)
    kinds = [ev.event_type for ev in events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in kinds
    started = [ev for ev in events if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    last_failure = started[-1].activity_task_started_event_attributes.last_failure
    assert last_failure.application_failure_info.type == "tlw.WorkerShutdown"


def test_back_to_back_invocations_under_a_steady_stream_strand_nothing(
        py, dev_server, lambda_emulator, tmp_path):
    emu, queue = lambda_activity_worker(dev_server, lambda_emulator, tmp_path, timeout_s=5,
                                        activity_slots=2)

    stop = threading.Event()
    summaries = []

    def invocations():
        while not stop.is_set():
            status, body, elapsed = invoke(emu.url, {})
            summaries.append((status, body, elapsed))

    runner = threading.Thread(target=invocations)
    runner.start()
    handles = []
    try:
        for i in range(30):
            handles.append((i, py.start({"activity": "add", "args": [i, 1], "queue": queue,
                                          "timeout": 10})))
            time.sleep(0.25)
        results = [(i, py.run(h.result(), timeout=60)) for i, h in handles]
    finally:
        stop.set()
        runner.join(30)
    assert all(r == i + 1 for i, r in results)
    assert len(summaries) >= 2
    for status, body, elapsed in summaries:
        assert status == 200, body
        assert elapsed < 5
        assert body["killed"] == 0
    completed = sum(b["tasks"]["activity"]["completed"] for _, b, _ in summaries)
    assert completed == 30
    for _, h in handles:
        kinds = [ev.event_type for ev in py.history(h)]
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in kinds
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in kinds

"""C workflows replayed by the engine in the workflow slots, started and
read by the Python client against the real dev server: activities, timers,
signals, failures, wait_any, coroutines, continue-as-new, cancellation,
nondeterminism, and a workflow run through the Lambda emulator across
invocations with pauses between them."""
import asyncio
import signal
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from conftest import invoke, program
from workers import c_env, set_current_version, start_c_worker


@pytest.fixture(scope="module")
def cw(dev_server, tmp_path_factory):
    worker = start_c_worker(dev_server.address, tmp_path_factory.mktemp("c-wf"),
                            program_name="workflow_bootstrap", workflow_slots=1,
                            activity_slots=1, workflow_cache_size=10)
    yield worker
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(20)


@pytest.fixture(scope="module")
def client(dev_server):
    loop = asyncio.new_event_loop()
    c = loop.run_until_complete(Client.connect(dev_server.address))
    yield loop, c
    loop.close()


def run(client, coro, timeout=60):
    loop, _ = client
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def start(client, queue, workflow, *args):
    _, c = client
    return run(client, c.start_workflow(workflow, args=list(args), id=f"wf-{uuid.uuid4().hex[:10]}",
                                        task_queue=queue))


def history(client, handle):
    async def events():
        return [e async for e in handle.fetch_history_events()]
    return run(client, events())


def test_a_workflow_calls_activities_and_returns(client, cw):
    h = start(client, cw.queue, "Greeting", "World")
    assert run(client, h.result()) == ["Hello, World!", "Hello, again!"]
    kinds = [e.event_type for e in history(client, h)]
    assert kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 2
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


def test_a_durable_timer_moves_the_workflow_clock(client, cw):
    h = start(client, cw.queue, "Sleeper", 1500)
    assert run(client, h.result()) >= 1500
    kinds = [e.event_type for e in history(client, h)]
    assert EventType.EVENT_TYPE_TIMER_FIRED in kinds


def test_signals_are_delivered_in_order(client, cw):
    h = start(client, cw.queue, "Adder")
    for v in (5, 7, 30, 0):
        run(client, h.signal("add", v))
    assert run(client, h.result()) == 42


def test_an_activity_failure_reaches_the_workflow_and_it_fails(client, cw):
    h = start(client, cw.queue, "Failing", "bob")
    with pytest.raises(WorkflowFailureError) as e:
        run(client, h.result())
    err = e.value.cause
    assert isinstance(err, ApplicationError)
    assert err.type == "GreetingRefused"
    assert err.message == "ActivityError: refused bob (Refused)"


def test_wait_any_picks_what_happened_first(client, cw):
    assert run(client, start(client, cw.queue, "Race", 30000, "x").result()) == "activity"
    assert run(client, start(client, cw.queue, "Race", 1, "x").result()) in ("timer", "activity")


def test_coroutines_and_the_determinism_helpers_replay_alike(client, cw):
    h = start(client, cw.queue, "Spawner")
    result = run(client, h.result())
    assert result["ticks"] == 3
    # Every workflow task replays from the start: the values the helpers gave
    # in the first task are the ones the last one returned.
    assert len(result["uuid"]) == 36 and result["uuid"][14] == "4"
    assert run(client, start(client, cw.queue, "Spawner").result())["uuid"] != result["uuid"]


def test_continue_as_new_starts_a_fresh_run(client, cw):
    h = start(client, cw.queue, "Counter", 0)
    _, c = client
    # The handle follows the chain of runs to the last one.
    assert run(client, h.result(follow_runs=True)) == {"n": 3, "continued": True}


def test_cancellation_reaches_the_wait_and_clean_up_runs(client, cw):
    h = start(client, cw.queue, "Cancellable")
    time.sleep(1)
    run(client, h.cancel())
    with pytest.raises(WorkflowFailureError) as e:
        run(client, h.result())
    assert isinstance(e.value.cause, CancelledError)
    kinds = [ev.event_type for ev in history(client, h)]
    assert EventType.EVENT_TYPE_TIMER_CANCELED in kinds
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in kinds  # the clean-up
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


@pytest.fixture(scope="module")
def uncached(dev_server, tmp_path_factory):
    """A worker without the sticky cache: every task replays its history, as
    a new process (a new build) does, which is where a change shows."""
    worker = start_c_worker(dev_server.address, tmp_path_factory.mktemp("c-wf-nocache"),
                            program_name="workflow_bootstrap", workflow_slots=1,
                            activity_slots=1, workflow_cache_size=0)
    yield worker
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(20)


def test_nondeterminism_fails_the_task_not_the_workflow(client, uncached, tmp_path):
    cw = uncached
    flag = tmp_path / "flag"
    h = start(client, cw.queue, "Flip", str(flag))
    deadline = time.monotonic() + 20
    while EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in [e.event_type for e in history(client, h)]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    flag.write_text("now the code takes the other branch")
    run(client, h.signal("go", 1))
    deadline = time.monotonic() + 20
    failed = []
    while not failed:
        assert time.monotonic() < deadline, "no WorkflowTaskFailed"
        failed = [e for e in history(client, h)
                  if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        time.sleep(0.2)
    attrs = failed[0].workflow_task_failed_event_attributes
    assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
    message = attrs.failure.message
    assert "ActivityTaskScheduled (activity id 1, type slow)" in message, message
    assert "StartTimer (timer id 1)" in message, message
    # The workflow itself is not failed: it still runs (the server retries the task).
    desc = run(client, h.describe())
    assert desc.status.name == "RUNNING"
    run(client, h.terminate("done with the test"))


def test_an_unknown_workflow_type_fails_the_task(client, cw):
    h = start(client, cw.queue, "NoSuchWorkflow")
    deadline = time.monotonic() + 20
    while True:
        failed = [e for e in history(client, h)
                  if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        if failed:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    message = failed[0].workflow_task_failed_event_attributes.failure.message
    assert '"NoSuchWorkflow" is not registered' in message and "Greeting" in message
    run(client, h.terminate("done"))


def test_a_workflow_runs_across_lambda_invocations_with_pauses(client, dev_server, lambda_emulator,
                                                               tmp_path):
    queue = f"c-wf-l-{uuid.uuid4().hex[:8]}"
    deployment = f"e2e-wl-{uuid.uuid4().hex[:8]}"
    env = c_env(dev_server.address, tmp_path, queue, deployment, workflow_slots=1,
                activity_slots=1, graceful_shutdown_timeout_ms=1000,
                shutdown_deadline_buffer_ms=2500)
    env = {k: v for k, v in env.items() if k.startswith(("TEMPORAL_", "TLW_"))}
    emu = lambda_emulator(program("tests/e2e/fixtures/workflow_bootstrap"), env=env, timeout_s=6)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    set_current_version(dev_server.address, deployment, "b1")
    # A 4 s timer: it fires while no invocation runs; the next one finishes it.
    h = start(client, queue, "Sleeper", 4000)
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    time.sleep(3)  # an idle pause
    status, body, _ = invoke(emu.url, {})
    assert status == 200, body
    assert run(client, h.result(), timeout=10) >= 4000
    assert body["tasks"]["workflow"]["completed"] >= 1


def test_workflow_code_that_crashes_fails_its_task_at_once(client, dev_server, tmp_path):
    # Its own worker: the crash takes the workflow slot down, a few times.
    worker = start_c_worker(dev_server.address, tmp_path, program_name="workflow_bootstrap",
                            workflow_slots=1, activity_slots=1)
    try:
        h = start(client, worker.queue, "Crasher")
        deadline = time.monotonic() + 8  # well before the 10 s workflow task timeout
        failed = []
        while not failed:
            assert time.monotonic() < deadline, "the crashed task was not failed at once"
            events = history(client, h)
            assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in [e.event_type for e in events]
            failed = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
            time.sleep(0.2)
        message = failed[0].workflow_task_failed_event_attributes.failure.message
        # SIGSEGV, or SIGABRT where AddressSanitizer catches the fault first
        assert "was killed by SIGSEGV" in message or "was killed by SIGABRT" in message, message
        run(client, h.terminate("done"))
    finally:
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(20)


def test_a_query_reads_the_workflows_state(client, cw):
    h = start(client, cw.queue, "Adder")
    for v in (5, 7):
        run(client, h.signal("add", v))
    deadline = time.monotonic() + 20
    while run(client, h.query("sum")) != 12:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(Exception) as e:
        run(client, h.query("nope"))
    assert 'no handler for query "nope"' in str(e.value) and "sum" in str(e.value)
    run(client, h.signal("add", 0))
    assert run(client, h.result()) == 12


def test_a_side_effect_runs_once_and_a_patch_is_recorded(client, cw):
    h = start(client, cw.queue, "Patcher")
    result = run(client, h.result())
    assert result["patched"] is True
    markers = [e.marker_recorded_event_attributes for e in history(client, h)
               if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    names = sorted(m.marker_name for m in markers)
    assert names == ["SideEffect", "core_patch"], names
    side = next(m for m in markers if m.marker_name == "SideEffect")
    recorded = int(side.details["data"].payloads[0].data)
    # The last task replayed the first: it returned the recorded value, not a new draw.
    assert result["drawn"] == recorded
    patch = next(m for m in markers if m.marker_name == "core_patch")
    assert b'"id":"v2"' in patch.details["patch_data"].payloads[0].data.replace(b" ", b"")


def test_children_and_signals_to_other_workflows(client, cw):
    adder = start(client, cw.queue, "Adder")
    h = start(client, cw.queue, "Parent", adder.id)
    result = run(client, h.result())
    assert result == {"child": ["Hello, kid!", "Hello, again!"], "signal": "ok",
                      "failed_child": "failed", "cause": "GreetingRefused"}
    run(client, adder.signal("add", 0))
    assert run(client, adder.result()) == 3
    kinds = [e.event_type for e in history(client, h)]
    assert kinds.count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 2
    assert EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED in kinds


def test_a_live_runs_history_replays_offline(client, cw, dev_server, tmp_path):
    import json
    import os
    import subprocess
    h = start(client, cw.queue, "Greeting", "replay")
    run(client, h.result())
    text = run(client, h.fetch_history()).to_json()
    good = tmp_path / "history.json"
    good.write_text(text)
    bootstrap = str(program("tests/e2e/fixtures/workflow_bootstrap"))
    env = dict(os.environ, TEMPORAL_TASK_QUEUE=cw.queue, TLW_WORKER_CONFIG="")

    p = subprocess.run([bootstrap, "--replay", str(good)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "replays cleanly" in p.stdout

    # The same history from the server, by workflow id.
    p = subprocess.run([bootstrap, "--replay-workflow", h.id], capture_output=True, text=True,
                       timeout=60, env=dict(env, TEMPORAL_ADDRESS=dev_server.address))
    assert p.returncode == 0, p.stderr

    # Changed code, as far as history is concerned: another activity type.
    doc = json.loads(text)
    scheduled = next(e for e in doc["events"] if "activityTaskScheduledEventAttributes" in e)
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "compose_farewell"
    bad = tmp_path / "changed.json"
    bad.write_text(json.dumps(doc))
    p = subprocess.run([bootstrap, "--replay", str(bad)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "nondeterminism" in p.stderr and "compose_farewell" in p.stderr, p.stderr


# ---- across languages, and signal-with-start ------------------------------------

from datetime import timedelta  # noqa: E402

from temporalio import activity, workflow  # noqa: E402
from temporalio.worker import Worker  # noqa: E402


@activity.defn(name="py_shout")
async def py_shout(word: str) -> str:
    return word.upper() + "!"


@workflow.defn(name="PyChild", sandboxed=False)
class PyChild:
    @workflow.run
    async def run(self, word: str) -> str:
        return f"python child got {word}"


@workflow.defn(name="PyParent", sandboxed=False)
class PyParent:
    @workflow.run
    async def run(self, c_queue: str) -> list:
        return await workflow.execute_child_workflow("Greeting", "py", task_queue=c_queue,
                                                     id=f"{workflow.info().workflow_id}-child")


@pytest.fixture(scope="module")
def py_worker(client):
    loop, c = client
    queue = f"py-{uuid.uuid4().hex[:8]}"
    worker = Worker(c, task_queue=queue, activities=[py_shout], workflows=[PyChild, PyParent])
    task = loop.create_task(worker.run())
    yield queue
    loop.run_until_complete(worker.shutdown())
    loop.run_until_complete(asyncio.wait_for(task, 30))


def test_a_c_workflow_calls_a_python_activity_and_a_python_child(client, cw, py_worker):
    h = start(client, cw.queue, "Polyglot", py_worker)
    assert run(client, h.result()) == ["HI!", "python child got hi"]


def test_a_python_workflow_starts_a_c_child(client, cw, py_worker):
    _, c = client
    h = run(client, c.start_workflow(PyParent.run, cw.queue, id=f"pyp-{uuid.uuid4().hex[:8]}",
                                     task_queue=py_worker))
    assert run(client, h.result()) == ["Hello, py!", "Hello, again!"]


def test_signal_with_start_delivers_the_first_signal(client, cw):
    _, c = client
    h = run(client, c.start_workflow("Adder", id=f"sws-{uuid.uuid4().hex[:8]}",
                                     task_queue=cw.queue, start_signal="add",
                                     start_signal_args=[40]))
    run(client, h.signal("add", 2))
    run(client, h.signal("add", 0))
    assert run(client, h.result()) == 42


def test_a_runs_next_tasks_go_to_the_slots_sticky_queue(client, cw, uncached):
    from temporalio.api.enums.v1 import TaskQueueKind
    for worker, sticky_expected in ((cw, True), (uncached, False)):
        h = start(client, worker.queue, "Greeting", "sticky")
        assert run(client, h.result()) == ["Hello, sticky!", "Hello, again!"]
        events = history(client, h)
        kinds = [e.workflow_task_scheduled_event_attributes.task_queue.kind for e in events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]
        sticky = [k for k in kinds if k == TaskQueueKind.TASK_QUEUE_KIND_STICKY]
        assert bool(sticky) == sticky_expected, kinds
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in [e.event_type for e in events]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in [e.event_type for e in events]


def test_a_crashing_workflow_completes_once_the_fix_is_in(client, dev_server, tmp_path):
    worker = start_c_worker(dev_server.address, tmp_path, program_name="workflow_bootstrap",
                            workflow_slots=1, activity_slots=1)
    try:
        bug = tmp_path / "bug"
        bug.write_text("the bug is in")
        h = start(client, worker.queue, "Crasher", str(bug))
        deadline = time.monotonic() + 8
        while EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in [e.event_type for e in history(client, h)]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        bug.unlink()  # the fixed build
        assert run(client, h.result(), timeout=30) == "fixed"
    finally:
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(20)


def test_a_query_after_the_run_completed(client, cw):
    h = start(client, cw.queue, "Adder")
    for v in (20, 22, 0):
        run(client, h.signal("add", v))
    assert run(client, h.result()) == 42
    assert run(client, h.query("sum")) == 42


@pytest.mark.parametrize("cancel_type", [0, 1, 2], ids=["try", "wait", "abandon"])
def test_cancelling_an_activity_per_cancellation_type(client, cw, cancel_type):
    h = start(client, cw.queue, "CancelActivity", cancel_type)
    assert run(client, h.result()) == "cancelled"
    events = history(client, h)
    kinds = [e.event_type for e in events]
    completed_at = kinds.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    if cancel_type == 2:  # abandon: the activity is not told
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED not in kinds
        return
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED in kinds
    if cancel_type == 1:  # wait: the workflow went on only once the activity said so
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in kinds[:completed_at]


def test_cancelling_a_child_waits_for_it_to_end_canceled(client, cw):
    h = start(client, cw.queue, "CancelChild")
    assert run(client, h.result()) == "cancelled"
    kinds = [e.event_type for e in history(client, h)]
    done = kinds.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED in kinds
    assert EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED in kinds[:done]

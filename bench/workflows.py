#!/usr/bin/env python3
"""Workflow throughput and replay time of the C worker, side by side with
the Python SDK's worker, in one run against one dev server.

  one-activity workflows per second (ManyActivities(1)), and workflow tasks
  per second, at the
  default slots (tlw: workflow_bootstrap outside Lambda; Python: a Worker
  with the Lambda workers' tuned limits: 10 workflow tasks, 2 activities)
  the replay time of a ~1,000-event history (160 sequential activities):
  `workflow_bootstrap --replay FILE` (a whole process) against the Python
  SDK's Replayer (in process, so it has no start-up to pay)

  the same throughput with both as Lambda functions under the emulator
  (8 s invocations back to back, default slots): tlw's workflow_bootstrap
  against temporalio.contrib.aws.lambda_worker run by awslambdaric
  (bench/python_reference/workflow_handler.py)

usage: bench/workflows.py [--workflows N]   (needs a build: scripts/build)
"""
import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer, Worker

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "e2e"))
sys.path.insert(0, str(TOP / "scripts"))
from benchlib import dev_server  # noqa: E402
from loopback import free_port  # noqa: E402
from workers import c_env, set_current_version  # noqa: E402

BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))
REPLAY_ACTIVITIES = 160


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn(name="ManyActivities", sandboxed=False)
class PyMany:
    @workflow.run
    async def run(self, n: int) -> int:
        for _ in range(n):
            await workflow.execute_activity("compose_greeting", args=["bench"],
                                            start_to_close_timeout=timedelta(seconds=10))
        return n


async def throughput(client, queue, n, workflow_type):
    """Starts n workflows at once; (workflows/s, workflow tasks/s)."""
    t0 = time.monotonic()
    handles = await asyncio.gather(*[
        client.start_workflow(workflow_type, 1, id=f"b-{uuid.uuid4().hex[:10]}",
                              task_queue=queue) for _ in range(n)])
    await asyncio.gather(*[h.result() for h in handles])
    seconds = time.monotonic() - t0
    tasks = 0
    for h in handles[:20]:
        tasks += len([e async for e in h.fetch_history_events()
                      if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED])
    tasks_per_workflow = tasks / min(n, 20)
    return n / seconds, n * tasks_per_workflow / seconds


def lambda_throughput(address, tmp, name, command, env, n, client_loop_run):
    """Starts n one-activity workflows on a Lambda function under the
    emulator and invokes it back to back until all are done; the seconds
    from the first of those invocations to the last result."""
    import threading
    import urllib.request
    lam, api = free_port(), free_port()
    log = open(tmp / f"{name}-lambda.log", "wb")
    rie = subprocess.Popen([str(TOP / "scripts/lambda-emulator"), "--port", str(lam),
                            "--api-port", str(api), "sh", "-c", command],
                           env=dict(env, AWS_LAMBDA_FUNCTION_TIMEOUT="8"), stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{lam}/2015-03-31/functions/function/invocations"

    def invoke():
        req = urllib.request.Request(url, data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
    try:
        for _ in range(100):
            try:
                invoke()
                break
            except Exception:
                time.sleep(0.2)
        set_current_version(address, env["BENCH_DEPLOYMENT"], "b1")
        invoke()  # one more, so that routing to the new current version has settled
        stop = threading.Event()

        def invocations():
            while not stop.is_set():
                invoke()
        runner = threading.Thread(target=invocations)
        t0 = time.monotonic()
        runner.start()
        try:
            client_loop_run(env["BENCH_TASK_QUEUE"], n)
        finally:
            stop.set()
            runner.join(60)
        return time.monotonic() - t0
    finally:
        os.killpg(rie.pid, signal.SIGKILL)
        rie.wait()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workflows", type=int, default=200)
    ap.add_argument("--cache", type=int, default=None,
                    help="tlw's workflow_cache_size (default: the worker's default)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tlw-bench-wf-"))
    proc = None
    async with dev_server() as (address, client):
        try:
            # tlw, outside Lambda, default slots
            queue = f"bench-c-{uuid.uuid4().hex[:8]}"
            deployment = f"bench-{uuid.uuid4().hex[:8]}"
            tuning = {} if args.cache is None else {"workflow_cache_size": args.cache}
            env = c_env(address, tmp, queue, deployment, **tuning)
            env["AWS_LAMBDA_LOG_LEVEL"] = "WARN"
            bootstrap = BUILD / "tests/e2e/fixtures/workflow_bootstrap"
            proc = subprocess.Popen([str(bootstrap)], env=env, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(set_current_version, address, deployment, "b1")
            c_rate, c_tasks = await throughput(client, queue, args.workflows, "ManyActivities")
            many = await client.start_workflow("ManyActivities", REPLAY_ACTIVITIES,
                                               id=f"many-{uuid.uuid4().hex[:8]}", task_queue=queue)
            await many.result()
            history = await many.fetch_history()
            events = len(history.events)
            path = tmp / "history.json"
            path.write_text(history.to_json())
            runs = []
            for _ in range(5):
                t0 = time.monotonic()
                p = subprocess.run([str(bootstrap), "--replay", str(path)], capture_output=True,
                                   env=dict(os.environ, TEMPORAL_TASK_QUEUE=queue,
                                            TLW_WORKER_CONFIG=""))
                runs.append(time.monotonic() - t0)
                assert p.returncode == 0, p.stderr
            c_replay = sorted(runs)[2]
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
            proc = None

            # the Python SDK's worker, same workflow and activity
            py_queue = f"bench-py-{uuid.uuid4().hex[:8]}"
            async with Worker(client, task_queue=py_queue, workflows=[PyMany],
                              activities=[compose_greeting], max_concurrent_workflow_tasks=10,
                              max_concurrent_activities=2):
                py_rate, py_tasks = await throughput(client, py_queue, args.workflows, "ManyActivities")
                py_many = await client.start_workflow(PyMany.run, REPLAY_ACTIVITIES,
                                                      id=f"many-py-{uuid.uuid4().hex[:8]}",
                                                      task_queue=py_queue)
                await py_many.result()
                py_history = await py_many.fetch_history()
            runs = []
            replayer = Replayer(workflows=[PyMany])
            for _ in range(5):
                t0 = time.monotonic()
                await replayer.replay_workflow(py_history)
                runs.append(time.monotonic() - t0)
            py_replay = sorted(runs)[2]

            # both as Lambda functions under the emulator
            loop = asyncio.get_running_loop()

            def run_all(queue, n):
                async def go():
                    handles = await asyncio.gather(*[
                        client.start_workflow("ManyActivities", 1, id=f"l-{uuid.uuid4().hex[:10]}",
                                              task_queue=queue) for _ in range(n)])
                    await asyncio.gather(*[h.result() for h in handles])
                asyncio.run_coroutine_threadsafe(go(), loop).result(600)

            lambda_rates = {}
            for name in ("tlw", "python"):
                queue = f"bench-l-{name}-{uuid.uuid4().hex[:6]}"
                deployment = f"bench-l-{name}-{uuid.uuid4().hex[:6]}"
                env = dict(os.environ, TEMPORAL_ADDRESS=address, TEMPORAL_TASK_QUEUE=queue,
                           TLW_TEST_DEPLOYMENT=deployment, BENCH_TASK_QUEUE=queue,
                           BENCH_DEPLOYMENT=deployment, AWS_LAMBDA_LOG_LEVEL="ERROR",
                           TLW_WORKER_CONFIG=str(tmp / "lambda_worker.cfg"))
                (tmp / "lambda_worker.cfg").write_text(
                    "graceful_shutdown_timeout_ms = 1000;\nshutdown_deadline_buffer_ms = 3000;\n")
                command = (f"exec {bootstrap}" if name == "tlw" else
                           f"cd {TOP / 'bench/python_reference'} && exec {TOP}/.venv/bin/python -m "
                           f"awslambdaric workflow_handler.lambda_handler")
                lambda_rates[name] = await asyncio.to_thread(
                    lambda_throughput, address, tmp, name, command, env, args.workflows, run_all)

            print(f"workflows: {args.workflows} one-activity workflows, started at once")
            print(f"{'':34} {'tlw':>10} {'Python SDK':>12} {'ratio':>8}")
            print(f"{'workflows completed per second':34} {c_rate:10.1f} {py_rate:12.1f} "
                  f"{c_rate / py_rate:8.2f}")
            print(f"{'workflow tasks per second':34} {c_tasks:10.1f} {py_tasks:12.1f} "
                  f"{c_tasks / py_tasks:8.2f}")
            print(f"{f'replay of a {events}-event history (ms)':34} {c_replay * 1000:10.1f} "
                  f"{py_replay * 1000:12.1f} {c_replay / py_replay:8.2f}")
            print(f"{'as Lambda functions: seconds for all':34} {lambda_rates['tlw']:10.2f} "
                  f"{lambda_rates['python']:12.2f} {lambda_rates['tlw'] / lambda_rates['python']:8.2f}"
                  "   (Python: the lambda_worker package)")
            print("(tlw's replay is a whole process: start-up, settings, JSON decoding, replay)")
        finally:
            if proc:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Activity throughput of the C worker, with and without the per-task fork.

One Python workflow fans out N no-op activities ("add") at once to the C
worker's task queue; the C worker runs them with 2 activity slots. The
figures come from the workflow's history (first ActivityTaskStarted to last
ActivityTaskCompleted), so they measure the worker, not the client:

  activities per second, isolation = fork
  activities per second, isolation = in-process
  the fork's cost per task = (1/fork_rate - 1/inprocess_rate) * slots

usage: bench/activities.py [--activities N]   (needs a build: scripts/build)
"""
import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "e2e"))
sys.path.insert(0, str(TOP / "scripts"))
from benchlib import dev_server  # noqa: E402
from workers import c_env, set_current_version  # noqa: E402

BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))
SLOTS = 2


@workflow.defn(sandboxed=False)
class FanOut:
    @workflow.run
    async def run(self, queue: str, n: int) -> int:
        results = await asyncio.gather(*[
            workflow.execute_activity("add", args=[i, 1], task_queue=queue,
                                      start_to_close_timeout=timedelta(seconds=30))
            for i in range(n)])
        return len(results)




async def measure(client, address, tmp, isolation, n):
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    deployment = f"bench-{uuid.uuid4().hex[:8]}"
    env = c_env(address, tmp, queue, deployment, workflow_slots=0, activity_slots=SLOTS,
                isolation=f'"{isolation}"')
    env["AWS_LAMBDA_LOG_LEVEL"] = "WARN"
    proc = subprocess.Popen([str(BUILD / "tests/e2e/fixtures/activity_bootstrap")], env=env,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(set_current_version, address, deployment, "b1")
        wf_queue = f"bench-wf-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=wf_queue, workflows=[FanOut]):
            handle = await client.start_workflow(FanOut.run, args=[queue, n],
                                                 id=f"fanout-{uuid.uuid4().hex[:8]}",
                                                 task_queue=wf_queue)
            assert await handle.result() == n
            events = [e async for e in handle.fetch_history_events()]
        started = [e.event_time.ToMilliseconds() for e in events
                   if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
        done = [e.event_time.ToMilliseconds() for e in events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
        seconds = (max(done) - min(started)) / 1000.0
        return n / seconds if seconds > 0 else float("inf")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--activities", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tlw-bench-"))
    async with dev_server() as (address, client):
        rates = {}
        for isolation in ("fork", "in-process"):
            rates[isolation] = await measure(client, address, tmp, isolation, args.activities)
        print(f"activities: {args.activities}, activity slots: {SLOTS}")
        for isolation, rate in rates.items():
            print(f"isolation={isolation}: {rate:.0f} activities/s")
        cost = (1 / rates["fork"] - 1 / rates["in-process"]) * SLOTS * 1000
        print(f"fork cost per task: {cost:.2f} ms "
              f"(in-process/fork throughput ratio {rates['in-process'] / rates['fork']:.2f})")


if __name__ == "__main__":
    asyncio.run(main())

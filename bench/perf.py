#!/usr/bin/env python3
"""tlw next to the Go and Python reference Lambda workers, in one run, against
the same Temporal dev server, each under the Lambda Runtime Interface
Emulator with the same activities (compose_greeting, noop, add, echo):

  tlw fork        bench/worker/bootstrap, isolation = "fork" (the default):
                  executors forked ahead of their task by a zygote
  tlw fork direct the same with executor_zygote = false: the slot forks each
                  executor when its task arrives
  tlw in-process  the same, isolation = "in-process"
  Go              ../shared/anchors/go-lambdaworker/bootstrap (sdk-go's
                  contrib/aws/lambdaworker; 2 concurrent activities, fixed)
  Python          bench/python_reference/activity_handler.py under awslambdaric
                  (temporalio.contrib.aws.lambda_worker)

Figures (medians over --runs fresh functions where it says so):
  cold     invocation of a fresh function -> its first activity started (the
           server's ActivityTaskStarted time; the task waits in the queue
           before the invocation, so this is the path to the first poll)
  warm     the same for the next invocation, after an idle pause
  CPU/task user+system CPU of the function's whole process tree while it runs
           --tasks no-op activities, divided by the tasks
  rate     no-op activities per second (first started -> last completed)
  PSS      peak proportional set size of the function's processes (shared
           pages split between the processes that share them), busy (during
           the no-op run) and idle (an invocation with nothing to do), with
           the busy peak per process role

Concurrency: --slots (default 2) activity slots / concurrent activities; run
again with --slots 8 for where the worker, not the server, is the bound (the
Go reference's concurrency is fixed at 2 by its binary, so it is left out
then). usage: bench/perf.py [--runs N] [--tasks N] [--slots N] [--busy-runs N] [--only NAME,...]
"""
import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "scripts"))
sys.path.insert(0, str(TOP / "tests" / "e2e"))
from benchlib import dev_server  # noqa: E402
from loopback import free_port, wait_port  # noqa: E402

BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build-rel"))
GO = TOP.parent / "shared" / "anchors" / "go-lambdaworker" / "bootstrap"
TIMEOUT_S = 14  # the Go reference drains 7 s before the deadline
CLK = os.sysconf("SC_CLK_TCK")


@workflow.defn(sandboxed=False)
class FanOut:
    @workflow.run
    async def run(self, queue: str, n: int) -> int:
        await asyncio.gather(*[
            workflow.execute_activity("noop", task_queue=queue,
                                      start_to_close_timeout=timedelta(seconds=30))
            for _ in range(n)])
        return n


# ---- the function's processes ------------------------------------------------

def proc_table():
    """pid -> (ppid, comm, cpu seconds incl. reaped children, PSS KiB, own
    cpu seconds)."""
    table = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            rest = stat[stat.rindex(")") + 2:].split()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            cpu = sum(int(x) for x in rest[11:15]) / CLK
            own = sum(int(x) for x in rest[11:13]) / CLK
            pss = 0
            for line in (p / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                    break
            table[int(p.name)] = (int(rest[1]), comm, cpu, pss, own)
        except (OSError, ValueError):
            continue
    return table


def tree(table, root):
    kids = {}
    for pid, (ppid, *_rest) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


class Sampler(threading.Thread):
    """Samples the CPU and PSS of the emulator's children (the function)
    every 50 ms."""

    def __init__(self, emulator_pid):
        super().__init__(daemon=True)
        self.root = emulator_pid
        self.stop = threading.Event()
        self.peak = 0
        self.peak_roles = {}
        self.cpu = []  # (time, cpu seconds)
        self.roles_cpu = []  # (time, {comm: (own, reaped children's) cpu seconds})

    def run(self):
        while not self.stop.is_set():
            t = proc_table()
            pids = tree(t, self.root)
            now = time.time()
            self.cpu.append((now, sum(t[p][2] for p in pids)))
            by_comm = {}
            for p in pids:
                own, total = by_comm.get(t[p][1], (0.0, 0.0))
                by_comm[t[p][1]] = (own + t[p][4], total + t[p][2])
            self.roles_cpu.append((now, by_comm))
            pss = sum(t[p][3] for p in pids)
            if pss > self.peak:
                self.peak = pss
                roles = {}
                for p in pids:
                    n, total = roles.get(t[p][1], (0, 0))
                    roles[t[p][1]] = (n + 1, total + t[p][3])
                self.peak_roles = roles
            time.sleep(0.05)

    def roles_between(self, start, end):
        """comm -> (own, reaped children's) cpu seconds between two times."""
        def at(when):
            before = [r for t, r in self.roles_cpu if t <= when]
            return before[-1] if before else {}
        a, b = at(start), at(end)
        out = {}
        for comm, (own, total) in b.items():
            own0, total0 = a.get(comm, (0.0, 0.0))
            out[comm] = (own - own0, (total - own) - (total0 - own0))
        return out

    def cpu_at(self, when):
        before = [c for t, c in self.cpu if t <= when]
        return before[-1] if before else 0.0


class Function:
    """One fresh function: the emulator running one implementation."""

    def __init__(self, impl, env, tmp, log=None):
        self.port, api = free_port(), free_port()
        wrapper = tmp / f"{impl['key']}-{uuid.uuid4().hex[:6]}.sh"
        wrapper.write_text(f"#!/bin/sh\nexec {impl['command']}\n")
        wrapper.chmod(0o755)
        self.proc = subprocess.Popen(
            [str(TOP / "scripts/lambda-emulator"), "--port", str(self.port), "--api-port",
             str(api), str(wrapper)],
            env=dict(env, AWS_LAMBDA_FUNCTION_TIMEOUT=str(TIMEOUT_S)),
            stdout=open(log, "ab") if log else subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_port(self.port)

    def invoke(self):
        """Starts an invocation; returns (the time it was sent, a thread)."""
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

        def call():
            req = urllib.request.Request(url, data=b"{}", method="POST")
            with urllib.request.urlopen(req, timeout=TIMEOUT_S + 30) as r:
                r.read()

        th = threading.Thread(target=call, daemon=True)
        sent = time.time()
        th.start()
        return sent, th

    def close(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


# ---- the measurements ---------------------------------------------------------

async def history_times(handle, kind):
    return [e.event_time.ToMilliseconds() / 1000 async for e in handle.fetch_history_events()
            if e.event_type == kind]


async def set_current(address, deployment):
    from workers import set_current_version
    await asyncio.to_thread(set_current_version, address, deployment, "b1")


async def register(impl, env, tmp, address):
    """A worker deployment version exists once a worker of it polled; make
    it current, as a user does after deploying."""
    fn = Function(impl, env, tmp)
    try:
        _, th = fn.invoke()
        await set_current(address, env["DEPLOYMENT_NAME"])
        await asyncio.to_thread(th.join)
    finally:
        fn.close()


async def first_task(client, fn, queue, wf_queue):
    """Schedules one noop, invokes, returns seconds from the invocation to
    its start, and the invocation's thread."""
    handle = await client.start_workflow(FanOut.run, args=[queue, 1],
                                         id=f"one-{uuid.uuid4().hex[:8]}", task_queue=wf_queue)
    await asyncio.sleep(0.5)  # the activity task waits in the queue
    sent, th = fn.invoke()
    await handle.result()
    started = await history_times(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return started[0] - sent, th


FIRST_POLL = re.compile(r"first poll (\d+) ms after the invocation arrived: fork and start "
                        r"hooks (\d+) ms, channel (\d+) ms")


def first_polls(log, skip):
    """The first of the slots' "first poll" lines after `skip` bytes of the
    log (tlw at debug level): (ms after arrival, fork, channel); DescribeNamespace
    runs beside the first poll."""
    text = log.read_bytes()[skip:].decode(errors="replace") if log.exists() else ""
    found = [tuple(int(x) for x in m.groups()) for m in FIRST_POLL.finditer(text)]
    return min(found) if found else None


async def cold_warm(impl, env, tmp, client, queue, wf_queue, pause):
    """Seconds to the first task's start, cold and warm, and tlw's own
    account of the first poll for each (None for the references)."""
    log = tmp / f"{impl['key']}-{uuid.uuid4().hex[:6]}.log"
    if impl["key"].startswith("tlw"):
        env = dict(env, AWS_LAMBDA_LOG_LEVEL="DEBUG")
    fn = Function(impl, env, tmp, log)
    try:
        cold, th = await first_task(client, fn, queue, wf_queue)
        await asyncio.to_thread(th.join)
        size = log.stat().st_size if log.exists() else 0
        cold_poll = first_polls(log, 0)
        await asyncio.sleep(pause)
        warm, th = await first_task(client, fn, queue, wf_queue)
        await asyncio.to_thread(th.join)
        return cold, warm, cold_poll, first_polls(log, size)
    finally:
        fn.close()


async def busy(impl, env, tmp, client, queue, wf_queue, tasks):
    """No-op throughput, CPU per task and peak PSS in one invocation."""
    fn = Function(impl, env, tmp)
    sampler = Sampler(fn.proc.pid)
    sampler.start()
    try:
        handle = await client.start_workflow(FanOut.run, args=[queue, tasks],
                                             id=f"fan-{uuid.uuid4().hex[:8]}",
                                             task_queue=wf_queue)
        await asyncio.sleep(1.0)  # the tasks wait in the queue
        sent, th = fn.invoke()
        await handle.result()
        started = await history_times(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        done = await history_times(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        first, last = min(started), max(done)
        await asyncio.sleep(0.2)
        cpu = sampler.cpu_at(last + 0.1) - sampler.cpu_at(first - 0.1)
        rate = tasks / (last - first)
        roles_cpu = sampler.roles_between(first - 0.1, last + 0.1)
        await asyncio.to_thread(th.join)
        return rate, cpu / tasks * 1000, sampler.peak / 1024, sampler.peak_roles, roles_cpu
    finally:
        sampler.stop.set()
        fn.close()


async def idle(impl, env, tmp):
    fn = Function(impl, env, tmp)
    sampler = Sampler(fn.proc.pid)
    sampler.start()
    try:
        _, th = fn.invoke()
        await asyncio.sleep(4)
        peak = sampler.peak / 1024
        await asyncio.to_thread(th.join)
        return peak
    finally:
        sampler.stop.set()
        fn.close()


def implementations(slots, tmp):
    libdir = BUILD / ".libs"
    c_bin = BUILD / "bench/worker/.libs/bootstrap"
    impls = []
    for name, key, tuning in (("tlw fork", "tlw-fork", 'isolation = "fork";'),
                              ("tlw fork direct", "tlw-fork-direct",
                               'isolation = "fork";\nexecutor_zygote = false;'),
                              ("tlw in-process", "tlw-in-process", 'isolation = "in-process";')):
        cfg = tmp / f"{key}.cfg"
        cfg.write_text(f"activity_slots = {slots};\n{tuning}\n"
                       "graceful_shutdown_timeout_ms = 1000;\nshutdown_deadline_buffer_ms = 2000;\n")
        impls.append({"name": name, "key": key,
                      "command": f"env LD_LIBRARY_PATH={libdir} TLW_WORKER_CONFIG={cfg} {c_bin}"})
    if slots == 2 and GO.exists():
        impls.append({"name": "Go", "key": "go", "command": str(GO)})
    ref = TOP / "bench/python_reference"
    impls.append({"name": "Python", "key": "python",
                  "command": f"sh -c 'cd {ref} && BENCH_SLOTS={slots} exec {TOP}/.venv/bin/python "
                             f"-m awslambdaric activity_handler.lambda_handler'"})
    return impls


async def measure_start(impl, args, tmp, address, client, wf_queue):
    """The figures of fresh functions for one implementation: cold, warm and
    idle PSS. Returns them with the environment its busy runs use."""
    queue = f"perf-{impl['key']}-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, TEMPORAL_ADDRESS=address, TEMPORAL_TASK_QUEUE=queue,
               DEPLOYMENT_NAME=f"perf-{impl['key']}-{uuid.uuid4().hex[:6]}",
               AWS_LAMBDA_LOG_LEVEL="ERROR")
    await register(impl, env, tmp, address)
    colds, warms, polls = [], [], {"cold": [], "warm": []}
    for _ in range(args.runs):
        c, w, cp, wp = await cold_warm(impl, env, tmp, client, queue, wf_queue, args.pause)
        colds.append(c * 1000)
        warms.append(w * 1000)
        for k, v in (("cold", cp), ("warm", wp)):
            if v:
                polls[k].append(v)
    idle_peak = await idle(impl, env, tmp)
    return dict(cold=statistics.median(colds), warm=statistics.median(warms), idle=idle_peak,
                tasks=args.tasks, polls=polls, env=env, queue=queue, busy_runs=[])


def median_run(runs):
    """The busy run whose CPU per task is the median (the lower middle)."""
    return sorted(runs, key=lambda r: r["cpu"])[(len(runs) - 1) // 2]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=600)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--pause", type=float, default=3.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--busy-runs", type=int, default=1,
                    help="busy runs per implementation, taken in turns (tlw, Go, Python, "
                         "tlw, ...) so that the machine's drift hits each alike; the "
                         "median by CPU per task is reported")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tlw-perf-"))
    impls = implementations(args.slots, tmp)
    if args.only:
        impls = [i for i in impls if i["key"] in args.only.split(",")]
    results = {}
    async with dev_server() as (address, client):
        wf_queue = f"perf-wf-{uuid.uuid4().hex[:6]}"
        async with Worker(client, task_queue=wf_queue, workflows=[FanOut]):
            for impl in impls:
                results[impl["name"]] = await measure_start(impl, args, tmp, address, client,
                                                            wf_queue)
                print(f"  {impl['name']}: cold, warm, idle done", file=sys.stderr, flush=True)
            for n in range(args.busy_runs):
                for impl in impls:
                    r = results[impl["name"]]
                    rate, cpu, peak, roles, roles_cpu = await busy(
                        impl, r["env"], tmp, client, r["queue"], wf_queue, args.tasks)
                    r["busy_runs"].append(dict(rate=rate, cpu=cpu, busy=peak, roles=roles,
                                               roles_cpu=roles_cpu))
                    print(f"  {impl['name']}: busy run {n + 1}: {cpu:.2f} ms CPU/task",
                          file=sys.stderr, flush=True)
    for r in results.values():
        r.update(median_run(r["busy_runs"]))

    print(f"{args.slots} activity slots / concurrent activities; {args.runs} fresh functions "
          f"for cold/warm (pause {args.pause:.0f} s); {args.tasks} no-op activities for rate, "
          f"CPU and busy PSS, the median of {args.busy_runs} run(s) taken in turns")
    print(f"{'':16s} {'cold ms':>8s} {'warm ms':>8s} {'tasks/s':>8s} {'CPU ms/task':>12s} "
          f"{'PSS busy MiB':>13s} {'PSS idle MiB':>13s}")
    for name, r in results.items():
        print(f"{name:16s} {r['cold']:8.1f} {r['warm']:8.1f} {r['rate']:8.0f} {r['cpu']:12.2f} "
              f"{r['busy']:13.1f} {r['idle']:13.1f}")
    for name, r in results.items():
        roles = ", ".join(f"{comm} x{n} {kb / 1024:.1f}" for comm, (n, kb) in
                          sorted(r["roles"].items(), key=lambda x: -x[1][1]))
        print(f"busy PSS by process ({name}), MiB: {roles}")
        cpu = ", ".join(f"{comm} {own * 1000 / r['tasks']:.2f}+{kids * 1000 / r['tasks']:.2f}"
                        for comm, (own, kids) in sorted(r["roles_cpu"].items(),
                                                       key=lambda x: -sum(x[1])))
        print(f"CPU ms/task by process ({name}), own+reaped children: {cpu}")
    for name, r in results.items():
        for k in ("cold", "warm"):
            if r["polls"][k]:
                med = sorted(r["polls"][k])[len(r["polls"][k]) // 2]
                print(f"{name} {k}: first poll {med[0]} ms after the invocation arrived (fork and "
                      f"start hooks {med[1]} ms, channel {med[2]} ms)")
    base = results.get("tlw fork")
    if base and args.busy_runs > 1:
        for other in ("Go", "Python"):
            o = results.get(other)
            if o:
                each = ", ".join(f"{a['cpu'] / b['cpu']:.2f}x"
                                 for a, b in zip(base["busy_runs"], o["busy_runs"]))
                print(f"tlw fork / {other}, CPU/task in each turn: {each}")
    if base:
        for other in ("Go", "Python"):
            o = results.get(other)
            if not o:
                continue
            print(f"tlw fork / {other}: cold {base['cold'] / o['cold']:.2f}x, warm "
                  f"{base['warm'] / o['warm']:.2f}x, CPU/task {base['cpu'] / o['cpu']:.2f}x, "
                  f"rate {base['rate'] / o['rate']:.2f}x, PSS busy "
                  f"{base['busy'] / o['busy']:.2f}x, idle {base['idle'] / o['idle']:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())

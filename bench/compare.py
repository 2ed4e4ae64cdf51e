#!/usr/bin/env python3
"""tlw against the Python reference (temporalio.contrib.aws.lambda_worker run
by awslambdaric), both as Lambda functions under the real Runtime Interface
Emulator, against the same Temporal dev server, with the same worker (one
greeting activity) and the same timings (8 s timeout, drain 2 s before it).

  cold start   exec of the bootstrap -> its first byte to the Runtime API
               (a relay between the bootstrap and the emulator timestamps it)
  peak memory  proportional set size (PSS: shared pages split between the
               processes sharing them, so forked workers are not counted
               twice) of the bootstrap's whole process tree during one
               invocation, sampled every 50 ms

Medians over --runs fresh starts. usage: bench/compare.py [--runs N]
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "scripts"))
from loopback import Relay, free_port, wait_port  # noqa: E402

BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))






def pss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kb(root):
    children, rss = {}, {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(p.name))
        rss[int(p.name)] = pss_kb(int(p.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def one_run(name, command, env, tmp):
    lam, api = free_port(), free_port()
    relay = Relay(api)
    stamp = tmp / f"{name}.exec"
    wrapper = tmp / f"{name}.sh"
    # The wrapper notes the exec time and points the bootstrap at the relay.
    wrapper.write_text("#!/bin/sh\n"
                       f"date +%s.%N > {stamp}\n"
                       f"export AWS_LAMBDA_RUNTIME_API=127.0.0.1:{relay.port}\n"
                       f"exec {command}\n")
    wrapper.chmod(0o755)
    rie = subprocess.Popen([str(TOP / "scripts/lambda-emulator"), "--port", str(lam),
                            "--api-port", str(api), str(wrapper)],
                           env=dict(env, AWS_LAMBDA_FUNCTION_TIMEOUT="8"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        wait_port(lam)
        url = f"http://127.0.0.1:{lam}/2015-03-31/functions/function/invocations"
        result = {}

        def call():
            req = urllib.request.Request(url, data=b"{}", method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                result["status"] = r.status

        t = threading.Thread(target=call)
        t.start()
        peak = 0
        while t.is_alive():
            peak = max(peak, tree_pss_kb(rie.pid) - pss_kb(rie.pid))
            time.sleep(0.05)
        t.join()
        cold = None
        if stamp.exists() and relay.first_byte:
            cold = (relay.first_byte - float(stamp.read_text())) * 1000
        return cold, peak / 1024, result.get("status") == 200
    finally:
        os.killpg(rie.pid, signal.SIGKILL)
        rie.wait()
        relay.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tlw-compare-"))
    port = free_port()
    server = subprocess.Popen([str(TOP / "scripts/dev-server"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    tuning = tmp / "lambda_worker.cfg"
    tuning.write_text("graceful_shutdown_timeout_ms = 1000;\nshutdown_deadline_buffer_ms = 3000;\n")
    env = dict(os.environ, TEMPORAL_ADDRESS=f"127.0.0.1:{port}", AWS_LAMBDA_LOG_LEVEL="ERROR",
               TLW_WORKER_CONFIG=str(tuning))
    c_bin = BUILD / "examples/greeting/.libs/bootstrap"
    libdir = BUILD / ".libs"
    ref = TOP / "bench/python_reference"
    impls = {
        "tlw (C)": f"env LD_LIBRARY_PATH={libdir} {c_bin}",
        "Python reference": f"sh -c 'cd {ref} && exec {TOP}/.venv/bin/python -m awslambdaric "
                            f"handler.lambda_handler'",
    }
    results = {}
    try:
        wait_port(port)
        time.sleep(3)
        for name, command in impls.items():
            cold, peak, ok = [], [], 0
            for run in range(args.runs):
                c, p, answered = one_run(name.split()[0], command, env, tmp)
                if c is not None:
                    cold.append(c)
                peak.append(p)
                ok += answered
            results[name] = (statistics.median(cold) if cold else float("nan"),
                             statistics.median(peak), ok)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)

    print(f"runs: {args.runs} each; 8 s invocations under the emulator, the same dev server")
    for name, (cold, peak, ok) in results.items():
        print(f"{name:17s} cold start {cold:7.1f} ms   peak memory {peak:6.1f} MiB   "
              f"answered {ok}/{args.runs}")
    c, py = results["tlw (C)"], results["Python reference"]
    print(f"tlw / Python: cold start {c[0] / py[0]:.2f}x, peak memory {c[1] / py[1]:.2f}x")


if __name__ == "__main__":
    main()

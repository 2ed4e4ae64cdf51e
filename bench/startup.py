#!/usr/bin/env python3
"""Start-up figures of a tlw bootstrap, as medians over repeated runs:

  cold start           exec of the bootstrap -> its first GET /invocation/next
  invocation overhead  invocation delivered -> every worker process READY
  supervisor memory    the supervisor's peak RSS (VmHWM) during an invocation

It serves the Lambda Runtime API itself on 127.0.0.1 (a minimal fake: one
invocation per process), so the figures contain no emulator overhead.

usage: bench/startup.py [--runs N] [--bootstrap PATH]
       default bootstrap: $TLW_BUILD_DIR/examples/greeting/bootstrap
"""
import argparse
import http.server
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]


DEADLINE_MS = 4000  # from the invocation's arrival


class FakeRuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set per run

    def log_message(self, *args):
        pass

    def do_GET(self):
        st = FakeRuntimeApi.state
        if st["first_get"] is None:
            st["first_get"] = time.monotonic()
        if st["served"]:
            st["done"].wait(30)  # a second /next: hold it until the run ends
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        st["served"] = True
        body = b"{}"
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-%d" % st["run"])
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + DEADLINE_MS))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        FakeRuntimeApi.state["response"] = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        FakeRuntimeApi.state["done"].set()


def peak_rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def one_run(bootstrap, port, run, env):
    FakeRuntimeApi.state = {"first_get": None, "served": False, "done": threading.Event(),
                            "response": None, "run": run}
    t0 = time.monotonic()
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ready_ms = None
    rss = None
    for line in proc.stderr:
        if os.environ.get("BENCH_DEBUG"):
            print(run, line.rstrip())
        m = re.search(r"all \d+ workers ready (\d+) ms after", line)
        if m:
            ready_ms = int(m.group(1))
            rss = peak_rss_kb(proc.pid)
            break
    FakeRuntimeApi.state["done"].wait(10)
    proc.kill()
    proc.wait()
    first = FakeRuntimeApi.state["first_get"]
    return (first - t0) * 1000 if first else None, ready_ms, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    build = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))
    ap.add_argument("--bootstrap", default=str(build / "examples/greeting/bootstrap"))
    args = ap.parse_args()

    # A libtool wrapper script adds a shell's start-up: run the real binary.
    bootstrap = Path(args.bootstrap)
    real = bootstrap.parent / ".libs" / bootstrap.name
    libdirs = os.environ.get("LD_LIBRARY_PATH", "")
    if real.exists():
        bootstrap = real
        libdirs = f"{build / '.libs'}:{libdirs}"
    args.bootstrap = str(bootstrap)

    # A 4 s deadline: drain after 2 s (buffer 2 s, graceful 1 s).
    tuning = Path(tempfile.mkdtemp()) / "lambda_worker.cfg"
    tuning.write_text("graceful_shutdown_timeout_ms = 1000;\nshutdown_deadline_buffer_ms = 2000;\n")

    class QuietServer(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a killed bootstrap drops its held /next; that is expected

    server = QuietServer(("127.0.0.1", 0), FakeRuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}",
               TLW_WORKER_CONFIG=str(tuning), AWS_LAMBDA_LOG_LEVEL="INFO",
               LD_LIBRARY_PATH=libdirs)

    cold, ready, rss = [], [], []
    for run in range(args.runs):
        c, r, m = one_run(args.bootstrap, port, run, env)
        if c is not None:
            cold.append(c)
        if r is not None:
            ready.append(r)
        if m is not None:
            rss.append(m)
    server.shutdown()

    def fmt(xs, unit):
        if not xs:
            return "n/a"
        return f"median {statistics.median(xs):.1f} {unit} (min {min(xs):.1f}, max {max(xs):.1f})"

    print(f"bootstrap: {args.bootstrap}")
    print(f"runs: {args.runs}")
    print(f"cold start (exec -> first GET next): {fmt(cold, 'ms')}")
    print(f"invocation overhead (invocation -> all workers READY): {fmt(ready, 'ms')}")
    print(f"supervisor peak RSS: {fmt([x / 1024 for x in rss], 'MiB')}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the OpenTelemetry export adds to an invocation, as medians over
repeated invocations of one long-lived bootstrap:

  export time   the supervisor's own figure ("OpenTelemetry export took N
                ms", from forking the exporter to reaping it), per case:
                  collector   a real OpenTelemetry Collector on loopback
                  refused     nothing listens on the endpoint
                  silent      a listener that never answers (the bound)
  invocation    invocation delivered -> response posted, with and without
                OpenTelemetry (the drain's fixed part dominates it)

The bootstrap is tests/e2e/fixtures/supervisor_bootstrap (idle workers: no
Temporal server needed), so what is exported is the supervisor's own
metrics and the invocation span. The Runtime API is a minimal fake served
here on 127.0.0.1. The collector is $TLW_OTELCOL, else
$TLW_TOOLS/bin/otelcol-tlw (scripts/install-deps builds it).

usage: bench/otel.py [--invocations N]
"""
import argparse
import http.server
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
DEADLINE_MS = 3500  # from the invocation's arrival: drain after 1.5 s


class FakeRuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        st = FakeRuntimeApi.state
        if not st["queue"].acquire(timeout=60):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        st["n"] += 1
        st["delivered"] = time.monotonic()
        body = b"{}"
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-%d" % st["n"])
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + DEADLINE_MS))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        st = FakeRuntimeApi.state
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        st["durations"].append((time.monotonic() - st["delivered"]) * 1000)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        st["answered"].release()


def run_case(bootstrap, env, invocations):
    FakeRuntimeApi.state = {"queue": threading.Semaphore(0), "answered": threading.Semaphore(0),
                            "n": 0, "delivered": 0.0, "durations": []}
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        for _ in range(invocations):
            FakeRuntimeApi.state["queue"].release()
            if not FakeRuntimeApi.state["answered"].acquire(timeout=30):
                break
            time.sleep(0.3)  # an idle gap between invocations
    finally:
        proc.kill()
        proc.wait()
    log.seek(0)
    text = log.read()
    exports = [int(m) for m in re.findall(r"OpenTelemetry export took (\d+) ms", text)]
    return exports, FakeRuntimeApi.state["durations"], text


def fmt(xs):
    if not xs:
        return "n/a"
    return f"median {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--invocations", type=int, default=8)
    args = ap.parse_args()
    build = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))
    bootstrap = build / "tests/e2e/fixtures/supervisor_bootstrap"
    real = bootstrap.parent / ".libs" / bootstrap.name
    libdirs = os.environ.get("LD_LIBRARY_PATH", "")
    if real.exists():  # not the libtool wrapper: no shell start-up in the figures
        bootstrap = real
        libdirs = f"{build / '.libs'}:{libdirs}"
    tools = Path(os.environ.get("TLW_TOOLS", TOP / ".tools"))
    otelcol = Path(os.environ.get("TLW_OTELCOL", tools / "bin" / "otelcol-tlw"))

    class QuietServer(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass

    server = QuietServer(("127.0.0.1", 0), FakeRuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = Path(tempfile.mkdtemp())

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    grpc_port = free_port()
    config = tmp / "otelcol.yaml"
    config.write_text(f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc_port}
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics: {{receivers: [otlp], exporters: [debug]}}
    traces: {{receivers: [otlp], exporters: [debug]}}
""")
    collector = subprocess.Popen([str(otelcol), "--config", str(config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    refused_port = free_port()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", grpc_port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)

    def env_for(endpoint):
        tuning = tmp / f"tuning-{len(list(tmp.iterdir()))}.cfg"
        lines = ["graceful_shutdown_timeout_ms = 500;", "shutdown_deadline_buffer_ms = 2000;",
                 'task_queue = "bench";', 'log_level = "DEBUG";']
        if endpoint:
            lines += ["otel_enabled = true;", f'otel_endpoint = "{endpoint}";',
                      "otel_export_timeout_ms = 500;"]
        tuning.write_text("\n".join(lines) + "\n")
        return dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
                    TLW_WORKER_CONFIG=str(tuning), LD_LIBRARY_PATH=libdirs,
                    AWS_LAMBDA_FUNCTION_NAME="bench")

    cases = [("off", None), ("collector", f"http://127.0.0.1:{grpc_port}"),
             ("refused", f"http://127.0.0.1:{refused_port}"),
             ("silent", f"http://127.0.0.1:{silent.getsockname()[1]}")]
    print(f"bootstrap: {bootstrap}")
    print(f"invocations per case: {args.invocations} (export timeout 500 ms)")
    try:
        for name, endpoint in cases:
            exports, durations, text = run_case(str(bootstrap), env_for(endpoint),
                                                args.invocations)
            if os.environ.get("BENCH_DEBUG"):
                print(text)
            print(f"{name:10} export: {fmt(exports)}; invocation: {fmt(durations)}")
    finally:
        collector.kill()
        collector.wait()
        silent.close()
        server.shutdown()


if __name__ == "__main__":
    main()

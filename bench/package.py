#!/usr/bin/env python3
"""What packaging costs: the function.zip `make package` writes, and the
packaged bootstrap's cold start next to the program run as it is.

  zip size        function.zip's size (Lambda's limit: 50 MB for a direct upload)
  unpacked size   the sum of its files (Lambda's limit: 250 MB unzipped)
  cold start      exec -> the first GET /2018-06-01/runtime/invocation/next,
                  for the unpacked bootstrap (sh -> the packaged loader -> the
                  program, every library from lib/) and for the program run
                  directly with the build's libraries (the system loader,
                  LD_LIBRARY_PATH); alternating runs, medians

A minimal HTTP server on 127.0.0.1 stands for the Runtime API: it records the
time of the first GET and holds it; the process is then killed. Nothing else
(no emulator, no Temporal server) is involved.

usage: bench/package.py [--runs N]
       packages $TLW_BUILD_DIR/examples/greeting/bootstrap (use a build
       without sanitizers: TLW_BUILD_DIR=build-bench scripts/build)
"""
import argparse
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))


class FirstGet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    first = None  # time of the first GET of this run
    seen = threading.Event()
    release = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if FirstGet.first is None:
            FirstGet.first = time.monotonic()
            FirstGet.seen.set()
        FirstGet.release.wait(10)  # held: the process is killed meanwhile


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed bootstrap drops its held request


def one_run(cmd, env):
    FirstGet.first = None
    FirstGet.seen.clear()
    FirstGet.release.clear()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    got = FirstGet.seen.wait(10)
    proc.kill()
    _, err = proc.communicate()
    FirstGet.release.set()
    if not got:
        sys.exit(f"no GET /next from {cmd[0]} within 10 s:\n{err.decode(errors='replace')}")
    return (FirstGet.first - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    program = BUILD / "examples/greeting/bootstrap"
    real = BUILD / "examples/greeting/.libs/bootstrap"
    if not real.exists():
        sys.exit(f"{real} is not built: TLW_BUILD_DIR={BUILD} scripts/build")
    if "-fsanitize" in (BUILD / "config.log").read_text(errors="replace"):
        print(f"note: {BUILD} is a sanitizer build; its figures are not representative")

    tmp = Path(tempfile.mkdtemp(prefix="tlw-bench-package-"))
    zip_path = tmp / "function.zip"
    made = subprocess.run(["make", "-s", "-C", str(BUILD), "package",
                           f"TLW_PACKAGE_ZIP={zip_path}"], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(made.stdout + made.stderr)
    task = tmp / "task"
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
        for info in infos:
            z.extract(info, task)
            os.chmod(task / info.filename, (info.external_attr >> 16) & 0o777)
    unpacked = sum(i.file_size for i in infos)
    libs = [i for i in infos if i.filename.startswith("lib/")]

    server = QuietServer(("127.0.0.1", 0), FirstGet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"127.0.0.1:{server.server_address[1]}"
    base = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": api,
            "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_LEVEL": "WARN"}
    direct_env = dict(base, LD_LIBRARY_PATH=str(BUILD / ".libs"))
    packaged_env = dict(base, LAMBDA_TASK_ROOT=str(task))

    packaged, direct = [], []
    for _ in range(args.runs):
        packaged.append(one_run([str(task / "bootstrap")], packaged_env))
        direct.append(one_run([str(real)], direct_env))
    server.shutdown()

    def fmt(xs):
        return f"median {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f})"

    mib = 1024 * 1024
    print(f"program: {program}")
    print(f"zip: {zip_path.stat().st_size} bytes ({zip_path.stat().st_size / mib:.1f} MiB), "
          f"{len(infos)} files, {len(libs)} libraries")
    print(f"unpacked: {unpacked} bytes ({unpacked / mib:.1f} MiB)")
    print(f"runs: {args.runs} each, alternating")
    print(f"cold start, packaged bootstrap (sh -> lib/ld-linux -> bin/): {fmt(packaged)}")
    print(f"cold start, the program as built (system loader):          {fmt(direct)}")
    print(f"packaged / as built: {statistics.median(packaged) / statistics.median(direct):.2f}")


if __name__ == "__main__":
    main()

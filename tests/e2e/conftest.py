"""Fixtures for the end-to-end tests: a real Temporal dev server, a TLS
terminating proxy (nginx) in front of it, and the Lambda emulator.

Everything listens on 127.0.0.1 only, and every wait is bounded.
The project is expected to be built in $TLW_BUILD_DIR (default: build/).
"""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from loopback import free_port  # noqa: E402,F401  (the tests import it from here)
BUILD = Path(os.environ.get("TLW_BUILD_DIR", REPO / "build"))




def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not open after {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def start(cmd, log: Path, **kw) -> subprocess.Popen:
    out = open(log, "wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, **kw)


def program(name: str) -> Path:
    path = BUILD / name
    if not path.exists():
        pytest.fail(f"{path} is not built: run scripts/build (or set TLW_BUILD_DIR)")
    return path


@dataclass
class DevServer:
    address: str
    port: int

    def client(self):
        from temporalio.client import Client
        return asyncio.run(Client.connect(self.address))


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("dev-server") / "server.log"
    proc = start([str(REPO / "scripts" / "dev-server"), "--port", str(port)], log)
    try:
        wait_for_port(port, proc, 60, log)
        # The port opens before the frontend serves; wait for a real answer.
        from temporalio.client import Client

        async def ready():
            deadline = time.monotonic() + 60
            while True:
                try:
                    await Client.connect(f"127.0.0.1:{port}")
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)

        asyncio.run(ready())
        yield DevServer(address=f"127.0.0.1:{port}", port=port)
    finally:
        stop(proc)


@dataclass
class Emulator:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path


@pytest.fixture
def lambda_emulator(tmp_path):
    """Returns a function that starts `bootstrap` under aws-lambda-rie."""
    started = []

    def run(bootstrap, env=None, timeout_s=10):
        port, api_port = free_port(), free_port()
        log = tmp_path / f"rie-{port}.log"
        full_env = dict(os.environ, AWS_LAMBDA_FUNCTION_TIMEOUT=str(timeout_s), **(env or {}))
        proc = start([str(REPO / "scripts" / "lambda-emulator"), "--port", str(port),
                      "--api-port", str(api_port), str(bootstrap)], log, env=full_env)
        started.append(proc)
        wait_for_port(port, proc, 20, log)
        return Emulator(f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations",
                        port, proc, log)

    yield run
    for proc in started:
        stop(proc)


def invoke(url, payload, timeout=60):
    """POSTs one invocation; returns (HTTP status, parsed body, seconds)."""
    import json
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    elapsed = time.monotonic() - t0
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    return status, body, elapsed


def have_nginx() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()

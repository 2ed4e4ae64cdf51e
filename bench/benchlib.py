"""What the benchmarks share: a Temporal dev server on loopback for the
length of a run, and a client connected to it."""
import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

from temporalio.client import Client

from loopback import free_port, wait_port

TOP = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def dev_server():
    """Starts `scripts/dev-server` on a free port; yields (address, client)
    once a client connects; stops the server at the end."""
    port = free_port()
    server = subprocess.Popen([str(TOP / "scripts/dev-server"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        wait_port(port)
        for attempt in range(200):
            try:
                client = await Client.connect(address)
                break
            except Exception:
                if attempt == 199:
                    raise
                await asyncio.sleep(0.2)
        yield address, client
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)

#!/usr/bin/env python3
"""Time to store and to fetch one large payload through S3: the C worker's
storage (worker/storage, libcurl) next to the Python SDK's S3StorageDriver
(aioboto3), against the same local S3-compatible server (moto's, on
loopback). A store is HeadObject then PutObject (the object is new each
round); a fetch is GetObject and the SHA-256 check; both include hashing
and (de)serializing the Payload message, not the JSON value in it (the
same on both sides). Each figure is the median of ROUNDS.

  size    C store  C fetch  Python store  Python fetch   (ms)

usage: bench/s3.py [--rounds N] [--sizes 1,10]   (MiB; needs a build: scripts/build)
"""
import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.contrib.aws.s3driver import S3StorageDriver
from temporalio.contrib.aws.s3driver.aioboto3 import new_aioboto3_client
from temporalio.converter import (DataConverter, StorageDriverRetrieveContext,
                                  StorageDriverStoreContext, StorageDriverWorkflowInfo)

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "scripts"))
from loopback import free_port  # noqa: E402

BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))
BUCKET = "bench-payloads"
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION}
MIB = 1024 * 1024


def wait_for_port(port, proc, timeout=30):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("moto_server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not open its port")


def c_figures(endpoint, size, rounds, tmp):
    cfg = Path(tmp) / "lambda_worker.cfg"
    cfg.write_text(f's3_bucket = "{BUCKET}";\ns3_endpoint_url = "{endpoint}";\n'
                   's3_path_style = true;\n')
    env = dict(os.environ, TLW_WORKER_CONFIG=str(cfg), **CREDS)
    out = subprocess.run([str(BUILD / "tests/e2e/fixtures/s3_probe"), str(size), str(rounds)],
                         env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"s3_probe failed: {out.stderr}")
    times = {"store": [], "fetch": []}
    for line in out.stdout.splitlines():
        op, _, ms = line.split()
        times[op].append(float(ms))
    return statistics.median(times["store"]), statistics.median(times["fetch"])


async def python_figures(endpoint, size, rounds):
    import aioboto3
    session = aioboto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                               region_name=REGION)
    stores, fetches = [], []
    async with session.client("s3", endpoint_url=endpoint) as s3:
        driver = S3StorageDriver(client=new_aioboto3_client(s3), bucket=BUCKET)
        ctx = StorageDriverStoreContext(target=StorageDriverWorkflowInfo(
            namespace="default", id="bench", run_id="r", type="Bench"))
        for i in range(rounds):
            value = f"{i}-{uuid.uuid4().hex}".ljust(size, "x")
            payload = DataConverter.default.payload_converter.to_payloads([value])[0]
            t0 = time.perf_counter()
            claims = await driver.store(ctx, [payload])
            t1 = time.perf_counter()
            [back] = await driver.retrieve(StorageDriverRetrieveContext(), claims)
            t2 = time.perf_counter()
            assert back == payload
            stores.append((t1 - t0) * 1000)
            fetches.append((t2 - t1) * 1000)
    return statistics.median(stores), statistics.median(fetches)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="1,10", help="MiB, comma-separated")
    args = parser.parse_args()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    moto = subprocess.Popen([str(TOP / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1",
                             "-p", str(port)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port, moto)
        import boto3
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                     aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket=BUCKET)
        print(f"{'size':>8} {'C store':>9} {'C fetch':>9} {'Py store':>9} {'Py fetch':>9}  (ms, "
              f"median of {args.rounds})")
        with tempfile.TemporaryDirectory() as tmp:
            for mib in (int(s) for s in args.sizes.split(",")):
                size = mib * MIB
                cs, cf = c_figures(endpoint, size, args.rounds, tmp)
                ps, pf = asyncio.run(python_figures(endpoint, size, args.rounds))
                print(f"{mib:>5} MiB {cs:>9.1f} {cf:>9.1f} {ps:>9.1f} {pf:>9.1f}")
    finally:
        moto.terminate()
        moto.wait(10)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The demo, end to end, on this machine:

  1. a Temporal dev server (scripts/dev-server)
  2. the example worker, examples/greeting/bootstrap, as a Lambda function
     under the AWS Lambda Runtime Interface Emulator (scripts/lambda-emulator)
  3. a first invocation registers the worker's deployment version, which is
     then made current (`temporal worker deployment set-current-version`)
  4. the `temporal` CLI starts GreetingWorkflow on the "greetings" task queue;
     the C workflow and the C activity it calls both run in the function
  5. one Lambda invocation runs the workflow and its activity; the
     workflow's result is printed
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from temporalio.client import Client

from loopback import free_port, wait_port

TOP = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TLW_BUILD_DIR", TOP / "build"))


def say(text):
    print(f"demo: {text}", flush=True)


def invoke(url):
    req = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


async def main():
    procs = []
    tmp = Path(tempfile.mkdtemp(prefix="tlw-demo-"))
    try:
        port = free_port()
        say(f"starting the Temporal dev server on 127.0.0.1:{port}")
        procs.append(subprocess.Popen([str(TOP / "scripts/dev-server"), "--port", str(port)],
                                      stdout=open(tmp / "server.log", "wb"),
                                      stderr=subprocess.STDOUT, start_new_session=True))
        wait_port(port)
        address = f"127.0.0.1:{port}"
        client = None
        for _ in range(100):
            try:
                client = await Client.connect(address)
                break
            except Exception:
                await asyncio.sleep(0.2)

        lam, api = free_port(), free_port()
        say("starting examples/greeting/bootstrap under the Lambda emulator "
            "(function timeout 12 s)")
        env = dict(os.environ, TEMPORAL_ADDRESS=address, AWS_LAMBDA_FUNCTION_TIMEOUT="12")
        procs.append(subprocess.Popen(
            [str(TOP / "scripts/lambda-emulator"), "--port", str(lam), "--api-port", str(api),
             str(BUILD / "examples/greeting/bootstrap")],
            env=env, stdout=open(tmp / "lambda.log", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True))
        wait_port(lam)
        url = f"http://127.0.0.1:{lam}/2015-03-31/functions/function/invocations"

        say("first invocation: the worker polls, which registers greetings/v1.0")
        await asyncio.to_thread(invoke, url)
        say("making greetings/v1.0 the current version")
        subprocess.run([str(TOP / ".venv/bin/temporal"), "worker", "deployment",
                        "set-current-version", "--address", address, "--deployment-name",
                        "greetings", "--build-id", "v1.0", "--yes"], check=True,
                       capture_output=True)

        temporal = str(TOP / ".venv/bin/temporal")
        workflow_id = f"greeting-{int(time.time())}"
        subprocess.run([temporal, "workflow", "start", "--address", address, "--type",
                        "GreetingWorkflow", "--task-queue", "greetings", "--workflow-id",
                        workflow_id, "--input", '"World"'], check=True, capture_output=True)
        say(f"started workflow {workflow_id} (temporal workflow start); invoking the Lambda "
            "function again")
        summary = await asyncio.to_thread(invoke, url)
        shown = subprocess.run([temporal, "workflow", "result", "--address", address,
                                "--workflow-id", workflow_id, "--output", "json"],
                               check=True, capture_output=True, text=True, timeout=30)
        result = json.loads(shown.stdout)
        result = result.get("result", result) if isinstance(result, dict) else result
        say(f"invocation summary: {json.dumps(summary['tasks'])}")
        print(f"workflow result: {result}")
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(15)
            except Exception:
                pass


if __name__ == "__main__":
    asyncio.run(main())

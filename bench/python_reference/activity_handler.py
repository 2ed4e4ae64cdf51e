"""The Python reference for bench/perf.py: the activities of the Go reference
(compose_greeting, noop, add, echo) with Temporal's Python package
temporalio.contrib.aws.lambda_worker, run by awslambdaric as a Python Lambda
function runs. Task queue from TEMPORAL_TASK_QUEUE, deployment name from
DEPLOYMENT_NAME, build id "b1", concurrency from BENCH_SLOTS (default 2), the
drain timings of the other two workers."""
import os
from datetime import timedelta

from temporalio import activity
from temporalio.common import WorkerDeploymentVersion
from temporalio.contrib.aws.lambda_worker import run_worker


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn(name="noop")
async def noop() -> None:
    return None


@activity.defn(name="add")
async def add(a: int, b: int) -> int:
    return a + b


@activity.defn(name="echo")
async def echo(v):
    return v


def configure(config):
    config.worker_config["task_queue"] = os.environ["TEMPORAL_TASK_QUEUE"]
    config.worker_config["activities"] = [compose_greeting, noop, add, echo]
    config.worker_config["max_concurrent_activities"] = int(os.environ.get("BENCH_SLOTS", "2"))
    config.worker_config["graceful_shutdown_timeout"] = timedelta(seconds=1)
    config.shutdown_deadline_buffer = timedelta(seconds=2)


lambda_handler = run_worker(
    WorkerDeploymentVersion(deployment_name=os.environ.get("DEPLOYMENT_NAME", "bench"),
                            build_id="b1"),
    configure)

"""The reference for bench/compare.py: the same greeting worker, written with
Temporal's Python package temporalio.contrib.aws.lambda_worker and run by
awslambdaric, as a Python Lambda function runs."""
from datetime import timedelta

from temporalio import activity
from temporalio.common import WorkerDeploymentVersion
from temporalio.contrib.aws.lambda_worker import run_worker


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


def configure(config):
    config.worker_config["task_queue"] = "greetings"
    config.worker_config["activities"] = [compose_greeting]
    config.worker_config["graceful_shutdown_timeout"] = timedelta(seconds=1)
    config.shutdown_deadline_buffer = timedelta(seconds=2)


lambda_handler = run_worker(
    WorkerDeploymentVersion(deployment_name="greetings", build_id="v1.0"), configure)

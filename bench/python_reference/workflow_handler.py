"""The reference for bench/workflows.py: the same one-activity workflow and
activity as tlw's, written with Temporal's Python package
temporalio.contrib.aws.lambda_worker and run by awslambdaric, as a Python
Lambda function runs. The task queue and deployment come from the
environment (BENCH_TASK_QUEUE, BENCH_DEPLOYMENT)."""
import os
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.contrib.aws.lambda_worker import run_worker


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn(name="ManyActivities", sandboxed=False,
               versioning_behavior=VersioningBehavior.PINNED)
class ManyActivities:
    @workflow.run
    async def run(self, n: int) -> int:
        for _ in range(n):
            await workflow.execute_activity("compose_greeting", args=["bench"],
                                            start_to_close_timeout=timedelta(seconds=10))
        return n


def configure(config):
    config.worker_config["task_queue"] = os.environ["BENCH_TASK_QUEUE"]
    config.worker_config["workflows"] = [ManyActivities]
    config.worker_config["activities"] = [compose_greeting]
    config.worker_config["graceful_shutdown_timeout"] = timedelta(seconds=1)
    config.shutdown_deadline_buffer = timedelta(seconds=2)


lambda_handler = run_worker(
    WorkerDeploymentVersion(deployment_name=os.environ["BENCH_DEPLOYMENT"], build_id="b1"),
    configure)

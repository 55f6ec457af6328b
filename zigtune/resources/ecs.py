"""A GPU worker on AWS ECS: the same ``python -m <worker module>`` as the local subprocess, run as an ECS task.

``TrainingExecutor(launcher="ecs", ecs=EcsGpuLauncher(...))`` hands each worker to dagster-aws's
``PipesECSClient``: it runs one task of an existing task definition with the container's command set to
``python -m <module>``, puts the Pipes bootstrap variables (the whole Pipes context, the worker's params
included) into the container's environment, and reads the worker's Pipes messages from the container's
CloudWatch log stream (the task definition must log with the ``awslogs`` driver and a stream prefix).

Paths travel as they are: the dataset, the adapter and MLflow's local store are files under
``ZIGTUNE_DATA_DIR``, so that directory must be shared storage (EFS, or an S3 bucket mounted with
Mountpoint) mounted at the same path in the task as here; the launcher passes ``ZIGTUNE_DATA_DIR`` on.
Credentials never go into the task request (ECS shows overrides in its console): AWS credentials come from
the usual boto3 chain here and from the task role there; anything else secret belongs in the task
definition's ``secrets``.
"""

import os
import sys
from threading import Event, Thread
from typing import Any

import boto3
import dagster as dg
from dagster._core.pipes.client import PipesClientCompletedInvocation
from dagster._core.pipes.utils import forward_only_logs_to_file
from dagster_aws.pipes import PipesCloudWatchMessageReader, PipesECSClient
from dagster_aws.pipes.clients.utils import WaiterConfig
from dagster_aws.pipes.message_readers import PipesCloudWatchLogReader
from pydantic import Field

from zigtune.resources import env_overrides

#: What a worker is launched from: an asset's or an op's context.
StepContext = dg.AssetExecutionContext | dg.OpExecutionContext


class RemoteWorkerError(Exception):
    """The remote task could not run the worker or ended badly; the message is one line."""


class EcsGpuLauncher(dg.ConfigurableResource):
    """Runs a worker module as one task of an ECS task definition (a GPU instance or capacity provider)."""

    cluster: str
    """The ECS cluster (name or ARN) the task runs on."""

    task_definition: str
    """The task definition (``family``, ``family:revision`` or ARN): the image with zigtune installed, the GPU
    (``resourceRequirements``), the shared ``ZIGTUNE_DATA_DIR`` mount, the task role, ``awslogs`` logging."""

    container_name: str = "zigtune-worker"
    """The container in the task definition that runs the worker (its command is replaced)."""

    python: str = "python"
    """The interpreter inside the image."""

    launch_type: str | None = None
    """``EC2``, ``FARGATE`` or ``EXTERNAL``; empty: the cluster's default capacity provider strategy."""

    capacity_provider: str | None = None
    """Run on this capacity provider (e.g. an Auto Scaling group of GPU instances) instead of a launch type."""

    subnets: list[str] = Field(default_factory=list)
    """Subnets for ``awsvpc`` networking (required by task definitions with ``networkMode: awsvpc``)."""

    security_groups: list[str] = Field(default_factory=list)
    """Security groups for ``awsvpc`` networking."""

    assign_public_ip: bool = False
    """Give the task a public IP (Fargate in a public subnet without NAT needs one to pull images)."""

    region_name: str | None = None
    """AWS region; empty: the boto3 default (``AWS_REGION``/``AWS_DEFAULT_REGION``)."""

    endpoint_url: str | None = None
    """Send ECS and CloudWatch Logs calls here instead of AWS (a local test server)."""

    poll_seconds: int = 6
    """How often to ask ECS whether the task has stopped."""

    max_hours: float = 72.0
    """Give up waiting for the task after this long (the task itself is not stopped by giving up)."""

    def ecs_client(self) -> Any:
        return boto3.client("ecs", region_name=self.region_name, endpoint_url=self.endpoint_url)

    def logs_client(self) -> Any:
        return boto3.client("logs", region_name=self.region_name, endpoint_url=self.endpoint_url)

    def run_task_params(self, command: list[str], env: dict[str, str]) -> dict[str, Any]:
        """The ``run_task`` request before Pipes adds its variables: one task, our command, ``env``."""
        params: dict[str, Any] = {
            "cluster": self.cluster,
            "taskDefinition": self.task_definition,
            "count": 1,
            "overrides": {
                "containerOverrides": [
                    {
                        "name": self.container_name,
                        "command": command,
                        "environment": [{"name": k, "value": v} for k, v in env.items()],
                    }
                ]
            },
        }
        if self.capacity_provider:
            params["capacityProviderStrategy"] = [{"capacityProvider": self.capacity_provider, "weight": 1}]
        elif self.launch_type:
            params["launchType"] = self.launch_type
        if self.subnets:
            params["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": list(self.subnets),
                    "securityGroups": list(self.security_groups),
                    "assignPublicIp": "ENABLED" if self.assign_public_ip else "DISABLED",
                }
            }
        return params

    def launch(
        self, context: StepContext, module: str, extras: dict[str, Any], env: dict[str, str]
    ) -> PipesClientCompletedInvocation:
        """Run ``python -m <module>`` in one ECS task through Pipes; wait until it stops.

        Raises ``RemoteWorkerError`` with one line when the task fails to start or a container exits non-zero.
        """
        client = _RecordingECSClient(
            client=self.ecs_client(),
            message_reader=_PolledCloudWatchMessageReader(client=self.logs_client()),
        )
        waiter = WaiterConfig(
            Delay=self.poll_seconds, MaxAttempts=max(1, int(self.max_hours * 3600 / self.poll_seconds))
        )
        try:
            return client.run(
                context=context,
                run_task_params=self.run_task_params([self.python, "-m", module], env),  # type: ignore[arg-type]
                extras=extras,
                pipes_container_name=self.container_name,
                waiter_config=waiter,
            )
        except Exception as error:
            raise RemoteWorkerError(_describe_failure(module, client.stopped_tasks, error)) from None


def _describe_failure(module: str, tasks: list[dict[str, Any]], error: Exception) -> str:
    """One line naming the task, the exit codes and ECS's reason; the client's own error if it never stopped."""
    for task in tasks:
        task_id = task["taskArn"].split("/")[-1]
        codes = {c["name"]: c.get("exitCode") for c in task.get("containers", []) if c.get("exitCode") not in (0, None)}
        reason = " ".join(str(task.get("stoppedReason") or "no reason given").split())
        if codes or task.get("stopCode") == "TaskFailedToStart":
            exits = ", ".join(f"{name} exited with code {code}" for name, code in codes.items()) or "failed to start"
            return (
                f"the worker {module} in ECS task {task_id}: {exits} ({reason}); its output is in the task's "
                "CloudWatch log stream"
            )
    first_line = " ".join(str(error).split())[:300]
    return f"the worker {module} on ECS did not finish: {type(error).__name__}: {first_line}"


class _RecordingECSClient(PipesECSClient):
    """``PipesECSClient`` that keeps the stopped tasks, so a failure can be told in one line."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stopped_tasks: list[dict[str, Any]] = []

    def _wait_for_completion(self, start_response, cluster=None, waiter_config=None):  # type: ignore[no-untyped-def]
        response = super()._wait_for_completion(start_response, cluster=cluster, waiter_config=waiter_config)
        self.stopped_tasks = list(response.get("tasks", []))
        return response


class _PolledCloudWatchMessageReader(PipesCloudWatchMessageReader):
    """Reads Pipes messages like its parent, and tails the container's other output with a polling reader.

    dagster-aws 0.29's ``PipesCloudWatchLogReader`` asks CloudWatch for events in a loop without pausing and
    checks for the end of the session only after new events, from a non-daemon thread: once the log is
    drained it spins and keeps the process alive. Its replacement pauses between reads and stops once
    the session has closed and the stream is drained.
    """

    def add_log_reader(self, log_reader: Any) -> None:
        if isinstance(log_reader, PipesCloudWatchLogReader):
            same = ("client", "log_group", "log_stream", "start_time", "debug_info")
            log_reader = _PolledCloudWatchLogReader(
                target_stream=sys.stderr, **{name: getattr(log_reader, name) for name in same}
            )
        super().add_log_reader(log_reader)


class _PolledCloudWatchLogReader(PipesCloudWatchLogReader):
    pause_seconds = 2.0

    def start(self, params: Any, is_session_closed: Event) -> None:
        self.thread = Thread(target=self._tail, args=(params, is_session_closed), daemon=True)
        self.thread.start()

    def _tail(self, params: Any, is_session_closed: Event) -> None:
        request: dict[str, Any] = {
            "logGroupName": params.get("log_group") or self.log_group,
            "logStreamName": params.get("log_stream") or self.log_stream,
            "startFromHead": True,
        }
        if self.start_time:
            request["startTime"] = self.start_time
        while True:
            closed = is_session_closed.is_set()
            response = self.client.get_log_events(**request)
            for event in response.get("events", []):
                for line in event.get("message", "").splitlines():
                    if line:
                        forward_only_logs_to_file(line, self.target_stream)
            drained = response.get("nextForwardToken") == request.get("nextToken") or not response.get("events")
            request["nextToken"] = response["nextForwardToken"]
            if closed and drained:
                return
            if drained:
                is_session_closed.wait(self.pause_seconds)


def ecs_launcher_from_env() -> EcsGpuLauncher | None:
    """``ZIGTUNE_ECS_CLUSTER`` and ``ZIGTUNE_ECS_TASK_DEFINITION`` (both needed), optional
    ``ZIGTUNE_ECS_CONTAINER``, ``ZIGTUNE_ECS_LAUNCH_TYPE``, ``ZIGTUNE_ECS_CAPACITY_PROVIDER``,
    ``ZIGTUNE_ECS_SUBNETS`` and ``ZIGTUNE_ECS_SECURITY_GROUPS`` (comma-separated), ``AWS_REGION``."""
    cluster, task_definition = os.environ.get("ZIGTUNE_ECS_CLUSTER"), os.environ.get("ZIGTUNE_ECS_TASK_DEFINITION")
    if not cluster or not task_definition:
        return None
    values: dict[str, Any] = {"cluster": cluster, "task_definition": task_definition}
    values |= env_overrides(
        {
            "container_name": "ZIGTUNE_ECS_CONTAINER",
            "launch_type": "ZIGTUNE_ECS_LAUNCH_TYPE",
            "capacity_provider": "ZIGTUNE_ECS_CAPACITY_PROVIDER",
            "region_name": "AWS_REGION",
        }
    )
    for field_name, variable in [
        ("subnets", "ZIGTUNE_ECS_SUBNETS"),
        ("security_groups", "ZIGTUNE_ECS_SECURITY_GROUPS"),
    ]:
        values[field_name] = [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]
    return EcsGpuLauncher(**values)

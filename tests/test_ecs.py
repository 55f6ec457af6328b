"""The ECS launcher of ``TrainingExecutor.run_worker`` against moto's ECS and CloudWatch Logs over HTTP.

Dagster's side is real: a ``dg.materialize`` of a tiny asset calls ``run_worker`` with ``launcher="ecs"``,
which runs dagster-aws's ``PipesECSClient``. The test plays AWS's side: when the task appears in moto, it
reads the container's command and environment from the task's overrides, runs that command here (a real
``python -m`` process with exactly that environment, as the container would), writes the process's output
to the task's CloudWatch log stream as the ``awslogs`` driver does, and stops the task. moto has no API to
set a container's exit code, so for the crash case the test sets it on moto's task record before stopping it.
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import requests
from dagster_pipes import decode_env_var

from tests.s3_server import AWS_SECRET
from zigtune.resources.ecs import EcsGpuLauncher, ecs_launcher_from_env
from zigtune.resources.training import TrainingExecutor, training_from_env

REPO = Path(__file__).resolve().parents[1]
CLUSTER = "zigtune-gpu"
FAMILY = "zigtune-worker"
CONTAINER = "zigtune-worker"
LOG_GROUP = "/ecs/zigtune-worker"
LOG_PREFIX = "zigtune"
WORKER = "tests.pipes_echo_worker"


class RemoteSide:
    """AWS's part: waits for the task, runs its container command here, ships the output, stops the task."""

    def __init__(self, endpoint: str, exit_code: int | None = None) -> None:
        self.endpoint = endpoint
        self.exit_code = exit_code
        self.task: dict[str, Any] = {}
        self.output: list[str] = []
        self.returncode: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RemoteSide":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the remote side did not finish"
        if self.error:
            raise self.error

    def _run(self) -> None:
        try:
            self._play()
        except BaseException as error:  # reported by __exit__ in the test's thread
            self.error = error

    def _play(self) -> None:
        ecs = boto3.client("ecs", endpoint_url=self.endpoint)
        logs = boto3.client("logs", endpoint_url=self.endpoint)
        arrived, deadline = threading.Event(), time.monotonic() + 30
        while not (arns := ecs.list_tasks(cluster=CLUSTER)["taskArns"]):
            assert time.monotonic() < deadline, "no ECS task was started"
            arrived.wait(0.2)
        self.task = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"][0]
        override = next(o for o in self.task["overrides"]["containerOverrides"] if o["name"] == CONTAINER)
        command = override["command"]
        assert command[0] == "python"
        environment = {item["name"]: item["value"] for item in override["environment"]}
        # The container's environment: what the task definition and the overrides give it, nothing of ours.
        container_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **environment}
        done = subprocess.run(
            [sys.executable, *command[1:]], cwd=REPO, env=container_env, capture_output=True, text=True, timeout=120
        )
        self.returncode = done.returncode
        self.output = [line for line in (done.stdout + done.stderr).splitlines() if line]
        task_id = self.task["taskArn"].split("/")[-1]
        stream = f"{LOG_PREFIX}/{CONTAINER}/{task_id}"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": line} for line in self.output],
        )
        if self.exit_code is not None:
            set_exit_code(self.task["taskArn"], self.exit_code)
        ecs.stop_task(cluster=CLUSTER, task=self.task["taskArn"], reason="Essential container in task exited")


def set_exit_code(task_arn: str, code: int) -> None:
    """What ECS records when the container exits; moto's API cannot say it, so its task record is edited."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    task = ecs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tasks[CLUSTER][task_arn]
    for container in task.containers:
        container.exitCode = code
        container.runtime_id = f"runtime-{code}"


def reset_ecs_and_logs() -> None:
    """moto's ECS and CloudWatch Logs back to empty; its other services as they are."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends
    from moto.logs.models import logs_backends

    for backends in (ecs_backends, logs_backends):
        backends[DEFAULT_ACCOUNT_ID]["us-east-1"].reset()


@pytest.fixture
def ecs_cluster(s3, data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A cluster, a task definition logging to CloudWatch, a subnet; tasks stop only when told to."""
    endpoint, _ = s3
    manager = f"{endpoint}/moto-api/state-manager"
    # moto's state lives in this process across servers: start with no tasks or log groups of an earlier test.
    reset_ecs_and_logs()
    # By default moto moves a described task one state on per describe, so it would stop by itself.
    transition = {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}}
    requests.post(f"{manager}/set-transition", json=transition, timeout=10).raise_for_status()
    ecs = boto3.client("ecs", endpoint_url=endpoint)
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family=FAMILY,
        # A real Fargate definition says requiresCompatibilities=["FARGATE"] and networkMode="awsvpc"; with
        # those moto 5.2 fails run_task (its ENI lacks private_dns_name), so this one takes moto's "bridge"
        # default, and moto ignores the networkConfiguration the launcher sends.
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {
                "name": CONTAINER,
                "image": "ghcr.io/example/zigtune:latest",
                "essential": True,
                "cpu": 1024,
                "memory": 4096,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": LOG_GROUP,
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": LOG_PREFIX,
                    },
                },
            }
        ],
    )
    boto3.client("logs", endpoint_url=endpoint).create_log_group(logGroupName=LOG_GROUP)
    ec2 = boto3.client("ec2", endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="zigtune-worker", Description="worker", VpcId=vpc)["GroupId"]
    yield endpoint, {"subnet": subnet, "security_group": group}
    requests.post(f"{manager}/unset-transition", json={"model_name": "ecs::task"}, timeout=10)


def executor(endpoint: str, network: dict[str, str]) -> TrainingExecutor:
    launcher = EcsGpuLauncher(
        cluster=CLUSTER,
        task_definition=FAMILY,
        container_name=CONTAINER,
        launch_type="FARGATE",
        subnets=[network["subnet"]],
        security_groups=[network["security_group"]],
        endpoint_url=endpoint,
        poll_seconds=1,
    )
    return TrainingExecutor(launcher="ecs", ecs=launcher)


@dg.asset
def remote_answer(context: dg.AssetExecutionContext, training: TrainingExecutor) -> dg.MaterializeResult:
    params = json.loads(os.environ["ECHO_PARAMS"])
    outcome = training.run_worker(context, WORKER, params)
    steps = [m for m in outcome.messages if "step" in m]
    return dg.MaterializeResult(metadata={**outcome.metadata, "result": outcome.result, "steps": len(steps)})


def materialize(
    training: TrainingExecutor, params: dict[str, Any], monkeypatch
) -> tuple[dg.ExecuteInProcessResult, list[str]]:
    """The run's result and its log messages as its instance stored them (worker lines arrive through Pipes)."""
    monkeypatch.setenv("ECHO_PARAMS", json.dumps(params))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([remote_answer], resources={"training": training}, instance=instance, raise_on_error=False)
    return result, [entry.user_message for entry in instance.all_logs(result.run_id)]


def test_the_worker_runs_as_an_ecs_task_and_its_results_reach_dagster(ecs_cluster, data_dir: Path, monkeypatch):
    endpoint, network = ecs_cluster
    with RemoteSide(endpoint) as remote:
        result, logged = materialize(
            executor(endpoint, network), {"mode": "echo", "question": "six times seven"}, monkeypatch
        )
    assert result.success

    task = remote.task
    assert task["clusterArn"].endswith(f"/{CLUSTER}")
    assert task["taskDefinitionArn"].endswith(f"task-definition/{FAMILY}:1")
    assert task["launchType"] == "FARGATE"
    override = task["overrides"]["containerOverrides"][0]
    assert override["name"] == CONTAINER
    assert override["command"] == ["python", "-m", WORKER]
    environment = {item["name"]: item["value"] for item in override["environment"]}
    assert environment["ZIGTUNE_DATA_DIR"] == str(data_dir)
    assert {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES"} <= set(environment)
    # The params travel inside the Pipes context, not as variables of their own.
    context = decode_env_var(environment["DAGSTER_PIPES_CONTEXT"])["data"]
    assert context["extras"]["params"] == {"mode": "echo", "question": "six times seven"}
    assert AWS_SECRET not in json.dumps(task) and AWS_SECRET not in json.dumps(context)
    assert remote.returncode == 0

    metadata = result.asset_materializations_for_node("remote_answer")[0].metadata
    assert metadata["answer"].value == 42
    assert metadata["note"].value == "# hi"
    assert metadata["result"].value == {"echo": {"mode": "echo", "question": "six times seven"}}
    assert metadata["steps"].value == 2
    assert any("echo worker got ['mode', 'question']" in line for line in logged), "its log line"


def test_a_task_that_exits_non_zero_fails_with_one_line(ecs_cluster, monkeypatch):
    endpoint, network = ecs_cluster
    with RemoteSide(endpoint, exit_code=3) as remote:
        result, logged = materialize(executor(endpoint, network), {"mode": "crash"}, monkeypatch)
    assert remote.returncode == 3
    assert any("echo worker got ['mode']" in line for line in logged), "lines before the crash still arrive"
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    message = failure.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")
    task_id = remote.task["taskArn"].split("/")[-1]
    assert message.startswith(f"the worker {WORKER} in ECS task {task_id}: {CONTAINER} exited with code 3")
    assert "\n" not in message and AWS_SECRET not in message


def test_a_user_error_from_the_remote_worker_fails_with_its_line(ecs_cluster, monkeypatch):
    endpoint, network = ecs_cluster
    with RemoteSide(endpoint):
        result, _ = materialize(executor(endpoint, network), {"mode": "user_error"}, monkeypatch)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert "the widget is misconfigured: set widget=1" in failure.message


def test_subprocess_stays_the_default_and_ecs_needs_its_settings(monkeypatch) -> None:
    assert TrainingExecutor().launcher == "subprocess"
    monkeypatch.delenv("ZIGTUNE_ECS_CLUSTER", raising=False)
    assert ecs_launcher_from_env() is None
    monkeypatch.setenv("ZIGTUNE_ECS_CLUSTER", CLUSTER)
    monkeypatch.setenv("ZIGTUNE_ECS_TASK_DEFINITION", f"{FAMILY}:4")
    monkeypatch.setenv("ZIGTUNE_ECS_SUBNETS", "subnet-a, subnet-b")
    launcher = ecs_launcher_from_env()
    assert launcher is not None
    request = launcher.run_task_params(["python", "-m", WORKER], {"ZIGTUNE_DATA_DIR": "/mnt/efs/zigtune"})
    assert request["taskDefinition"] == f"{FAMILY}:4"
    assert request["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-a", "subnet-b"]
    monkeypatch.setenv("ZIGTUNE_TRAIN_LAUNCHER", "ecs")
    configured = training_from_env()
    assert configured.launcher == "ecs" and configured.ecs is not None and configured.ecs.cluster == CLUSTER


def test_the_ecs_launcher_without_settings_fails_with_one_line(monkeypatch) -> None:
    monkeypatch.setenv("ECHO_PARAMS", json.dumps({"question": "q"}))
    result = dg.materialize(
        [remote_answer], resources={"training": TrainingExecutor(launcher="ecs")}, raise_on_error=False
    )
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert "launcher='ecs' needs the ecs settings (cluster, task_definition)" in failure.message

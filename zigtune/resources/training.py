"""The training executor: GPU work (training, evaluation generation) in its own process, reporting through Pipes.

Training imports torch, transformers and Unsloth and can hold a GPU for hours; in a subprocess none of
that touches the code server, a crash or an out-of-memory kill fails the run rather than the server, and
the worker's log lines and per-step losses stream into the run's event log as they happen. Locally the
process is ``python -m <worker module>``; a ``PipesK8sClient`` or any other Pipes client could start the
same entry point on a GPU node. ``run_worker`` is the generic part (the evaluation stage runs its
generation worker through it too); ``train`` is LoRA training on top of it.
"""

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dagster as dg

# Not re-exported by dagster; raised by PipesSubprocessClient when the process exits non-zero.
from dagster._core.errors import DagsterPipesExecutionError

from zigtune import settings
from zigtune.resources import env_overrides
from zigtune.resources.ecs import EcsGpuLauncher, RemoteWorkerError, StepContext, ecs_launcher_from_env
from zigtune.storage.artifacts import storage_env
from zigtune.training.config import LoraSettings, TrainingConfig, TrainingConfigError
from zigtune.training.tracking import default_tracking_uri
from zigtune.training.worker import PARAMS_EXTRA

WORKER_MODULE = "zigtune.training.worker"


def whole_lines(path: str | Path, should_stop: Callable[[], bool], poll_s: float = 0.01) -> Iterator[str]:
    """The lines appended to ``path`` as they are completed, until ``should_stop()`` when nothing new is there.

    dagster's ``tail_file`` yields what ``readline`` returns, and at the end of a file that is still being written
    that can be half a line: its Pipes reader thread then fails on half a JSON message and every later message of
    the worker is lost (seen under load: "the worker ... ended without a result"). Here a partial line waits for
    its end; one left without a newline when the writer is done is yielded last."""
    pending = ""
    with open(path, encoding="utf-8") as stream:
        while True:
            text = stream.readline()
            if text:
                pending += text
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
            elif should_stop():
                if pending:
                    yield pending
                return
            else:
                time.sleep(poll_s)


class _WholeLinesFileReader(dg.PipesFileMessageReader):
    def _reader_thread(self, handler: Any, is_resource_complete: Any) -> None:  # dagster's, with whole lines
        try:
            for line in whole_lines(self._path, is_resource_complete.is_set):
                handler.handle_message(json.loads(line))
        except BaseException:  # dagster's own handling: report, then end the thread
            handler.report_pipes_framework_exception(f"{self.__class__.__name__} reader thread", sys.exc_info())
            raise


class WholeLinesMessageReader(dg.PipesMessageReader):
    """``PipesTempFileMessageReader`` (the subprocess client's default) reading only whole lines."""

    @contextmanager
    def read_messages(self, handler: Any) -> Iterator[dict[str, Any]]:
        with (
            tempfile.TemporaryDirectory() as directory,
            _WholeLinesFileReader(os.path.join(directory, "messages")).read_messages(handler) as params,
        ):
            yield params

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a local temporary file."


@dataclass
class WorkerOutcome:
    """What a worker sent back through Pipes, once it exited cleanly with a result."""

    result: Any
    """The value the worker's function returned (JSON round-tripped)."""

    messages: list[dict[str, Any]]
    """Every other custom message, in order (the training worker sends one per logged step)."""

    metadata: dict[str, dg.MetadataValue]
    """Metadata of the materialization the worker reported (``WorkerReply.metadata``); empty if none."""


@dataclass
class TrainingOutcome:
    result: dict[str, Any]
    metadata: dict[str, Any]
    steps: list[dict[str, Any]]


class TrainingExecutor(dg.ConfigurableResource, LoraSettings):
    """Runs the GPU workers out of process: LoRA training (``lora_model``) and the evaluation's generation.

    A worker is ``python -m <module>`` reporting back through Dagster Pipes, as a local subprocess (on CUDA;
    on a CPU with ``backend="hf"``) or as an AWS ECS task (``launcher="ecs"``). The training settings are
    ``LoraSettings``' (zigtune/training/config.py); their defaults are the original write-up's Unsloth settings.
    """

    mlflow_tracking_uri: str | None = None
    """Empty: a local SQLite store at ``<data dir>/mlflow/mlflow.db``. May be ``dg.EnvVar("MLFLOW_TRACKING_URI")``."""

    python_executable: str | None = None
    """The interpreter that runs the worker (default: this one); point it at a CUDA environment if separate."""

    launcher: Literal["subprocess", "ecs"] = "subprocess"
    """Where workers run: ``subprocess`` (this machine) or ``ecs`` (a task on AWS ECS, set up by ``ecs``)."""

    ecs: EcsGpuLauncher | None = None
    """The ECS cluster and task definition for ``launcher="ecs"``; with local storage ``ZIGTUNE_DATA_DIR`` must be
    shared (EFS), with ``ZIGTUNE_STORAGE=s3`` the task exchanges its files through the bucket."""

    def training_config(self, train_path: str | Path, eval_path: str | Path | None, output_dir: Path) -> TrainingConfig:
        data = settings.data_dir()
        values = {name: getattr(self, name) for name in LoraSettings.model_fields}
        values |= {
            "train_path": str(train_path),
            "eval_path": str(eval_path) if eval_path else None,
            "output_dir": str(output_dir),
            "mlflow_tracking_uri": self.mlflow_tracking_uri or default_tracking_uri(data),
            "mlflow_artifact_location": "" if self.mlflow_tracking_uri else str(data / "mlflow" / "artifacts"),
        }
        config = TrainingConfig.from_dict(values)
        config.validate()
        return config

    def run_worker(
        self, context: StepContext, module: str, params: dict[str, Any], env: dict[str, str] | None = None
    ) -> WorkerOutcome:
        """Run ``python -m <module>`` through Dagster Pipes and return what it sent back.

        The contract with the module (``zigtune.training.worker.serve`` implements the worker side):
        it reads ``params`` (any JSON-serialisable dict) from the Pipes extra ``"params"``, logs through
        Pipes (lines appear in this run's logs as they are written), may send custom messages (dicts),
        and ends with one ``{"result": <json>}`` message, or ``{"error": "<one line>"}`` for a failure the
        user can fix — which fails the run with that line and no retry. It may report one asset
        materialization; its metadata comes back in ``WorkerOutcome.metadata`` (not yet recorded: the
        asset returns it). The interpreter is ``python_executable`` (default: this one), the working
        directory the project root, and ``ZIGTUNE_DATA_DIR`` is passed on; ``env`` adds variables.
        A worker that crashes or is killed (a host out-of-memory kill) fails the run naming its exit code.
        With ``launcher="ecs"`` the same module runs as an ECS task (``EcsGpuLauncher``) under the same contract.
        """
        worker_env = {"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **_data_dir_env(), **(env or {})}
        if self.launcher == "ecs":
            if self.ecs is None:
                raise dg.Failure(description="launcher='ecs' needs the ecs settings (cluster, task_definition)")
            # With ZIGTUNE_STORAGE=s3 the task fetches its inputs and publishes its outputs through the bucket;
            # with local storage it needs the data directory shared (EFS), mounted at the same path.
            remote_env = {**worker_env, settings.DATA_DIR_ENV: str(settings.data_dir()), **storage_env()}
            try:
                invocation = self.ecs.launch(context, module, {PARAMS_EXTRA: params}, remote_env)
            except RemoteWorkerError as error:
                raise dg.Failure(description=str(error)) from None
            return _outcome(module, invocation)
        client = dg.PipesSubprocessClient(cwd=str(settings.PROJECT_ROOT), message_reader=WholeLinesMessageReader())
        try:
            invocation = client.run(
                context=context,
                command=[self.python_executable or sys.executable, "-m", module],
                extras={PARAMS_EXTRA: params},
                env=worker_env,
            )
        except DagsterPipesExecutionError as error:
            raise dg.Failure(
                description=f"the worker {module} died ({error}); a negative code is a signal (-9: killed, often "
                "for host memory): see the run's logs for its last lines",
            ) from None
        return _outcome(module, invocation)

    def train(
        self,
        context: dg.AssetExecutionContext,
        train_path: str | Path,
        eval_path: str | Path | None,
        output_dir: Path,
    ) -> TrainingOutcome:
        """Train in the worker; fail the run with the worker's one-line error when it reports one."""
        try:
            config = self.training_config(train_path, eval_path, output_dir)
        except TrainingConfigError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        (settings.data_dir() / "mlflow").mkdir(parents=True, exist_ok=True)
        output_dir.mkdir(parents=True, exist_ok=True)
        params = {"training_config": config.model_dump(), "run_name": f"lora_model-{context.run.run_id[:8]}"}
        outcome = self.run_worker(context, WORKER_MODULE, params)
        return TrainingOutcome(
            result=outcome.result,
            metadata=outcome.metadata,
            steps=[m for m in outcome.messages if "step" in m],
        )


def _outcome(module: str, invocation: dg.PipesClientCompletedInvocation) -> WorkerOutcome:
    """What the worker sent back; its one-line error, or no result at all, fails the run."""
    messages = [m for m in invocation.get_custom_messages() if isinstance(m, dict)]
    errors = [m["error"] for m in messages if "error" in m]
    if errors:
        raise dg.Failure(description=str(errors[-1]), allow_retries=False)
    results = [m["result"] for m in messages if "result" in m]
    if not results:
        raise dg.Failure(description=f"the worker {module} ended without a result; see the run's logs")
    reported = [r for r in invocation.get_results(implicit_materializations=False) if r.metadata]
    return WorkerOutcome(
        result=results[-1],
        messages=[m for m in messages if "result" not in m and "error" not in m],
        metadata=dict(reported[-1].metadata) if reported else {},
    )


def _data_dir_env() -> dict[str, str]:
    return {settings.DATA_DIR_ENV: os.environ[settings.DATA_DIR_ENV]} if os.environ.get(settings.DATA_DIR_ENV) else {}


def training_from_env() -> TrainingExecutor:
    """The default resource: the original's settings; ``ZIGTUNE_BASE_MODEL`` and ``ZIGTUNE_TRAIN_BACKEND``
    override the model and backend, ``MLFLOW_TRACKING_URI`` (read at run time, may hold credentials)
    sends runs to an MLflow server instead of the local store; ``ZIGTUNE_TRAIN_LAUNCHER=ecs`` runs workers on
    ECS as ``ecs_launcher_from_env`` reads it."""
    overrides = env_overrides(
        {"base_model": "ZIGTUNE_BASE_MODEL", "backend": "ZIGTUNE_TRAIN_BACKEND", "launcher": "ZIGTUNE_TRAIN_LAUNCHER"},
        {"mlflow_tracking_uri": "MLFLOW_TRACKING_URI"},
    )
    if "launcher" in overrides:
        overrides["ecs"] = ecs_launcher_from_env()
    return TrainingExecutor(**overrides)

"""The CUDA training executor: GPU work in its own process, reporting back through Dagster Pipes.

Training imports torch, transformers and Unsloth and can hold a GPU for hours; in a subprocess none of
that touches the code server, a crash or an out-of-memory kill fails the run rather than the server, and
the worker's log lines and per-step losses stream into the run's event log as they happen. Locally the
process is ``python -m <worker module>``; a ``PipesK8sClient`` or any other Pipes client could start the
same entry point on a GPU node. ``run_worker`` is the generic part (the evaluation stage runs its
generation worker through it too); ``train`` is LoRA training on top of it.
"""

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dagster as dg

# Not re-exported by dagster; raised by PipesSubprocessClient when the process exits non-zero.
from dagster._core.errors import DagsterPipesExecutionError
from pydantic import Field

from zigtune import settings
from zigtune.artifacts import storage_env
from zigtune.resources import env_overrides
from zigtune.resources.remote_gpu import EcsGpuLauncher, RemoteWorkerError, ecs_launcher_from_env
from zigtune.training.config import DEFAULT_BASE_MODEL, DEFAULT_TARGET_MODULES, TrainingConfig, TrainingConfigError
from zigtune.training.tracking import default_tracking_uri
from zigtune.training.worker import PARAMS_EXTRA

WORKER_MODULE = "zigtune.training.worker"


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


class CudaTrainingExecutor(dg.ConfigurableResource):
    """Fine-tunes a LoRA adapter out of process. Defaults are the original write-up's Unsloth settings."""

    base_model: str = DEFAULT_BASE_MODEL
    """A Hugging Face model id or a local model directory."""

    backend: Literal["auto", "unsloth", "hf"] = "auto"
    """``unsloth`` (CUDA), ``hf`` (transformers + peft + TRL, also CPU), or ``auto``: Unsloth on CUDA."""

    max_seq_length: int = 4096
    """Longer conversations are cut to this many tokens."""

    load_in_4bit: bool = True
    """QLoRA: the frozen base in 4-bit NF4 (needs CUDA and bitsandbytes)."""

    lora_r: int = 128
    lora_alpha: int = 128
    lora_dropout: float = 0.0
    target_modules: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))
    """LoRA on the projections; ``lm_head``/``embed_tokens`` listed here are trained as full matrices."""

    keep_embeddings_tied: bool = True
    """On a base that ties lm_head to embed_tokens (Qwen2.5-3B), train one shared matrix so a merged model
    equals the adapter. False trains two copies that drift apart (what older Unsloth did)."""

    learning_rate: float = 5e-5
    embedding_learning_rate: float = 1e-5
    """For the fully trained embed_tokens/lm_head: lower than the LoRA rate, as in the original."""

    num_train_epochs: float = 3.0
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run the epochs)."""

    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 8
    warmup_steps: int = 10
    optim: str = "adamw_8bit"
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    seed: int = 3407
    logging_steps: int = 1
    gradient_checkpointing: bool = True

    mlflow_tracking_uri: str | None = None
    """Empty: a local SQLite store at ``<data dir>/mlflow/mlflow.db``. May be ``dg.EnvVar("MLFLOW_TRACKING_URI")``."""

    mlflow_experiment: str = "zigtune-lora"
    log_adapter_to_mlflow: bool = False
    """Also copy the adapter files into MLflow's artifact store (about 1 GB with trained embeddings)."""

    python_executable: str | None = None
    """The interpreter that runs the worker (default: this one); point it at a CUDA environment if separate."""

    launcher: Literal["subprocess", "ecs"] = "subprocess"
    """Where workers run: ``subprocess`` (this machine) or ``ecs`` (a task on AWS ECS, set up by ``ecs``)."""

    ecs: EcsGpuLauncher | None = None
    """The ECS cluster and task definition for ``launcher="ecs"``; with local storage ``ZIGTUNE_DATA_DIR`` must be
    shared (EFS), with ``ZIGTUNE_STORAGE=s3`` the task exchanges its files through the bucket."""

    def training_config(self, train_path: str | Path, eval_path: str | Path | None, output_dir: Path) -> TrainingConfig:
        data = settings.data_dir()
        values = {name: getattr(self, name) for name in TrainingConfig.__dataclass_fields__ if hasattr(self, name)}
        values |= {
            "train_path": str(train_path),
            "eval_path": str(eval_path) if eval_path else None,
            "output_dir": str(output_dir),
            "target_modules": list(self.target_modules),
            "mlflow_tracking_uri": self.mlflow_tracking_uri or default_tracking_uri(data),
            "mlflow_artifact_location": "" if self.mlflow_tracking_uri else str(data / "mlflow" / "artifacts"),
        }
        config = TrainingConfig.from_dict(values)
        config.validate()
        return config

    def run_worker(
        self,
        context: dg.AssetExecutionContext | dg.OpExecutionContext,
        module: str,
        params: dict[str, Any],
        env: dict[str, str] | None = None,
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
        client = dg.PipesSubprocessClient(cwd=str(settings.PROJECT_ROOT))
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
        params = {"training_config": dataclasses.asdict(config), "run_name": f"lora_model-{context.run.run_id[:8]}"}
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


def training_from_env() -> CudaTrainingExecutor:
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
    return CudaTrainingExecutor(**overrides)

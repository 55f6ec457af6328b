"""The worker side of ``TrainingExecutor.run_worker``, and the training worker built on it.

``serve(work)`` is the whole protocol: read the params from the Pipes extras, call ``work(params, reporter)``,
send its ``WorkerReply.result`` back as one ``{"result": ...}`` custom message (and its metadata as the
asset's materialization), or a user error as one ``{"error": "<one line>"}`` message and a clean exit, so the
Dagster side fails the run with that line instead of a traceback. Any other exception is a crash: traceback
in the logs, non-zero exit. ``python -m zigtune.training.worker`` trains: it streams a log line and a custom
message per logged step (the live loss curve in the run's logs) and reports the results as metadata.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_pipes import PipesContext, open_dagster_pipes

from zigtune.settings import StorageConfigError
from zigtune.storage.artifacts import ArtifactError, artifact_store, key_for
from zigtune.training.config import TrainingConfig, TrainingError

#: The Pipes extra that carries a worker's params (``TrainingExecutor.run_worker`` writes it).
PARAMS_EXTRA = "params"

SPARK = "▁▂▃▄▅▆▇█"


def loss_curve_markdown(curve: list[tuple[int, float]], rows: int = 25) -> str:
    """A sparkline and a table of at most ``rows`` evenly spaced (step, loss) points, last one included."""
    if not curve:
        return "no loss logged"
    losses = [loss for _, loss in curve]
    low, high = min(losses), max(losses)
    spark = "".join(SPARK[int((loss - low) / (high - low or 1) * (len(SPARK) - 1))] for loss in losses[-120:])
    picked = sorted({round(i * (len(curve) - 1) / max(rows - 1, 1)) for i in range(min(rows, len(curve)))})
    table = "\n".join(f"| {curve[i][0]} | {curve[i][1]:.4f} |" for i in picked)
    return f"`{spark}`\n\n| step | loss |\n|---|---|\n{table}"


class PipesReporter:
    """Log lines and step metrics, sent to the Dagster run as they happen; ``pipes`` for anything else."""

    def __init__(self, pipes: PipesContext) -> None:
        self.pipes = pipes

    def log(self, message: str) -> None:
        self.pipes.log.info(message)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        shown = " ".join(f"{k} {v:.4g}" for k, v in metrics.items() if not math.isnan(v))
        self.pipes.log.info(f"step {step}: {shown}")
        self.pipes.report_custom_message({"step": step, **metrics})


def materialization_metadata(result: Any) -> dict[str, Any]:
    def number(value: float | None) -> Any:
        return {"raw_value": None, "type": "null"} if value is None or math.isnan(value) else round(value, 4)

    return {
        "adapter_dir": {"raw_value": result.adapter_dir, "type": "path"},
        "backend": result.backend,
        "device": result.device,
        "base_model": result.base_model,
        "train_loss": number(result.train_loss),
        "first_loss": number(result.first_loss),
        "final_loss": number(result.final_loss),
        "eval_loss": number(result.eval_loss),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "packing": result.packing,
        "train_tokens": result.train_tokens,
        "peak_vram_gib": round(result.peak_vram_gib, 2),
        "train_seconds": round(result.train_seconds, 1),
        "steps": result.steps,
        "train_examples": result.train_examples,
        "eval_examples": result.eval_examples,
        "masked_fraction": round(result.masked_fraction, 4),
        "dropped": {"raw_value": result.dropped, "type": "json"},
        "tied_embeddings": result.tied_embeddings,
        "trainable_parameters": result.trainable_parameters,
        "mlflow_run_id": result.mlflow_run_id,
        "mlflow_tracking_uri": result.mlflow_tracking_uri,
        "loss_curve": {"raw_value": loss_curve_markdown(result.loss_curve), "type": "md"},
    }


@dataclass
class WorkerReply:
    result: Any
    """JSON-serialisable; ``WorkerOutcome.result`` on the Dagster side."""

    metadata: dict[str, Any] = field(default_factory=dict)
    """Pipes metadata (plain values or ``{"raw_value": ..., "type": ...}``) reported as the materialization
    of the (single) asset being computed; empty: no materialization is reported."""


def serve(
    work: Callable[[dict[str, Any], PipesReporter], WorkerReply],
    user_errors: tuple[type[Exception], ...] = (TrainingError, ArtifactError, StorageConfigError),
) -> None:
    """Run ``work`` inside a Pipes session; exceptions of ``user_errors`` become the one-line failure."""
    with open_dagster_pipes() as pipes:
        reporter = PipesReporter(pipes)
        try:
            reply = work(pipes.get_extra(PARAMS_EXTRA), reporter)
        except user_errors as error:
            message = " ".join(str(error).split()) or type(error).__name__
            pipes.log.error(message)
            pipes.report_custom_message({"error": message})
            return
        pipes.report_custom_message({"result": reply.result})
        if reply.metadata:
            pipes.report_asset_materialization(metadata=reply.metadata)


def train_work(params: dict[str, Any], reporter: PipesReporter) -> WorkerReply:
    """Fetch the dataset (wherever the dataset stage published it), train, publish the adapter."""
    config = TrainingConfig.from_dict(params["training_config"])
    from zigtune.training.run import train

    store = artifact_store()
    config.train_path = str(store.fetch(config.train_path))
    if config.eval_path:
        config.eval_path = str(store.fetch(config.eval_path))
    result = train(config, reporter, run_name=params.get("run_name") or "lora_model")
    adapter = Path(result.adapter_dir)
    result.adapter_dir = store.publish(adapter, key_for(adapter, f"models/{adapter.parent.name}/adapter"))
    if result.adapter_dir != str(adapter):
        reporter.log(f"adapter published to {result.adapter_dir}")
    return WorkerReply(result=result.as_dict(), metadata=materialization_metadata(result))


def main() -> None:
    serve(train_work)


if __name__ == "__main__":
    main()

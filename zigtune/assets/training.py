"""Stage 5: the LoRA adapter, fine-tuned on the chatml dataset's train split by the training executor."""

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.metadata import markdown_table
from zigtune.resources.training import TrainingExecutor

#: One row per trained adapter; the evaluation stage loads ``adapter_dir`` on top of ``base_model``.
LORA_MODEL_SCHEMA = pl.Schema(
    {
        "adapter_dir": pl.Utf8,
        "base_model": pl.Utf8,
        "backend": pl.Utf8,
        "device": pl.Utf8,
        "train_examples": pl.Int64,
        "eval_examples": pl.Int64,
        "steps": pl.Int64,
        "train_loss": pl.Float64,
        "eval_loss": pl.Float64,
        "tokens_per_second": pl.Float64,
        "peak_vram_gib": pl.Float64,
        "train_seconds": pl.Float64,
        "tied_embeddings": pl.Boolean,
        "mlflow_run_id": pl.Utf8,
    }
)


def split_paths(chatml_dataset: pl.DataFrame) -> tuple[str, str | None]:
    """Where the train and (optional) eval JSONL were published (the dataset stage's ``split``/``path`` rows);
    the training worker fetches them."""
    paths = {row["split"]: str(row["path"]) for row in chatml_dataset.iter_rows(named=True) if row.get("path")}
    if "train" not in paths:
        raise dg.Failure(
            description=f"chatml_dataset has no train split (splits: {sorted(paths)}); re-materialize chatml_dataset",
            allow_retries=False,
        )
    return paths["train"], paths.get("eval")


@dg.asset(group_name="training", kinds={"pytorch", "mlflow"}, code_version="1")
def lora_model(
    context: dg.AssetExecutionContext, chatml_dataset: pl.DataFrame, training: TrainingExecutor
) -> dg.Output[pl.DataFrame]:
    """A LoRA adapter (with tokenizer, chat template and model card) trained on assistant turns only.

    Runs in a separate process through Dagster Pipes: its log lines and per-step losses appear in this run's
    logs while it trains; the loss curve, eval loss, tokens/s and peak VRAM land in the metadata, and every
    setting and step in an MLflow run.
    """
    train_path, eval_path = split_paths(chatml_dataset)
    output_dir = settings.data_dir() / "models" / "lora_model" / context.run.run_id[:8]
    outcome = training.train(context, train_path, eval_path, output_dir)
    result = outcome.result
    frame = pl.DataFrame([{name: result.get(name) for name in LORA_MODEL_SCHEMA}], schema=LORA_MODEL_SCHEMA)
    metadata = dict(outcome.metadata)
    if outcome.steps:
        steps = pl.DataFrame(outcome.steps).select(
            [c for c in ("step", "loss", "learning_rate", "grad_norm", "tokens_per_second") if c in outcome.steps[0]]
        )
        metadata["last_steps"] = dg.MetadataValue.md(markdown_table(steps.tail(10)))
    return dg.Output(frame, metadata=metadata)

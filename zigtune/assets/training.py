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


#: One row per export: where the merged model is and how well it matches the adapter.
MODEL_EXPORT_SCHEMA = pl.Schema(
    {
        "model_dir": pl.Utf8,
        "base_model": pl.Utf8,
        "adapter_dir": pl.Utf8,
        "dtype": pl.Utf8,
        "tied_embeddings": pl.Boolean,
        "max_abs_logit_diff": pl.Float64,
        "gguf_path": pl.Utf8,
    }
)
EXPORT_WORKER = "zigtune.training.export"


class ModelExportConfig(dg.Config):
    dtype: str = "auto"
    """Weights of the merged model: ``auto`` (bf16 on a GPU, float32 on a CPU), ``bfloat16``, ``float16`` or
    ``float32``."""

    gguf: bool = True
    """Also make ``model.gguf`` when llama.cpp's converter is at hand (``ZIGTUNE_LLAMA_CPP_CONVERTER``)."""

    gguf_quantize: str = ""
    """Also quantize the GGUF with llama.cpp (``Q4_K_M``, ``Q8_0``, ...; needs ``llama-cpp-python``); empty: keep
    only the 16-bit GGUF."""


def _evaluation_markdown(context: dg.AssetExecutionContext, adapter_dir: str) -> str | None:
    """The side-by-side table of the latest ``model_evaluation`` of this adapter, if there is one."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey("model_evaluation"))
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return None
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    if str(metadata.get("adapter_dir", "")) != adapter_dir or "side_by_side" not in metadata:
        return None
    return f"From `model_evaluation` (run {event.run_id[:8]}):\n\n{metadata['side_by_side']}"


@dg.asset(group_name="training", kinds={"pytorch", "ollama"}, code_version="1")
def model_export(
    context: dg.AssetExecutionContext, config: ModelExportConfig, lora_model: pl.DataFrame, training: TrainingExecutor
) -> dg.Output[pl.DataFrame]:
    """The adapter merged into its 16-bit base (logits checked equal to the adapter's), with tokenizer, chat
    template, an Ollama Modelfile, a model card (with the latest evaluation of this adapter) and, when llama.cpp's
    converter is at hand, a GGUF. Serve it with ``transformers serve``, ``vllm serve`` or Ollama."""
    if not lora_model.height:
        raise dg.Failure(description="lora_model is empty: materialize lora_model first", allow_retries=False)
    lora = lora_model.row(0, named=True)
    adapter_dir = str(lora["adapter_dir"])
    output_dir = settings.data_dir() / "models" / "model_export" / context.run.run_id[:8] / "merged"
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    params = {
        "adapter_dir": adapter_dir,
        "output_dir": str(output_dir),
        "dtype": config.dtype,
        "gguf": config.gguf,
        "gguf_quantize": config.gguf_quantize,
        "training": {k: lora.get(k) for k in ("train_examples", "steps", "train_loss", "eval_loss", "mlflow_run_id")},
        "evaluation_md": _evaluation_markdown(context, adapter_dir),
        "num_ctx": training.max_seq_length,
    }
    result = training.run_worker(context, EXPORT_WORKER, params).result
    frame = pl.DataFrame([{name: result.get(name) for name in MODEL_EXPORT_SCHEMA}], schema=MODEL_EXPORT_SCHEMA)
    metadata = {
        "model_dir": dg.MetadataValue.path(result["model_dir"]),
        "max_abs_logit_diff": result["max_abs_logit_diff"],
        "relative_logit_diff": result["relative_logit_diff"],
        "next_token_agreement": result["next_token_agreement"],
        "tied_embeddings": result["tied_embeddings"],
        "dtype": result["dtype"],
        "device": result["device"],
        "gguf": result["gguf_path"] or result["gguf_note"],
        "evaluation_in_card": params["evaluation_md"] is not None,
        "files": dg.MetadataValue.json(result["files"]),
        "seconds": round(result["seconds"], 1),
    }
    return dg.Output(frame, metadata=metadata)

"""Stage 6: model evaluation — does the code the model writes compile and correctly run the requested task?

The original's headline benchmark, made real. The base model and the fine-tuned adapter are asked the same
tasks (the eval split's code tasks and the gold set from the reference's runnable examples, see
``zigtune.evaluation.tasks``) with pinned decoding, their code is run by the Zig engine (the ``zig``
resource), and the rates land side by side in the metadata and in MLflow next to the training run.
Generation runs out of process on the GPU through the training executor's worker machinery (``hf``), or
on any OpenAI-compatible server (``openai``).
"""

import asyncio
import json
import os
import time
from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field

from zigtune import settings
from zigtune.evaluation.decoding import DEFAULT_MAX_NEW_TOKENS, DEFAULT_SEED, Decoding, DecodingError
from zigtune.evaluation.generation import (
    GenerationError,
    GenerationStats,
    OpenAIBackend,
    Prompt,
    completions_from_json,
)
from zigtune.evaluation.report import failure_samples, side_by_side, task_table
from zigtune.evaluation.scoring import (
    ALL_SOURCES,
    BASE,
    EVALUATION_SCHEMA,
    FINE_TUNED,
    ROLES,
    Completion,
    ModelStamp,
    check_completions,
    score_completions,
    summarize,
    verified_gold,
)
from zigtune.evaluation.tasks import SOURCES, TaskError, build_tasks
from zigtune.evaluation.tracking import log_evaluation
from zigtune.metadata import markdown_table
from zigtune.resources.codapi import CodapiError
from zigtune.resources.training import TrainingExecutor
from zigtune.resources.zig import ZigEngine
from zigtune.settings import StorageConfigError
from zigtune.storage.artifacts import ArtifactError, artifact_store
from zigtune.storage.cache import ContentCache
from zigtune.training.tracking import default_tracking_uri
from zigtune.validation.checking import CheckStats
from zigtune.validation.sandbox import SandboxError

__all__ = ["EVALUATION_SCHEMA", "evaluation_ran_tasks", "fine_tuned_not_worse", "model_evaluation"]

CODE_VERSION = "1"
WORKER_MODULE = "zigtune.evaluation.worker"


class EvaluationConfig(dg.Config):
    backend: Literal["hf", "openai"] = "hf"
    """``hf``: transformers + peft in a worker process (GPU when there is one). ``openai``: a server."""

    sources: list[str] = Field(default_factory=lambda: list(SOURCES))
    """Task sources: ``eval_split`` (the held-out split's code tasks) and/or ``gold`` (reference examples)."""

    max_tasks_per_source: int = 0
    """Keep a seeded sample of this many tasks per source (0: all of them)."""

    task_seed: int = 0
    """Seed of that sample."""

    verify_gold: bool = True
    """Run each gold task's reference program first and drop the tasks it does not pass (counted)."""

    temperature: float = 0.0
    """0: greedy, one deterministic answer per task (the default). Above 0 samples (the original used 0.7)."""

    top_p: float = 1.0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Longest reply; a reply cut here is counted in ``truncated_rate``."""

    num_samples: int = 1
    """Samples per task, for pass@k (needs temperature > 0)."""

    pass_at_k: list[int] = Field(default_factory=lambda: [1, 5, 10])
    """The k of pass@k to report; those above ``num_samples`` are left out."""

    seed: int = DEFAULT_SEED
    batch_size: int = 16
    """Prompts per ``generate`` call in the hf worker."""

    load_in_4bit: bool | None = None
    """Load the base in 4-bit for generation; empty: as the training resource trained it."""

    openai_base_url: str = "http://127.0.0.1:8000/v1"
    """The OpenAI-compatible server (e.g. ``vllm serve <base> --enable-lora --lora-modules zigtune=<adapter>``)."""

    openai_base_model: str = ""
    """The base model's name on that server; empty: the adapter's base model id."""

    openai_fine_tuned_model: str = "zigtune"
    """The adapter's name on that server (vLLM: the ``--lora-modules`` name)."""

    openai_api_key_env: str = "ZIGTUNE_EVAL_API_KEY"
    """The environment variable that holds the server's key (read at run time, never stored); unset: none."""

    openai_concurrency: int = 8

    failure_rows: int = 6
    """Failed samples of each model shown in the metadata."""

    task_rows: int = 40
    """Tasks shown in the per-task table of the metadata."""

    def decoding(self) -> Decoding:
        return Decoding(
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            num_samples=self.num_samples,
            seed=self.seed,
        ).validate()


def _fail(message: str) -> dg.Failure:
    return dg.Failure(description=message, allow_retries=False)


def _dataset_paths(chatml_dataset: pl.DataFrame) -> dict[str, str]:
    """Where the provenance parquet of each split was published (``<split>.parquet`` beside its JSONL when not
    listed)."""
    paths = {}
    for row in chatml_dataset.iter_rows(named=True):
        path = row.get("path")
        given = row.get("provenance_path") or (path.removesuffix(".jsonl") + ".parquet" if path else None)
        if given:
            paths[row["split"]] = given
    return paths


def _read(location: str | None) -> pl.DataFrame | None:
    if location is None:
        return None
    try:
        return pl.read_parquet(artifact_store().fetch(location))
    except (ArtifactError, StorageConfigError) as error:
        raise _fail(f"cannot read the dataset's provenance: {error}") from None


def _generate_hf(
    context: dg.AssetExecutionContext,
    training: TrainingExecutor,
    config: EvaluationConfig,
    adapter_dir: str,
    prompts: list[Prompt],
    decoding: Decoding,
) -> tuple[list[Completion], GenerationStats, float]:
    output = settings.data_dir() / "evaluation" / context.run.run_id[:8] / "completions.json"
    params = {
        "adapter_dir": adapter_dir,
        "roles": list(ROLES),
        "prompts": [{"task_id": p.task_id, "messages": p.messages} for p in prompts],
        "decoding": decoding.as_dict(),
        "batch_size": config.batch_size,
        "load_in_4bit": training.load_in_4bit if config.load_in_4bit is None else config.load_in_4bit,
        "output_path": str(output),
    }
    outcome = training.run_worker(context, WORKER_MODULE, params)
    try:
        output_path = artifact_store().fetch(outcome.result["output_path"])
    except (ArtifactError, StorageConfigError) as error:
        raise _fail(f"cannot read the worker's completions: {error}") from None
    completions, stats = completions_from_json(json.loads(output_path.read_text()))
    return completions, stats, float(outcome.result.get("peak_vram_gib") or 0.0)


def _stamps(config: EvaluationConfig, base_model: str, adapter_dir: str) -> dict[str, ModelStamp]:
    if config.backend == "openai":
        return {
            BASE: ModelStamp(config.openai_base_model or base_model, None, "openai"),
            FINE_TUNED: ModelStamp(config.openai_fine_tuned_model, adapter_dir, "openai"),
        }
    return {BASE: ModelStamp(base_model, None, "hf"), FINE_TUNED: ModelStamp(base_model, adapter_dir, "hf")}


@dg.asset(
    group_name="evaluation",
    kinds={"pytorch", "mlflow", "zig"},
    code_version=CODE_VERSION,
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    lora_model: pl.DataFrame,
    chatml_dataset: pl.DataFrame,
    doc_sections: pl.DataFrame,
    training: TrainingExecutor,
    zig: ZigEngine,
) -> dg.Output[pl.DataFrame]:
    """Base vs fine-tuned on the eval split's code tasks and the reference's gold examples: compile rate,
    run rate, correct-output rate, pass@1 (pass@k when sampling) and the no-code rate, side by side; one row
    per sample, stamped with model, adapter, decoding, Zig version and engine.
    """
    started = time.monotonic()
    if not lora_model.height:
        raise _fail("lora_model is empty: materialize lora_model first")
    lora = lora_model.row(0, named=True)
    adapter_dir, base_model = str(lora["adapter_dir"]), str(lora["base_model"])
    try:
        decoding = config.decoding()
    except DecodingError as error:
        raise _fail(str(error)) from None

    splits = _dataset_paths(chatml_dataset)
    train_rows = _read(splits.get("train"))
    train_sections = set(train_rows["section_id"]) if train_rows is not None else set()
    try:
        task_set = build_tasks(
            _read(splits.get("eval")),
            doc_sections,
            train_sections,
            tuple(config.sources),
            config.max_tasks_per_source,
            config.task_seed,
        )
    except TaskError as error:
        raise _fail(str(error)) from None
    dropped = dict(task_set.dropped)

    try:
        engine = zig.create_engine()
    except SandboxError as error:
        raise _fail(str(error)) from None
    cache = ContentCache(settings.data_dir() / "cache" / "verdicts")
    check_stats = CheckStats()

    async def prepare() -> tuple[pl.DataFrame, int, str]:
        try:
            version = await engine.version()
            if not config.verify_gold:
                return task_set.tasks, 0, version
            return (*await verified_gold(task_set.tasks, engine, cache, check_stats), version)
        finally:
            await engine.close()

    try:
        tasks, unsolvable, zig_version = asyncio.run(prepare())
    except (CodapiError, SandboxError) as error:
        raise _fail(str(error)) from None
    if unsolvable:
        dropped["gold: the reference program does not print its published output here"] = unsolvable
    context.log.info(f"{tasks.height} tasks ({dict(tasks['source'].value_counts().iter_rows())}); dropped {dropped}")

    stamps = _stamps(config, base_model, adapter_dir)
    prompts = [Prompt(row["task_id"], row["messages"]) for row in tasks.iter_rows(named=True)]
    peak_vram = 0.0
    completions: list[Completion] = []
    generation = GenerationStats()
    if prompts and config.backend == "hf":
        completions, generation, peak_vram = _generate_hf(context, training, config, adapter_dir, prompts, decoding)
    elif prompts:
        backend = OpenAIBackend(
            config.openai_base_url,
            os.environ.get(config.openai_api_key_env) or "none",
            concurrency=config.openai_concurrency,
        )
        try:
            completions, generation = backend.generate(stamps, prompts, decoding)
        except GenerationError as error:
            raise _fail(str(error)) from None

    engine = zig.create_engine()

    async def check() -> dict:
        try:
            return await check_completions(completions, engine, cache, check_stats)
        finally:
            await engine.close()

    try:
        exec_results = asyncio.run(check())
    except (CodapiError, SandboxError) as error:
        raise _fail(str(error)) from None
    results = score_completions(tasks, completions, exec_results, stamps, decoding, zig_version, engine.name)
    ks = tuple(sorted({1, *(k for k in config.pass_at_k if 1 <= k <= decoding.num_samples)}))
    summary = summarize(results, ks)

    tracking_uri = training.mlflow_tracking_uri or default_tracking_uri(settings.data_dir())
    run_name = f"model_evaluation-{context.run.run_id[:8]}"
    mlflow_params = {
        "backend": config.backend,
        "base_model": stamps[BASE].model,
        "fine_tuned_model": stamps[FINE_TUNED].model,
        "adapter_dir": adapter_dir,
        **{f"decoding.{k}": v for k, v in decoding.as_dict().items()},
        "engine": engine.name,
        "zig_version": zig_version,
        "tasks": tasks.height,
        "sources": ",".join(config.sources),
    }
    artifacts = None if training.mlflow_tracking_uri else str(settings.data_dir() / "mlflow" / "artifacts")
    mlflow_run = log_evaluation(
        tracking_uri,
        lora.get("mlflow_run_id"),
        run_name,
        mlflow_params,
        summary,
        results,
        experiment_name=training.mlflow_experiment,
        artifact_location=artifacts,
    )

    headline = {
        (row["role"], row["source"]): row for row in summary.iter_rows(named=True) if row["source"] == ALL_SOURCES
    }

    def headline_rate(role: str, rate: str) -> float | None:
        return headline.get((role, ALL_SOURCES), {}).get(rate)

    metadata = {
        "tasks": tasks.height,
        "tasks_by_source": dg.MetadataValue.json(dict(tasks["source"].value_counts().iter_rows())),
        "samples": results.height,
        "dropped_tasks": dg.MetadataValue.json(dropped),
        "base_pass_at_1": headline_rate(BASE, "pass_at_1"),
        "fine_tuned_pass_at_1": headline_rate(FINE_TUNED, "pass_at_1"),
        "base_compile_rate": headline_rate(BASE, "compile_rate"),
        "fine_tuned_compile_rate": headline_rate(FINE_TUNED, "compile_rate"),
        "fine_tuned_no_code_rate": headline_rate(FINE_TUNED, "no_code_rate"),
        "side_by_side": dg.MetadataValue.md(side_by_side(summary)),
        "summary": dg.MetadataValue.md(markdown_table(summary) if summary.height else "no tasks were evaluated"),
        "per_task": dg.MetadataValue.md(task_table(results, config.task_rows)),
        "sample_failures": dg.MetadataValue.md(failure_samples(results, config.failure_rows)),
        "verdicts": dg.MetadataValue.json(
            {
                f"{role}:{verdict}": n
                for role, verdict, n in results.group_by("role", "verdict").len().sort("role", "verdict").iter_rows()
            }
        ),
        "backend": config.backend,
        "base_model": stamps[BASE].model,
        "fine_tuned_model": stamps[FINE_TUNED].model,
        "adapter_dir": dg.MetadataValue.path(adapter_dir),
        "decoding": dg.MetadataValue.json(decoding.as_dict()),
        "zig_version": zig_version,
        "engine": engine.name,
        "compiled": check_stats.compiled,
        "verdicts_from_cache": check_stats.cached,
        "generation": dg.MetadataValue.json(generation.as_dict()),
        "peak_vram_gib": peak_vram,
        "mlflow_run_id": mlflow_run["run_id"],
        "mlflow_tracking_uri": mlflow_run["tracking_uri"],
        "wall_seconds": round(time.monotonic() - started, 2),
    }
    context.log.info(
        f"pass@1 base {metadata['base_pass_at_1']} vs fine-tuned {metadata['fine_tuned_pass_at_1']} "
        f"on {tasks.height} tasks ({results.height} samples)"
    )
    return dg.Output(results, metadata={k: v for k, v in metadata.items() if v is not None})


@dg.asset_check(
    asset=model_evaluation,
    blocking=True,
    description="The evaluation actually ran tasks: both models answered and the engine judged their code.",
)
def evaluation_ran_tasks(model_evaluation: pl.DataFrame) -> dg.AssetCheckResult:
    judged = model_evaluation.filter(pl.col("verdict") != "sandbox_error")
    per_role = {role: judged.filter(pl.col("role") == role)["task_id"].n_unique() for role in ROLES}
    passed = all(per_role.values())
    problems = "" if passed else f" — nothing judged for {[r for r, n in per_role.items() if not n]}"
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"tasks judged per model: {per_role}{problems}",
        metadata={
            "samples": model_evaluation.height,
            "sandbox_errors": model_evaluation.height - judged.height,
            **{f"{role}_tasks": n for role, n in per_role.items()},
        },
    )


@dg.asset_check(
    asset=model_evaluation,
    description="The fine-tuned model's pass@1 is at least the base model's (over all tasks).",
)
def fine_tuned_not_worse(model_evaluation: pl.DataFrame) -> dg.AssetCheckResult:
    summary = summarize(model_evaluation)
    rates = {
        row["role"]: row["pass_at_1"] for row in summary.filter(pl.col("source") == ALL_SOURCES).iter_rows(named=True)
    }
    base, tuned = rates.get(BASE), rates.get(FINE_TUNED)
    passed = base is not None and tuned is not None and tuned >= base
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"pass@1 fine-tuned {tuned} vs base {base}",
        metadata={
            "base_pass_at_1": base if base is not None else -1.0,
            "fine_tuned_pass_at_1": tuned if tuned is not None else -1.0,
        },
    )

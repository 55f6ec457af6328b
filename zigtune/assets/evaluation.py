"""Stage 6: model evaluation — does the code the model writes do the requested task, on tasks it never saw?

The base model and the fine-tuned adapter answer the same task suites (``zigtune.evaluation.suite``; by default
the project's own ``zigtune_core`` and the dataset's held-out split converted to tasks) with pinned decoding;
each answer is compiled with the task's hidden tests by the Zig engine (the ``zig`` resource) and passes only
when those pass. Tasks that share text with the training data are marked seen; the headline is pass@1 on
unseen tasks. Rates, the fine-tuned − base difference with its interval, a per-category table and a chart land
in the metadata and in MLflow next to the training run. Generation runs out of process on the GPU through the
training executor's worker machinery (``hf``), or on any OpenAI-compatible server (``openai``).

Every step is a plain function of ``zigtune.evaluation``; this module only wires them to Dagster.
"""

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any, Literal

import dagster as dg
import polars as pl
from pydantic import Field

from zigtune import settings
from zigtune.evaluation.decoding import DEFAULT_MAX_NEW_TOKENS, DEFAULT_SEED, Decoding, DecodingError
from zigtune.evaluation.eval_split import EVAL_SPLIT
from zigtune.evaluation.judging import run_checks
from zigtune.evaluation.replies import (
    GenerationError,
    GenerationStats,
    OpenAIBackend,
    Prompt,
    completions_from_json,
)
from zigtune.evaluation.report import (
    category_table,
    chart_png,
    failure_samples,
    markdown_image,
    suite_tables,
    task_table,
)
from zigtune.evaluation.scoring import (
    BASE,
    EVALUATION_SCHEMA,
    FINE_TUNED,
    ROLES,
    Completion,
    Marks,
    ModelStamp,
    completion_jobs,
    score_completions,
    usable_ks,
)
from zigtune.evaluation.steps import (
    DEFAULT_SUITES,
    EvaluationSummary,
    SuiteSelection,
    contamination_marks,
    load_suites,
    prompts_of,
    sample_tasks,
    summarise,
    system_turns,
    training_texts,
    verify_tasks,
)
from zigtune.evaluation.suite import Suite, SuiteError
from zigtune.evaluation.tracking import log_evaluation
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

CODE_VERSION = "2"
WORKER_MODULE = "zigtune.evaluation.worker"


class EvaluationConfig(dg.Config):
    backend: Literal["hf", "openai"] = "hf"
    """``hf``: transformers + peft in a worker process (GPU when there is one). ``openai``: a server."""

    suites: list[str] = Field(default_factory=lambda: list(DEFAULT_SUITES))
    """Task suites: ``zigtune_core`` (the project's suite, the default), ``eval_split`` (the held-out split as
    tasks; not a default: too few independent sources, README "The suites it runs"), or the path of any suite
    JSONL file (format: README, "Task suites")."""

    verify_suites: list[str] = Field(default_factory=lambda: [EVAL_SPLIT])
    """Suites whose tasks are checked before any model is asked: a task is kept only when its reference solution
    passes and its stub and an empty ``test {}`` fail (dropped tasks are counted). The project's suite is
    checked by its own test instead."""

    max_tasks_per_suite: int = 0
    """Keep a seeded sample of this many tasks per suite (0: all of them)."""

    task_seed: int = 0
    """Seed of that sample."""

    temperature: float = 0.0
    """0: greedy, one deterministic answer per task (the default). Above 0 samples (the original used 0.7)."""

    top_p: float = 1.0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Longest reply; a reply cut here is counted in ``truncated_rate``."""

    num_samples: int = 1
    """Samples per task, for pass@k (needs temperature > 0)."""

    pass_at_k: list[int] = Field(default_factory=lambda: [1, 5, 10])
    """The k of pass@k to report; those above ``num_samples`` are left out."""

    bootstrap_resamples: int = 2000
    """Resamples of the paired bootstrap behind the fine-tuned − base interval (95%)."""

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
        """The ``Decoding`` of the fields this config shares with it (``stop`` stays the chat template's)."""
        return Decoding(
            **{spec.name: getattr(self, spec.name) for spec in fields(Decoding) if spec.name != "stop"}
        ).validate()


def _fail(message: str) -> dg.Failure:
    return dg.Failure(description=message, allow_retries=False)


# -- inputs -----------------------------------------------------------------------------------------------------


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


def _stamps(config: EvaluationConfig, base_model: str, adapter_dir: str) -> dict[str, ModelStamp]:
    if config.backend == "openai":
        return {
            BASE: ModelStamp(config.openai_base_model or base_model, None, "openai"),
            FINE_TUNED: ModelStamp(config.openai_fine_tuned_model, adapter_dir, "openai"),
        }
    return {BASE: ModelStamp(base_model, None, "hf"), FINE_TUNED: ModelStamp(base_model, adapter_dir, "hf")}


# -- steps ------------------------------------------------------------------------------------------------------


@dataclass
class Judge:
    """The Zig engine (a fresh one per event loop), the verdict cache and what checking cost."""

    zig: ZigEngine
    cache: ContentCache
    stats: CheckStats
    name: str = ""
    version: str = ""

    def run(self, work: Any) -> Any:
        """``work(engine)`` in one event loop, the engine closed after; engine failures fail the run."""

        async def main() -> Any:
            engine = self.zig.create_engine()
            self.name = engine.name
            try:
                self.version = await engine.version()
                return await work(engine)
            finally:
                await engine.close()

        try:
            return asyncio.run(main())
        except (CodapiError, SandboxError) as error:
            raise _fail(str(error)) from None


def select_tasks(
    context: dg.AssetExecutionContext, config: EvaluationConfig, eval_rows: pl.DataFrame | None, judge: Judge
) -> SuiteSelection:
    """The configured suites, sampled, and verified where configured; every dropped task counted."""
    try:
        selection = load_suites(config.suites, eval_rows)
    except SuiteError as error:
        raise _fail(str(error)) from None
    sample_tasks(selection, config.max_tasks_per_suite, config.task_seed)

    async def verify(engine: Any) -> None:
        for suite in selection.suites:
            if suite.name in config.verify_suites and suite.tasks:
                selection.dropped.update(await verify_tasks(suite, engine, judge.cache, judge.stats, context.log.info))

    judge.run(verify)
    counts = {suite.name: len(suite.tasks) for suite in selection.suites}
    context.log.info(f"tasks per suite: {counts}; dropped: {dict(selection.dropped)}")
    return selection


def generate(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    training: TrainingExecutor,
    stamps: dict[str, ModelStamp],
    prompts: list[Prompt],
    decoding: Decoding,
) -> tuple[list[Completion], GenerationStats, float]:
    """Every prompt answered by both models: in the hf worker (returns its peak VRAM too) or by the server."""
    if not prompts:
        return [], GenerationStats(), 0.0
    if config.backend == "openai":
        backend = OpenAIBackend(
            config.openai_base_url,
            os.environ.get(config.openai_api_key_env) or "none",
            concurrency=config.openai_concurrency,
            cache=ContentCache(settings.data_dir() / "cache" / "llm"),
            log=context.log.info,
        )
        try:
            completions, stats = backend.generate(stamps, prompts, decoding)
        except GenerationError as error:
            raise _fail(str(error)) from None
        return completions, stats, 0.0
    output = settings.data_dir() / "evaluation" / context.run.run_id[:8] / "completions.json"
    params = {
        "adapter_dir": stamps[FINE_TUNED].adapter,
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


def judge_completions(
    context: dg.AssetExecutionContext,
    judge: Judge,
    suites: list[Suite],
    completions: list[Completion],
    stamps: dict[str, ModelStamp],
    marks: Marks,
    decoding: Decoding,
) -> pl.DataFrame:
    jobs = completion_jobs(suites, completions)
    results = judge.run(lambda engine: run_checks(jobs, engine, judge.cache, judge.stats, context.log.info))
    return score_completions(suites, completions, results, stamps, marks, decoding, judge.version, judge.name)


def track(
    context: dg.AssetExecutionContext,
    training: TrainingExecutor,
    lora: dict[str, Any],
    params: dict[str, Any],
    results: pl.DataFrame,
    summary: EvaluationSummary,
    report_md: str,
    chart: bytes,
) -> dict[str, str]:
    """The evaluation as an MLflow run under the training run (which gets the headline pass@1 too)."""
    differences = {suite: row["difference"] for suite, row in summary.per_suite().items()}
    headline = {
        f"{suite}.{role}.pass_at_1": float(row[role])  # type: ignore[arg-type]
        for suite, row in summary.per_suite().items()
        for role in ROLES
        if row.get(role) is not None
    }
    return log_evaluation(
        training.mlflow_tracking_uri or default_tracking_uri(settings.data_dir()),
        lora.get("mlflow_run_id"),
        f"model_evaluation-{context.run.run_id[:8]}",
        params,
        summary.summary,
        results,
        experiment_name=training.mlflow_experiment,
        artifact_location=None if training.mlflow_tracking_uri else str(settings.data_dir() / "mlflow" / "artifacts"),
        differences=differences,  # type: ignore[arg-type]
        headline=headline,
        report_md=report_md,
        chart_png=chart,
    )


def metadata(
    config: EvaluationConfig,
    results: pl.DataFrame,
    selection: SuiteSelection,
    summary: EvaluationSummary,
    report_md: str,
    chart: bytes,
) -> dict[str, Any]:
    """What a person reads in the UI: the headline of the first suite, per-suite numbers, tables, the chart."""
    first = selection.suites[0].name if selection.suites else ""
    per_suite = summary.per_suite()
    difference = (per_suite.get(first) or {}).get("difference") or {}
    verdicts = results.group_by("role", "verdict").len().sort("role", "verdict")
    return {
        "tasks": sum(len(suite.tasks) for suite in selection.suites),
        "tasks_by_suite": dg.MetadataValue.json({suite.name: len(suite.tasks) for suite in selection.suites}),
        "seen_tasks": dg.MetadataValue.json(
            dict(Counter(results.filter(pl.col("seen") & (pl.col("role") == BASE))["suite"]))
        ),
        "samples": results.height,
        "dropped_tasks": dg.MetadataValue.json(dict(selection.dropped)),
        "headline": f"pass@1 on {summary.headline} tasks of {first}",
        "base_pass_at_1": summary.headline_rate(first, BASE),
        "fine_tuned_pass_at_1": summary.headline_rate(first, FINE_TUNED),
        "difference_pass_at_1": difference.get("difference"),
        "difference_low": difference.get("low"),
        "difference_high": difference.get("high"),
        "base_compile_rate": summary.headline_rate(first, BASE, "compile_rate"),
        "fine_tuned_compile_rate": summary.headline_rate(first, FINE_TUNED, "compile_rate"),
        "pass_at_1_by_suite": dg.MetadataValue.json(per_suite),
        "report": dg.MetadataValue.md(report_md),
        "per_category": dg.MetadataValue.md(category_table(summary.categories)),
        "chart": dg.MetadataValue.md(markdown_image(chart, "pass@1 per suite and category")),
        "per_task": dg.MetadataValue.md(task_table(results, config.task_rows)),
        "sample_failures": dg.MetadataValue.md(failure_samples(results, config.failure_rows)),
        "verdicts": dg.MetadataValue.json({f"{role}:{verdict}": n for role, verdict, n in verdicts.iter_rows()}),
    }


# -- the asset --------------------------------------------------------------------------------------------------


@dg.asset(group_name="evaluation", kinds={"pytorch", "mlflow", "zig"}, code_version=CODE_VERSION)
def model_evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    lora_model: pl.DataFrame,
    chatml_dataset: pl.DataFrame,
    training: TrainingExecutor,
    zig: ZigEngine,
) -> dg.Output[pl.DataFrame]:
    """Base vs fine-tuned on the configured task suites: compile rate, pass@1 (pass@k when sampling), the
    difference with a bootstrap interval, per category, seen and unseen tasks apart; one row per sample,
    stamped with model, adapter, decoding, Zig version and engine."""
    started = time.monotonic()
    if not lora_model.height:
        raise _fail("lora_model is empty: materialize lora_model first")
    lora = lora_model.row(0, named=True)
    try:
        decoding = config.decoding()
    except DecodingError as error:
        raise _fail(str(error)) from None
    splits = _dataset_paths(chatml_dataset)
    train_rows, eval_rows = _read(splits.get("train")), _read(splits.get("eval"))
    judge = Judge(zig, ContentCache(settings.data_dir() / "cache" / "verdicts"), CheckStats())

    selection = select_tasks(context, config, eval_rows, judge)
    marks = contamination_marks(selection.suites, training_texts(train_rows))
    stamps = _stamps(config, str(lora["base_model"]), str(lora["adapter_dir"]))
    prompts = prompts_of(selection.suites, system_turns(train_rows))
    completions, generation, peak_vram = generate(context, config, training, stamps, prompts, decoding)
    results = judge_completions(context, judge, selection.suites, completions, stamps, marks, decoding)

    summary = summarise(results, usable_ks(results, tuple(config.pass_at_k)), config.bootstrap_resamples)
    report_md = suite_tables(summary.summary, summary.headline, summary.differences)
    chart = chart_png(summary.summary, summary.categories, summary.headline)
    params = {
        "backend": config.backend,
        "base_model": stamps[BASE].model,
        "fine_tuned_model": stamps[FINE_TUNED].model,
        "adapter_dir": str(lora["adapter_dir"]),
        **{f"decoding.{k}": v for k, v in decoding.as_dict().items()},
        "engine": judge.name,
        "zig_version": judge.version,
        "suites": ",".join(suite.name for suite in selection.suites),
        "tasks": sum(len(suite.tasks) for suite in selection.suites),
    }
    mlflow_run = track(context, training, lora, params, results, summary, report_md, chart)
    values = {
        **metadata(config, results, selection, summary, report_md, chart),
        **{k: params[k] for k in ("backend", "base_model", "fine_tuned_model", "zig_version", "engine")},
        "adapter_dir": dg.MetadataValue.path(str(lora["adapter_dir"])),
        "decoding": dg.MetadataValue.json(decoding.as_dict()),
        "compiled": judge.stats.compiled,
        "verdicts_from_cache": judge.stats.cached,
        "generation": dg.MetadataValue.json(generation.as_dict()),
        "peak_vram_gib": peak_vram,
        "mlflow_run_id": mlflow_run["run_id"],
        "mlflow_tracking_uri": mlflow_run["tracking_uri"],
        "wall_seconds": round(time.monotonic() - started, 2),
    }
    context.log.info(
        f"{values['headline']}: base {values['base_pass_at_1']} vs fine-tuned {values['fine_tuned_pass_at_1']} "
        f"({results.height} samples)"
    )
    return dg.Output(results, metadata={k: v for k, v in values.items() if v is not None})


@dg.asset_check(
    asset=model_evaluation,
    blocking=True,
    description="The evaluation actually ran tasks: both models answered and the engine judged their code.",
)
def evaluation_ran_tasks(model_evaluation: pl.DataFrame) -> dg.AssetCheckResult:
    judged = model_evaluation.filter(pl.col("verdict") != "sandbox_error")
    per_role = {role: judged.filter(pl.col("role") == role).select("suite", "task_id").n_unique() for role in ROLES}
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
    description="On every suite with unseen tasks, the fine-tuned model's headline pass@1 is at least the base's.",
)
def fine_tuned_not_worse(model_evaluation: pl.DataFrame) -> dg.AssetCheckResult:
    summary = summarise(model_evaluation, (1,), resamples=200) if model_evaluation.height else None
    per_suite = summary.per_suite() if summary else {}
    compared = {suite: row for suite, row in per_suite.items() if row[BASE] is not None and row[FINE_TUNED] is not None}
    worse = [suite for suite, row in compared.items() if row[FINE_TUNED] < row[BASE]]  # type: ignore[operator]
    passed = bool(compared) and not worse
    lines = [f"{suite}: fine-tuned {row[FINE_TUNED]} vs base {row[BASE]}" for suite, row in per_suite.items()]
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=("; ".join(lines) or "nothing was evaluated") + (f" — worse on {worse}" if worse else ""),
        metadata={"pass_at_1_by_suite": dg.MetadataValue.json(per_suite)},
    )

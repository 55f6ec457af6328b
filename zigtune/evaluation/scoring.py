"""From completions to verdicts and rates: compile, run, correct output, pass@1 and pass@k. No dagster here.

A sample is one completion of one task by one model. Its code is found by the one extraction function
(``code_extraction.extract_zig_code``, as the validation stage does) and checked by the Zig engine in the mode
``check_mode`` picks. Per sample:

- ``has_code``: a Zig program was found (its absence is the "no code" rate);
- ``compiled``: the compiler accepted it (every verdict but compile_error, a compile timeout, no_code);
- ``ran``: the check ended ok — the program exited 0, its tests passed, or (declarations only) it compiled;
- ``output_correct``: for tasks with an expected output, the program ran (``pub fn main``) and printed it;
  ``None`` for tasks without one;
- ``passed``: ran, and printed the expected output when there is one. pass@1 is the mean over tasks of the
  share of passing samples; pass@k uses the unbiased estimator of Chen et al. (2021), "Evaluating Large
  Language Models Trained on Code": 1 - C(n-c, k) / C(n, k) for n samples of which c pass.

Samples whose check failed in the engine (``sandbox_error``: the engine's fault, not the model's) are kept
and counted but left out of every rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from zigtune.evaluation.decoding import Decoding
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats, Engine, cap_output, check_codes
from zigtune.validation.code_extraction import check_mode, extract_zig_code
from zigtune.validation.verdicts import ExecResult, Verdict, output_matches

BASE = "base"
FINE_TUNED = "fine_tuned"
ROLES = (BASE, FINE_TUNED)
ALL_SOURCES = "all"

#: One row per sample: the task, who answered and how it was asked, what it wrote, and what the engine said.
EVALUATION_SCHEMA = pl.Schema(
    {
        "task_id": pl.Utf8,
        "source": pl.Utf8,
        "section_id": pl.Utf8,
        "breadcrumb": pl.Utf8,
        "seen_in_training": pl.Boolean,
        "role": pl.Utf8,
        "sample": pl.Int64,
        "model": pl.Utf8,
        "adapter": pl.Utf8,
        "backend": pl.Utf8,
        "temperature": pl.Float64,
        "top_p": pl.Float64,
        "max_new_tokens": pl.Int64,
        "num_samples": pl.Int64,
        "seed": pl.Int64,
        "completion": pl.Utf8,
        "finish_reason": pl.Utf8,
        "code": pl.Utf8,
        "has_code": pl.Boolean,
        "check_mode": pl.Utf8,
        "verdict": pl.Utf8,
        "compiled": pl.Boolean,
        "ran": pl.Boolean,
        "expected_output": pl.Utf8,
        "output_correct": pl.Boolean,
        "passed": pl.Boolean,
        "stdout": pl.Utf8,
        "stderr": pl.Utf8,
        "duration_ms": pl.Float64,
        "zig_version": pl.Utf8,
        "engine": pl.Utf8,
    }
)

NOT_COMPILED = {Verdict.COMPILE_ERROR, Verdict.NO_CODE, Verdict.SANDBOX_ERROR, Verdict.UNCHECKED}
COMPILE_TIMEOUT_MARK = "[compile timed out]"


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k from ``n`` samples of which ``c`` passed (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


@dataclass(frozen=True)
class Completion:
    """One generated reply: which task, which model role, which sample, and why generation stopped."""

    task_id: str
    role: str
    sample: int
    text: str
    finish_reason: str = "stop"  # "length": cut by max_new_tokens


@dataclass(frozen=True)
class ModelStamp:
    """Who answered: stamped on every row of that role."""

    model: str
    adapter: str | None
    backend: str


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    compiled: bool
    ran: bool
    output_correct: bool | None
    passed: bool


def judge(code: str | None, mode: str | None, expected: str | None, result: ExecResult | None) -> Judgement:
    """One sample's verdict and flags from its code, check mode, expected output and the engine's result."""
    if code is None or result is None:
        return Judgement(Verdict.NO_CODE, False, False, False if expected is not None else None, False)
    verdict = result.verdict
    compiled = verdict not in NOT_COMPILED and not (
        verdict is Verdict.TIMEOUT and COMPILE_TIMEOUT_MARK in result.stderr
    )
    ran = verdict is Verdict.OK
    output_correct = None
    if expected is not None:
        output_correct = ran and mode == "run" and output_matches(expected, result.stdout, result.stderr)
        if ran and not output_correct:
            verdict = Verdict.WRONG_OUTPUT
    return Judgement(verdict, compiled, ran, output_correct, ran and output_correct is not False)


async def check_completions(
    completions: list[Completion], engine: Engine, cache: ContentCache | None, stats: CheckStats
) -> dict[tuple[str, str], ExecResult]:
    """Check the code of every completion once per distinct (code, mode), through the verdict cache."""
    jobs = []
    for completion in completions:
        code = extract_zig_code(completion.text)
        if code is not None:
            jobs.append((code, check_mode(code)))
    return await check_codes(engine, jobs, cache, stats) if jobs else {}


def score_completions(
    tasks: pl.DataFrame,
    completions: list[Completion],
    results: dict[tuple[str, str], ExecResult],
    stamps: dict[str, ModelStamp],
    decoding: Decoding,
    zig_version: str,
    engine_name: str,
) -> pl.DataFrame:
    """The evaluation table (``EVALUATION_SCHEMA``): one row per completion, in task order."""
    by_id = {row["task_id"]: row for row in tasks.iter_rows(named=True)}
    order = {task_id: index for index, task_id in enumerate(by_id)}
    rows = []
    for completion in sorted(completions, key=lambda c: (ROLES.index(c.role), order[c.task_id], c.sample)):
        task, stamp = by_id[completion.task_id], stamps[completion.role]
        code = extract_zig_code(completion.text)
        mode = check_mode(code) if code is not None else None
        result = results.get((code, mode)) if code is not None and mode is not None else None
        judgement = judge(code, mode, task["expected_output"], result)
        rows.append(
            {
                "task_id": completion.task_id,
                "source": task["source"],
                "section_id": task["section_id"],
                "breadcrumb": task["breadcrumb"],
                "seen_in_training": task["seen_in_training"],
                "role": completion.role,
                "sample": completion.sample,
                "model": stamp.model,
                "adapter": stamp.adapter,
                "backend": stamp.backend,
                "temperature": decoding.temperature,
                "top_p": decoding.top_p,
                "max_new_tokens": decoding.max_new_tokens,
                "num_samples": decoding.num_samples,
                "seed": decoding.seed,
                "completion": completion.text,
                "finish_reason": completion.finish_reason,
                "code": code,
                "has_code": code is not None,
                "check_mode": mode,
                "verdict": judgement.verdict.value,
                "compiled": judgement.compiled,
                "ran": judgement.ran,
                "expected_output": task["expected_output"],
                "output_correct": judgement.output_correct,
                "passed": judgement.passed,
                "stdout": cap_output(result.stdout) if result else "",
                "stderr": cap_output(result.stderr) if result else "",
                "duration_ms": result.duration_ms if result else 0.0,
                "zig_version": result.zig_version if result else zig_version,
                "engine": result.engine if result else engine_name,
            }
        )
    return pl.DataFrame(rows, schema=EVALUATION_SCHEMA)


def _rate(frame: pl.DataFrame, column: str) -> float | None:
    values = frame[column].drop_nulls()
    return round(float(values.cast(pl.Float64).mean()), 4) if values.len() else None  # type: ignore[arg-type]


def summarize(results: pl.DataFrame, ks: tuple[int, ...] = (1,)) -> pl.DataFrame:
    """Rates per (role, source), plus ``all`` sources: one row each, roles in order, sources as listed.

    ``pass_at_<k>`` columns are there for every ``k`` in ``ks`` no larger than the samples per task.
    """
    rows = []
    scored = results.filter(pl.col("verdict") != Verdict.SANDBOX_ERROR.value)
    for role in ROLES:
        of_role = scored.filter(pl.col("role") == role)
        sources = [*sorted(set(of_role["source"])), ALL_SOURCES]
        for source in sources:
            part = of_role if source == ALL_SOURCES else of_role.filter(pl.col("source") == source)
            per_task = part.group_by("task_id").agg(n=pl.len(), c=pl.col("passed").sum())
            row: dict[str, Any] = {
                "role": role,
                "source": source,
                "tasks": per_task.height,
                "samples": part.height,
                "no_code_rate": round(1 - _rate(part, "has_code"), 4) if part.height else None,  # type: ignore[operator]
                "compile_rate": _rate(part, "compiled"),
                "run_rate": _rate(part, "ran"),
                "correct_output_rate": _rate(part, "output_correct"),
                "truncated_rate": _rate(part.with_columns(cut=pl.col("finish_reason") == "length"), "cut"),
            }
            for k in ks:
                estimates = [pass_at_k(n, c, k) for n, c in per_task.select("n", "c").iter_rows() if k <= n]
                row[f"pass_at_{k}"] = round(sum(estimates) / len(estimates), 4) if estimates else None
            rows.append(row)
    sandbox_errors = results.filter(pl.col("verdict") == Verdict.SANDBOX_ERROR.value).height
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    return frame.with_columns(sandbox_errors=pl.lit(sandbox_errors)) if rows else frame


async def verified_gold(
    tasks: pl.DataFrame, engine: Engine, cache: ContentCache | None, stats: CheckStats
) -> tuple[pl.DataFrame, int]:
    """Keep the gold tasks whose own reference code prints the published output with this engine.

    A task the reference's own program cannot pass (output that depends on the machine, a missing
    feature) would count against every model; it is dropped and counted instead.
    """
    gold = tasks.filter(pl.col("source") == "gold")
    if not gold.height:
        return tasks, 0
    jobs = [(code, check_mode(code)) for code in gold["reference_code"]]
    results = await check_codes(engine, jobs, cache, stats)
    unsolvable = set()
    for row, job in zip(gold.iter_rows(named=True), jobs, strict=True):
        if not judge(job[0], job[1], row["expected_output"], results[job]).passed:
            unsolvable.add(row["task_id"])
    return tasks.filter(~pl.col("task_id").is_in(list(unsolvable))), len(unsolvable)

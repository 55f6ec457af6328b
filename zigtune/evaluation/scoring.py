"""From completions to a table of judged samples, and from that table to rates. No dagster here.

A sample is one completion of one task of one suite by one model (a *role*: ``base``, ``fine_tuned``, or
whatever the caller names it). Its solution is judged by ``judging``. Rates, per suite × role and subset
(``all``; ``unseen`` and ``seen`` when contamination was checked):

- ``compile_rate``: share of samples whose files (solution + hidden tests) compiled together;
- ``pass_at_1``: mean over tasks of the share of passing samples; ``pass_at_<k>``: the unbiased estimator of
  Chen et al. (2021), "Evaluating Large Language Models Trained on Code": 1 - C(n-c, k) / C(n, k) for n samples
  of which c pass, averaged over tasks, reported when every task has at least k samples;
- ``no_code_rate``, ``truncated_rate`` (replies cut by the token limit).

Samples whose check could not run (``sandbox_error``: the engine said so through a channel the code under check
cannot write) stay in every rate as failures of the run, and each summary row counts them (``sandbox_errors``):
leaving them out would let the denominator shrink with the engine's trouble, or with a cheat's.
The headline is pass@1 on ``unseen`` tasks (``all`` when contamination was not checked); ``paired_difference``
gives fine-tuned − base on those tasks with a bootstrap interval that resamples independent sources
(``source_unit``): tasks made from one part of one source (one docs section) are resampled together, so an
interval is never narrower than the number of independent sources allows.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from zigtune.evaluation.contamination import SharedSpan
from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.judging import check_job, judge, solution_from_completion

# Re-exported: the plain data of a sample lives in ``samples`` (no polars, for the GPU side).
from zigtune.evaluation.samples import BASE as BASE
from zigtune.evaluation.samples import FINE_TUNED as FINE_TUNED
from zigtune.evaluation.samples import ROLES as ROLES
from zigtune.evaluation.samples import Completion as Completion
from zigtune.evaluation.samples import ModelStamp as ModelStamp
from zigtune.evaluation.samples import prompt_key as prompt_key
from zigtune.evaluation.suite import Suite, SuiteTask
from zigtune.validation.checking import RUN_COLUMNS, CheckJob, cap_output
from zigtune.validation.verdicts import ExecResult, Verdict

ALL, UNSEEN, SEEN = "all", "unseen", "seen"
DEFAULT_KS = (1, 5, 10)

#: One row per sample: the task, who answered and how it was asked, what it wrote, and what the engine said.
EVALUATION_SCHEMA = pl.Schema(
    {
        "suite": pl.Utf8,
        "task_id": pl.Utf8,
        "category": pl.Utf8,
        "source_unit": pl.Utf8,  # what the bootstrap resamples: the task, or the part of a source it was made from
        "seen": pl.Boolean,  # null: contamination not checked
        "seen_span": pl.Utf8,
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
        "check_kind": pl.Utf8,
        "verdict": pl.Utf8,
        "compiled": pl.Boolean,
        "passed": pl.Boolean,
        **RUN_COLUMNS,
    }
)


#: In a task's ``source``, what follows this names the part of the source it was made from (``eval_split#<section>``).
SOURCE_PART = "#"


def source_unit(task: SuiteTask) -> str:
    """The independent source a task belongs to: its ``source`` when that names a part (``origin#part``: tasks
    made from one docs section are not independent), else the task itself."""
    if task.source and SOURCE_PART in task.source:
        return task.source
    return f"task {task.id}"


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k from ``n`` samples of which ``c`` passed (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


Marks = dict[tuple[str, str], SharedSpan | None]


def _tasks_by_key(suites: list[Suite]) -> dict[str, tuple[Suite, Any]]:
    return {prompt_key(suite.name, task.id): (suite, task) for suite in suites for task in suite.tasks}


def completion_jobs(suites: list[Suite], completions: list[Completion]) -> list[CheckJob]:
    """The engine's jobs for every completion that has a solution."""
    tasks = _tasks_by_key(suites)
    jobs = []
    for completion in completions:
        solution = solution_from_completion(completion.text)
        if solution is not None:
            jobs.append(check_job(tasks[completion.task_id][1], solution))
    return jobs


def score_completions(
    suites: list[Suite],
    completions: list[Completion],
    results: dict[CheckJob, ExecResult],
    stamps: dict[str, ModelStamp],
    marks: Marks | None,
    decoding: Decoding | None,
    zig_version: str,
    engine_name: str,
) -> pl.DataFrame:
    """The evaluation table (``EVALUATION_SCHEMA``): one row per completion, by role, suite and task order."""
    tasks = _tasks_by_key(suites)
    order = {key: index for index, key in enumerate(tasks)}
    roles = list(stamps)
    rows = []
    for completion in sorted(completions, key=lambda c: (roles.index(c.role), order[c.task_id], c.sample)):
        suite, task = tasks[completion.task_id]
        stamp = stamps[completion.role]
        solution = solution_from_completion(completion.text)
        result = results.get(check_job(task, solution)) if solution is not None else None
        judgement = judge(task, solution, result)
        mark = marks.get((suite.name, task.id)) if marks is not None else None
        rows.append(
            {
                "suite": suite.name,
                "task_id": task.id,
                "category": task.category_name,
                "source_unit": source_unit(task),
                "seen": (mark is not None) if marks is not None else None,
                "seen_span": mark.text if mark else None,
                "role": completion.role,
                "sample": completion.sample,
                "model": stamp.model,
                "adapter": stamp.adapter,
                "backend": stamp.backend,
                **_decoding_columns(decoding),
                "completion": completion.text,
                "finish_reason": completion.finish_reason,
                "code": solution,
                "has_code": solution is not None,
                "check_kind": task.check.kind,
                "verdict": judgement.verdict.value,
                "compiled": judgement.compiled,
                "passed": judgement.passed,
                "stdout": cap_output(result.stdout) if result else "",
                "stderr": cap_output(result.stderr) if result else "",
                "duration_ms": result.duration_ms if result else 0.0,
                "zig_version": result.zig_version if result else zig_version,
                "engine": result.engine if result else engine_name,
            }
        )
    return pl.DataFrame(rows, schema=EVALUATION_SCHEMA)


def _decoding_columns(decoding: Decoding | None) -> dict[str, Any]:
    if decoding is None:
        return dict.fromkeys(("temperature", "top_p", "max_new_tokens", "num_samples", "seed"))
    return {
        "temperature": decoding.temperature,
        "top_p": decoding.top_p,
        "max_new_tokens": decoding.max_new_tokens,
        "num_samples": decoding.num_samples,
        "seed": decoding.seed,
    }


# -- rates ------------------------------------------------------------------------------------------------------


def judged(results: pl.DataFrame) -> pl.DataFrame:
    """The samples that count: every one. A check that could not run (``sandbox_error``) is a failed sample."""
    return results


def engine_errors(results: pl.DataFrame) -> int:
    """How many samples' checks could not run (``sandbox_error``): counted as failures, and reported."""
    return results.filter(pl.col("verdict") == Verdict.SANDBOX_ERROR.value).height if results.height else 0


def contamination_checked(results: pl.DataFrame) -> bool:
    return results.height > 0 and results["seen"].null_count() == 0


def headline_subset(results: pl.DataFrame) -> str:
    """``unseen`` when contamination was checked, else ``all``."""
    return UNSEEN if contamination_checked(results) else ALL


def subset_of(results: pl.DataFrame, subset: str) -> pl.DataFrame:
    if subset == UNSEEN:
        return results.filter(~pl.col("seen"))
    if subset == SEEN:
        return results.filter(pl.col("seen"))
    return results


def _rate(frame: pl.DataFrame, column: str) -> float | None:
    values = frame[column].drop_nulls()
    return round(float(values.cast(pl.Float64).mean()), 4) if values.len() else None  # type: ignore[arg-type]


def per_task(frame: pl.DataFrame) -> pl.DataFrame:
    """``n`` samples and ``c`` passes per (suite, role, task)."""
    return frame.group_by("suite", "role", "task_id", maintain_order=True).agg(
        n=pl.len(), c=pl.col("passed").sum(), category=pl.col("category").first()
    )


def usable_ks(results: pl.DataFrame, ks: tuple[int, ...] = DEFAULT_KS) -> tuple[int, ...]:
    """The k of pass@k every task has enough samples for (always 1)."""
    counts = per_task(judged(results))
    fewest = int(counts["n"].min()) if counts.height else 1  # type: ignore[arg-type]
    return tuple(sorted({1, *(k for k in ks if 1 <= k <= fewest)}))


def rates(frame: pl.DataFrame, ks: tuple[int, ...]) -> dict[str, Any]:
    """The rates of one group of judged samples."""
    counts = per_task(frame)
    row: dict[str, Any] = {
        "tasks": counts.height,
        "samples": frame.height,
        "compile_rate": _rate(frame, "compiled"),
    }
    for k in ks:
        estimates = [pass_at_k(n, c, k) for n, c in counts.select("n", "c").iter_rows() if k <= n]
        row[f"pass_at_{k}"] = round(sum(estimates) / len(estimates), 4) if estimates else None
    row["no_code_rate"] = round(1 - _rate(frame, "has_code"), 4) if frame.height else None  # type: ignore[operator]
    row["truncated_rate"] = _rate(frame.with_columns(cut=pl.col("finish_reason") == "length"), "cut")
    return row


def summarize(results: pl.DataFrame, ks: tuple[int, ...] | None = None) -> pl.DataFrame:
    """One row per (suite, role, subset): ``all``, and ``unseen``/``seen`` when contamination was checked."""
    ks = ks or usable_ks(results)
    subsets = (ALL, UNSEEN, SEEN) if contamination_checked(results) else (ALL,)
    scored = judged(results)
    rows = []
    for (suite, role), group in scored.group_by("suite", "role", maintain_order=True):
        for subset in subsets:
            part = subset_of(group, subset)
            row = {"suite": suite, "role": role, "subset": subset, **rates(part, ks)}
            rows.append(row | {"sandbox_errors": engine_errors(part)})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def category_summary(results: pl.DataFrame, ks: tuple[int, ...] = (1,)) -> pl.DataFrame:
    """Per (suite, role, category), on the headline subset: tasks, compile rate, pass@k for each of ``ks``."""
    part = subset_of(judged(results), headline_subset(results))
    rows = []
    for (suite, role, category), group in part.group_by("suite", "role", "category", maintain_order=True):
        summary = rates(group, ks)
        passes = {f"pass_at_{k}": summary[f"pass_at_{k}"] for k in ks}
        head = {"suite": suite, "role": role, "category": category, "tasks": summary["tasks"]}
        rows.append({**head, "compile_rate": summary["compile_rate"], **passes})
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    return frame.sort("suite", "category", "role") if rows else frame


@dataclass(frozen=True)
class Difference:
    """Fine-tuned − base pass@1 on the tasks both answered, with a paired bootstrap interval that resamples the
    tasks' independent sources (``sources`` of them; as many as ``tasks`` when every task is its own)."""

    tasks: int
    difference: float
    low: float
    high: float
    confidence: float
    sources: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def paired_difference(
    results: pl.DataFrame,
    suite: str,
    subset: str,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Difference | None:
    """A cluster bootstrap (``resamples`` times, seeded): the independent sources (``source_unit``; each task its
    own when the column is absent) resampled with replacement, and in each resample the mean over its tasks of
    each task's share of passing samples, fine-tuned minus base; the interval is the percentile interval."""
    part = subset_of(judged(results.filter(pl.col("suite") == suite)), subset)
    if "source_unit" not in part.columns:
        part = part.with_columns(source_unit=pl.col("task_id"))
    counts = per_task(part).with_columns(rate=pl.col("c") / pl.col("n"))
    units = dict(
        part.select("task_id", pl.col("source_unit").fill_null(pl.col("task_id"))).unique("task_id").iter_rows()
    )
    wide = counts.pivot(on="role", index="task_id", values="rate")
    if BASE not in wide.columns or FINE_TUNED not in wide.columns:
        return None
    paired = wide.drop_nulls([BASE, FINE_TUNED])
    deltas = dict(zip(paired["task_id"], (paired[FINE_TUNED] - paired[BASE]).to_list(), strict=True))
    if not deltas:
        return None
    clusters: dict[str, list[float]] = {}
    for task_id, delta in deltas.items():
        clusters.setdefault(units[task_id], []).append(delta)
    sums = [(sum(values), len(values)) for values in clusters.values()]
    rng = random.Random(seed)
    means = []
    for _ in range(resamples):
        chosen = rng.choices(sums, k=len(sums))
        means.append(sum(total for total, _ in chosen) / sum(count for _, count in chosen))
    means.sort()
    tail = (1 - confidence) / 2
    low = means[int(tail * (resamples - 1))]
    high = means[math.ceil((1 - tail) * (resamples - 1))]
    mean = sum(deltas.values()) / len(deltas)
    return Difference(len(deltas), round(mean, 4), round(low, 4), round(high, 4), confidence, len(clusters))

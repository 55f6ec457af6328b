"""Execution-check QA pairs and the reference's annotated examples with a Zig engine.

The engine is either the local sandbox (:mod:`zigtune.validation.sandbox`) or Codapi
(:mod:`zigtune.resources.codapi`); both answer :class:`~zigtune.validation.verdicts.ExecResult`. Verdicts are
cached by code + command + options + Zig version in the one content cache, so unchanged code is
never compiled twice, and identical code in several pairs is compiled once. No dagster here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import polars as pl

from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.storage.cache import ContentCache, cache_key
from zigtune.validation.batch import CheckJob, check_jobs
from zigtune.validation.code_extraction import check_mode, extract_zig_code
from zigtune.validation.sandbox import ZIG_VERSION, BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict, disagreement, output_matches

#: ``validated_pairs`` and ``rejected_pairs``: every ``qa_pairs`` column plus how its code was checked.
VALIDATED_PAIRS_SCHEMA = pl.Schema(
    {
        **QA_PAIRS_SCHEMA,
        "code": pl.Utf8,
        "has_code": pl.Boolean,
        "check_mode": pl.Utf8,
        "verdict": pl.Utf8,
        "passed": pl.Boolean,
        "stdout": pl.Utf8,
        "stderr": pl.Utf8,
        "duration_ms": pl.Float64,
        "zig_version": pl.Utf8,
        "engine": pl.Utf8,
    }
)

#: How each kind of annotated example in the reference is checked.
REFERENCE_MODES = {"test": "test", "exe": "run", "obj": "build-obj", "syntax": "ast-check"}

#: The canary: a fixed sample of the reference's annotated examples, one of each outcome the
#: verdicts must tell apart. An engine that disagrees with any of them is not trusted.
CANARY_EXAMPLES = (
    "hello.zig",  # exe, pass
    "testing_introduction.zig",  # test, pass
    "test_blocks.zig",  # test, compile_error "use of undeclared identifier 'x'"
    "test_basic_slices.zig",  # test, runtime_panic "index out of bounds"
    "testing_failure.zig",  # test, test_failure
    "runtime_unwrap_null.zig",  # exe, runtime_failure
)

#: Stored output columns, cut so one chatty program cannot bloat the table.
MAX_STORED_OUTPUT = 4000


class Engine(Protocol):
    """What validation needs from an engine: its name, its Zig version, and checking code."""

    name: str

    async def version(self) -> str: ...

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult: ...

    async def close(self) -> None: ...


class CanaryError(RuntimeError):
    """The engine disagrees with the reference: its verdicts cannot be trusted."""


def verdict_key(code: str, mode: str, options: BuildOptions, zig_version: str) -> str:
    return cache_key("zig-verdict/v1", code, mode, options.compiler_args(), zig_version)


@dataclass
class CheckStats:
    """What a validation run did: how many checks compiled, how many came from the cache."""

    compiled: int = 0
    cached: int = 0
    sandbox_errors: int = 0
    durations_ms: list[float] = field(default_factory=list)


async def check_codes(
    engine: Engine,
    jobs: list[tuple[str, str]],
    cache: ContentCache | None,
    stats: CheckStats,
    *,
    strategy: str = "fast",
    log: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], ExecResult]:
    """Check each distinct (code, mode) once: from the cache, or with the engine.

    What is not cached is checked by :func:`~zigtune.validation.batch.check_jobs`: with the ``fast``
    strategy (batches, the self-hosted backend) unless ``strategy="plain"``; both give the same
    verdicts. Each verdict is cached as soon as it is known; ``log`` gets progress lines.
    """
    version = await engine.version()
    options = BuildOptions()
    results: dict[tuple[str, str], ExecResult] = {}
    keys: dict[tuple[str, str], str] = {}
    for code, mode in dict.fromkeys(jobs):
        key = keys[code, mode] = verdict_key(code, mode, options, version)
        stored = cache.get(key) if cache is not None else None
        if stored is not None:
            stats.cached += 1
            results[code, mode] = ExecResult.from_dict(stored)
    todo = [job for job in keys if job not in results]

    def record(index: int, result: ExecResult) -> None:
        stats.compiled += 1
        stats.durations_ms.append(result.duration_ms)
        if result.verdict is Verdict.SANDBOX_ERROR:
            stats.sandbox_errors += 1  # the engine's fault, not the code's: ask again next run
        elif cache is not None:
            cache.put(keys[todo[index]], result.to_dict())
        results[todo[index]] = result

    if todo:
        if log is not None:
            log(f"checking {len(todo)} snippets ({stats.cached} from the cache) with the {strategy} strategy")
        checks = [CheckJob(code, mode, options) for code, mode in todo]
        await check_jobs(engine, checks, strategy=strategy, log=log, on_result=record)
    return results


def cap_output(text: str) -> str:
    """Compiler or program output as stored in a table: at most ``MAX_STORED_OUTPUT`` characters."""
    return text if len(text) <= MAX_STORED_OUTPUT else text[:MAX_STORED_OUTPUT] + "\n[... cut]"


async def validate_pairs(
    pairs: pl.DataFrame,
    engine: Engine,
    cache: ContentCache | None,
    sample_fraction: float = 1.0,
    seed: int = 0,
    *,
    strategy: str = "fast",
    log: Callable[[str], None] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, CheckStats]:
    """Split ``pairs`` into (validated, rejected) with their verdicts; see the module docstring.

    ``strategy`` and ``log`` go to :func:`check_codes` (same verdicts either way; progress lines).

    validated: pairs whose code passed, pairs without code (``no_code``) and, when
    ``sample_fraction`` < 1, code pairs left out of the sample (``unchecked``). rejected: the rest.
    """
    if not 0 < sample_fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    rows = pairs.to_dicts()
    for row in rows:
        row["code"] = extract_zig_code(row["response"])
        row["has_code"] = row["code"] is not None
        row["check_mode"] = check_mode(row["code"]) if row["has_code"] else None
    code_rows = [row for row in rows if row["has_code"]]
    sampled = code_rows
    if sample_fraction < 1:
        chosen = random.Random(seed).sample(range(len(code_rows)), k=round(len(code_rows) * sample_fraction))
        sampled = [code_rows[i] for i in sorted(chosen)]
    sampled_ids = {id(row) for row in sampled}
    stats = CheckStats()
    jobs = [(row["code"], row["check_mode"]) for row in sampled]
    results = await check_codes(engine, jobs, cache, stats, strategy=strategy, log=log) if jobs else {}
    version = next(iter(results.values())).zig_version if results else ""
    for row in rows:
        if not row["has_code"] or id(row) not in sampled_ids:
            verdict = Verdict.NO_CODE if not row["has_code"] else Verdict.UNCHECKED
            row.update(verdict=verdict.value, passed=False, stdout="", stderr="", duration_ms=0.0)
            row.update(zig_version=version, engine=engine.name)
            continue
        result = results[row["code"], row["check_mode"]]
        verdict = result.verdict
        expected = row.get("expected_output")
        ran = verdict is Verdict.OK and row["check_mode"] == "run"
        if ran and expected is not None and not output_matches(expected, result.stdout, result.stderr):
            verdict = Verdict.WRONG_OUTPUT
        row.update(
            verdict=verdict.value,
            passed=verdict is Verdict.OK,
            stdout=cap_output(result.stdout),
            stderr=cap_output(result.stderr),
            duration_ms=result.duration_ms,
            zig_version=result.zig_version,
            engine=result.engine,
        )
    frame = pl.DataFrame(rows, schema=VALIDATED_PAIRS_SCHEMA) if rows else pl.DataFrame(schema=VALIDATED_PAIRS_SCHEMA)
    keep = pl.col("passed") | pl.col("verdict").is_in([Verdict.NO_CODE.value, Verdict.UNCHECKED.value])
    return frame.filter(keep), frame.filter(~keep), stats


def validation_summary(frame: pl.DataFrame, stats: CheckStats) -> dict[str, Any]:
    """Numbers a person wants after a run: pass rates by kind and generator, verdicts, timings."""
    checked = frame.filter(pl.col("has_code") & (pl.col("verdict") != Verdict.UNCHECKED.value))

    def rates(column: str) -> dict[str, float]:
        grouped = checked.group_by(column).agg(pl.col("passed").mean()).sort(column)
        return {str(k): round(float(v), 4) for k, v in grouped.iter_rows()}

    durations = sorted(stats.durations_ms)

    def percentile(q: float) -> float:
        return round(durations[min(len(durations) - 1, int(q * len(durations)))], 1) if durations else 0.0

    counts = frame.group_by("verdict").len().sort("len", descending=True)
    return {
        "pairs": frame.height,
        "with_code": int(frame["has_code"].sum()) if frame.height else 0,
        "checked": checked.height,
        "pass_rate": round(float(checked["passed"].mean()), 4) if checked.height else 0.0,
        "pass_rate_by_kind": rates("kind"),
        "pass_rate_by_generator": rates("generator"),
        "verdicts": {str(k): int(v) for k, v in counts.iter_rows()},
        "compiled": stats.compiled,
        "cached": stats.cached,
        "sandbox_errors": stats.sandbox_errors,
        "check_ms_p50": percentile(0.5),
        "check_ms_p95": percentile(0.95),
    }


async def check_examples(engine: Engine, examples: pl.DataFrame, *, strategy: str = "fast") -> pl.DataFrame:
    """Run the engine over annotated reference examples (uncached) and say where it disagrees."""
    examples_list = examples.to_dicts()
    jobs = [
        CheckJob(
            example["code"],
            REFERENCE_MODES[example["kind"]],
            replace(BuildOptions.from_annotation(example["options"] or ""), file_name=example["name"]),
        )
        for example in examples_list
    ]
    results = await check_jobs(engine, jobs, strategy=strategy) if jobs else []
    rows = []
    for example, job, result in zip(examples_list, jobs, results, strict=True):
        reason = disagreement(example["expect"], example["error_text"], result)
        rows.append(
            {
                "name": example["name"],
                "kind": example["kind"],
                "expect": example["expect"],
                "mode": job.mode,
                "options": example["options"] or "",
                "verdict": result.verdict.value,
                "agrees": reason is None,
                "reason": reason or "",
                "duration_ms": result.duration_ms,
                "zig_version": result.zig_version,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"duration_ms": pl.Float64})


def canary_examples(examples: pl.DataFrame) -> pl.DataFrame:
    """The canary's fixed sample; a reference without all of them is an error, not a smaller canary."""
    chosen = examples.filter(pl.col("name").is_in(CANARY_EXAMPLES)).unique("name", keep="first", maintain_order=True)
    missing = sorted(set(CANARY_EXAMPLES) - set(chosen["name"]))
    if missing:
        raise CanaryError(f"the reference lacks the canary examples {missing}: is this the Zig 0.14.0 reference?")
    return chosen


@dataclass
class CanaryReport:
    """The canary's verdicts and, when the engine is not to be trusted, why."""

    zig_version: str
    examples: pl.DataFrame
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems

    def message(self, engine_name: str) -> str:
        if self.passed:
            return (
                f"the {engine_name} engine runs Zig {self.zig_version} and agrees with {self.examples.height} examples"
            )
        return f"the {engine_name} Zig engine disagrees with the reference: " + "; ".join(self.problems)


async def run_canary(engine: Engine, examples: pl.DataFrame, *, strategy: str = "fast") -> CanaryReport:
    """Check the canary sample (uncached: it tests the engine, not the code) and the Zig version,
    the way validation will check (``strategy``)."""
    version = await engine.version()
    report = await check_examples(engine, canary_examples(examples), strategy=strategy)
    problems = [f"{row['name']}: {row['reason']}" for row in report.filter(~pl.col("agrees")).iter_rows(named=True)]
    if version != ZIG_VERSION:
        problems.insert(0, f"the {engine.name} engine runs Zig {version}, not {ZIG_VERSION}")
    return CanaryReport(version, report, problems)

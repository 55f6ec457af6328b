"""Check QA pairs and the reference's annotated examples with a Zig engine, and say honestly what was checked.

The engine is either the local sandbox (:mod:`zigtune.validation.sandbox`) or Codapi
(:mod:`zigtune.resources.codapi`); both answer :class:`~zigtune.validation.verdicts.ExecResult`.

- Code is checked with every declaration analysed (:mod:`zigtune.validation.declarations`), under
  the options of the reference example it came from (``link_libc``, ``target``, the file name).
- Prose is checked where it can be: each Zig API name it puts in backticks is looked up by the
  compiler (:mod:`zigtune.validation.api_names`); a name Zig 0.14.0 lacks rejects the pair
  (``unknown_api``).
- A pair whose answer is what a program did rather than code ("what does this print?", "why does
  this fail?") names that program in ``check_code`` and the verdict its run gave in ``check_verdict``:
  the program is run again, and the pair passes when the run does what the pair says (the same
  verdict, and the expected output when it states one); otherwise it is ``wrong_output``.
- A pair with nothing checkable (no code, no API name), or whose code was left out of a sample or
  cannot run here, is ``unchecked``, with the reason: never counted as validated.

Verdicts are cached by code + command + options + Zig version in a content cache (API names by name + Zig
version), so unchanged code is never compiled twice, and identical code in several pairs is compiled once.
Validation is evidence of its own: the validation stage keeps its own cache (never the generator's verdicts),
and every run re-checks a seeded sample of the checked code with the plain LLVM strategy, uncached
(``plain_recheck``), and counts where that verdict disagrees with the one kept. No dagster here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import polars as pl

from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.storage.cache import ContentCache, cache_key
from zigtune.validation.api_names import ApiAnswer, ApiStatus, api_names, check_api_names
from zigtune.validation.batch import BatchJob, check_jobs
from zigtune.validation.code_extraction import check_mode, extract_zig_code
from zigtune.validation.declarations import DeclarationLister, reference_all
from zigtune.validation.sandbox import ZIG_VERSION, BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict, disagreement, output_matches

#: The columns a table keeps of each ``ExecResult`` besides its verdict: what the run printed, how long it took,
#: and which compiler and engine gave it.
RUN_COLUMNS = {
    "stdout": pl.Utf8,
    "stderr": pl.Utf8,
    "duration_ms": pl.Float64,
    "zig_version": pl.Utf8,
    "engine": pl.Utf8,
}

#: ``validated_pairs`` and ``rejected_pairs``: every ``qa_pairs`` column plus what was checked and how it went.
VALIDATED_PAIRS_SCHEMA = pl.Schema(
    {
        **QA_PAIRS_SCHEMA,
        "code": pl.Utf8,
        "has_code": pl.Boolean,
        "check_mode": pl.Utf8,
        "api_names": pl.List(pl.Utf8),  # the Zig API names the prose puts in backticks
        "unknown_apis": pl.List(pl.Utf8),  # those Zig 0.14.0 does not have
        "checked_by": pl.Utf8,  # "code", "api_names", "code+api_names"; null when unchecked
        "unchecked_reason": pl.Utf8,  # why nothing was checked; null when something was
        "verdict": pl.Utf8,
        "passed": pl.Boolean,
        **RUN_COLUMNS,
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

#: Why a pair is unchecked.
NOTHING_TO_CHECK = "no code and no Zig API name to check"
NOT_SAMPLED = "code left out of the validation sample"
CANNOT_RUN_HERE = "built for a target this machine cannot run: compiled, not run"
NAMES_UNVERIFIABLE = "no code, and its API names could not be resolved"


class Engine(Protocol):
    """What validation needs from an engine: its name, its Zig version, and checking code."""

    name: str

    async def version(self) -> str: ...

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult: ...

    async def close(self) -> None: ...


class CanaryError(RuntimeError):
    """The engine disagrees with the reference: its verdicts cannot be trusted."""


#: A check: code and mode, and the build options when they are not the defaults (e.g. files the root imports).
Job = tuple[str, str] | tuple[str, str, BuildOptions]
CheckJob = Job


def verdict_key(code: str, mode: str, options: BuildOptions, zig_version: str) -> str:
    # v2: every declaration analysed, static musl binaries, the jail without root. Files beside the root (e.g. a
    # task's solution) change the verdict: they are in the key when present.
    files = [[name, content] for name, content in options.extra_files]
    return cache_key(
        "zig-verdict/v2",
        code,
        mode,
        options.compiler_args(),
        options.source_name,
        zig_version,
        *([files] if files else []),
    )


@dataclass
class CheckStats:
    """What a validation run did: how many checks compiled, how many came from the cache."""

    compiled: int = 0
    cached: int = 0
    sandbox_errors: int = 0
    durations_ms: list[float] = field(default_factory=list)
    api_compiles: int = 0  # compiles spent on looking up API names
    api_cached: int = 0  # API names answered from the cache
    plain_rechecked: int = 0  # checks done again with the plain strategy, uncached
    #: Where the plain re-check's verdict of a pair differs from the one kept: pair id, both verdicts, why.
    plain_disagreements: list[dict[str, str]] = field(default_factory=list)


def _spec(job: Job) -> tuple[str, str, BuildOptions]:
    return (job[0], job[1], job[2]) if len(job) == 3 else (job[0], job[1], BuildOptions())  # type: ignore[misc]


async def analysable_codes(codes: Sequence[str], lister: DeclarationLister | None = None) -> dict[str, str]:
    """Each code as it is compiled: with every declaration referenced (see ``declarations``)."""
    return await reference_all(list(codes), lister) if codes else {}


async def check_codes(
    engine: Engine,
    jobs: Sequence[Job],
    cache: ContentCache | None,
    stats: CheckStats,
    lister: DeclarationLister | None = None,
    *,
    strategy: str = "fast",
    log: Callable[[str], None] | None = None,
) -> dict[Any, ExecResult]:
    """Check each distinct (code, mode, options) once: from the cache, or with the engine (bounded by it).

    The answer maps every job, as given, to its result. Codes are compiled with every declaration
    analysed; the cache is keyed by the code as written. What is not cached is checked by
    :func:`~zigtune.validation.batch.check_jobs`: with the ``fast`` strategy (batches, the self-hosted
    backend; jobs with build options or files beside the root go the plain way) unless
    ``strategy="plain"``; both give the same verdicts. Each verdict is cached as soon as it is known;
    ``log`` gets progress lines.
    """
    version = await engine.version()
    results: dict[Any, ExecResult] = {}
    pending: dict[tuple[str, str, BuildOptions], list[Job]] = {}
    for job in dict.fromkeys(jobs):
        code, mode, options = _spec(job)
        stored = cache.get(verdict_key(code, mode, options, version)) if cache is not None else None
        if stored is not None:
            stats.cached += 1
            results[job] = ExecResult.from_dict(stored)
        else:
            pending.setdefault((code, mode, options), []).append(job)
    if not pending:
        return results
    compiled = await analysable_codes([code for code, mode, _ in pending if mode != "ast-check"], lister)
    specs = list(pending)

    def record(index: int, result: ExecResult) -> None:
        code, mode, options = specs[index]
        stats.compiled += 1
        stats.durations_ms.append(result.duration_ms)
        if result.verdict is Verdict.SANDBOX_ERROR:
            stats.sandbox_errors += 1  # the engine's fault, not the code's: ask again next run
        elif cache is not None:
            cache.put(verdict_key(code, mode, options, version), result.to_dict())
        for job in pending[specs[index]]:
            results[job] = result

    if log is not None:  # this call's jobs: ``stats`` may add up several calls
        log(f"checking {len(specs)} snippets ({len(results)} from the cache) with the {strategy} strategy")
    checks = [BatchJob(compiled.get(code, code), mode, options) for code, mode, options in specs]
    await check_jobs(engine, checks, strategy=strategy, log=log, on_result=record)
    return results


def cap_output(text: str) -> str:
    """Compiler or program output as stored in a table: at most ``MAX_STORED_OUTPUT`` characters."""
    return text if len(text) <= MAX_STORED_OUTPUT else text[:MAX_STORED_OUTPUT] + "\n[... cut]"


def example_build_options(examples: pl.DataFrame) -> dict[str, BuildOptions]:
    """The build options of each annotated reference example, by its name (the file name included)."""
    return {
        row["name"]: replace(BuildOptions.from_annotation(row["options"] or ""), file_name=row["name"])
        for row in examples.select("name", "options").iter_rows(named=True)
    }


def _unknown_report(names: list[str], answers: dict[str, ApiAnswer]) -> str:
    return "\n".join(answers[name].detail for name in names)


def _judge_row(
    row: dict[str, Any],
    result: ExecResult | None,
    options: BuildOptions,
    answers: dict[str, ApiAnswer],
    sampled: bool,
    claim: str | None = None,
) -> dict[str, Any]:
    """The verdict columns of one pair from its code's result and its API names' answers.

    ``claim``: the verdict the pair says its ``check_code`` gives, when that is the code checked.
    """
    names = row["api_names"]
    unknown = [name for name in names if answers[name].status is ApiStatus.UNKNOWN]
    known = [name for name in names if answers[name].status is ApiStatus.KNOWN]
    columns: dict[str, Any] = {
        "unknown_apis": unknown,
        "stdout": "",
        "stderr": "",
        "duration_ms": 0.0,
        "checked_by": None,
        "unchecked_reason": None,
    }
    verdict = Verdict.UNCHECKED
    if result is not None:
        verdict = result.verdict
        expected = row.get("expected_output")
        ran = verdict is Verdict.OK and row["check_mode"] == "run"
        if ran and not options.runs_here:
            verdict = Verdict.UNCHECKED
            columns["unchecked_reason"] = f"{CANNOT_RUN_HERE} ({options.target})"
        elif ran and expected is not None and not output_matches(expected, result.stdout, result.stderr):
            verdict = Verdict.WRONG_OUTPUT
        elif claim is not None and claim != Verdict.OK.value:  # the pair explains a failure: it must happen
            verdict = Verdict.OK if result.verdict.value == claim else Verdict.WRONG_OUTPUT
        columns.update(
            stdout=cap_output(result.stdout),
            stderr=cap_output(result.stderr),
            duration_ms=result.duration_ms,
            zig_version=result.zig_version,
            engine=result.engine,
        )
    if unknown and verdict in (Verdict.OK, Verdict.UNCHECKED):
        verdict = Verdict.UNKNOWN_API
        columns["stderr"] = cap_output(_unknown_report(unknown, answers))
        columns["unchecked_reason"] = None
    parts = (["code"] if result is not None and columns["unchecked_reason"] is None else []) + (
        ["api_names"] if known or unknown else []
    )
    if verdict is Verdict.UNCHECKED and not row["has_code"] and known:
        verdict = Verdict.OK  # the prose's names are all there: that much was checked
    if verdict is Verdict.UNCHECKED:
        parts = []
        if columns["unchecked_reason"] is None:
            if row["has_code"] and not sampled:
                columns["unchecked_reason"] = NOT_SAMPLED
            elif names:
                columns["unchecked_reason"] = NAMES_UNVERIFIABLE
            else:
                columns["unchecked_reason"] = NOTHING_TO_CHECK
    columns.update(verdict=verdict.value, passed=verdict is Verdict.OK, checked_by="+".join(parts) or None)
    return columns


async def validate_pairs(
    pairs: pl.DataFrame,
    engine: Engine,
    cache: ContentCache | None,
    sample_fraction: float = 1.0,
    seed: int = 0,
    example_options: dict[str, BuildOptions] | None = None,
    *,
    strategy: str = "fast",
    log: Callable[[str], None] | None = None,
    plain_recheck: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame, CheckStats]:
    """Split ``pairs`` into (kept, rejected) with their verdicts; see the module docstring.

    kept: pairs that passed every check they had (``ok``), and ``unchecked`` pairs with their
    ``unchecked_reason`` (no code and no API name; code left out of a sample of ``sample_fraction``;
    a foreign target). rejected: every pair whose code or API names failed. ``example_options``
    gives the build options of pairs made from a reference example (by ``example_name``). ``strategy`` and
    ``log`` go to :func:`check_codes` (same verdicts either way; progress lines). ``plain_recheck``: how many
    distinct checks (a sample seeded by ``seed``) are done again with the plain strategy and no cache; where a
    pair's verdict differs between the two it is listed in ``stats.plain_disagreements`` (the verdict kept is
    the first check's).
    """
    if not 0 < sample_fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    example_options = example_options or {}
    rows = pairs.to_dicts()
    claims: dict[int, str] = {}
    for row in rows:
        row["code"] = extract_zig_code(row["response"])
        if row["code"] is None and row.get("check_code"):
            row["code"] = row["check_code"]
            claims[id(row)] = row.get("check_verdict") or Verdict.OK.value
        row["has_code"] = row["code"] is not None
        row["check_mode"] = check_mode(row["code"]) if row["has_code"] else None
        row["api_names"] = api_names(row["response"])
    code_rows = [row for row in rows if row["has_code"]]
    sampled = code_rows
    if sample_fraction < 1:
        chosen = random.Random(seed).sample(range(len(code_rows)), k=round(len(code_rows) * sample_fraction))
        sampled = [code_rows[i] for i in sorted(chosen)]
    sampled_ids = {id(row) for row in sampled}

    def options_of(row: dict[str, Any]) -> BuildOptions:
        return example_options.get(row.get("example_name") or "", BuildOptions())

    stats = CheckStats()
    jobs = [(row["code"], row["check_mode"], options_of(row)) for row in sampled]
    results = await check_codes(engine, jobs, cache, stats, strategy=strategy, log=log) if jobs else {}
    names = [name for row in rows for name in row["api_names"]]
    answers: dict[str, ApiAnswer] = {}
    if names:
        answers, stats.api_compiles, stats.api_cached = await check_api_names(engine, names, cache)
    if plain_recheck > 0 and results:
        await _recheck_plain(engine, sampled, results, options_of, answers, claims, plain_recheck, seed, stats, log)
    version = await engine.version()
    for row in rows:
        row.update(zig_version=version, engine=engine.name)
        job = (row["code"], row["check_mode"], options_of(row))
        result = results.get(job) if id(row) in sampled_ids else None
        row.update(_judge_row(row, result, options_of(row), answers, id(row) in sampled_ids, claims.get(id(row))))
    frame = pl.DataFrame(rows, schema=VALIDATED_PAIRS_SCHEMA) if rows else pl.DataFrame(schema=VALIDATED_PAIRS_SCHEMA)
    keep = pl.col("passed") | (pl.col("verdict") == Verdict.UNCHECKED.value)
    return frame.filter(keep), frame.filter(~keep), stats


async def _recheck_plain(
    engine: Engine,
    rows: list[dict[str, Any]],
    results: dict[Any, ExecResult],
    options_of: Callable[[dict[str, Any]], BuildOptions],
    answers: dict[str, ApiAnswer],
    claims: dict[int, str],
    count: int,
    seed: int,
    stats: CheckStats,
    log: Callable[[str], None] | None,
) -> None:
    """Check ``count`` of the distinct checks of ``rows`` again the plain way, uncached; judge each one's first
    pair with both results and record where the verdicts differ."""
    first_row: dict[Job, dict[str, Any]] = {}
    for row in rows:
        first_row.setdefault((row["code"], row["check_mode"], options_of(row)), row)
    jobs = sorted(first_row, key=lambda job: cache_key("plain-recheck", job[0], job[1]))  # not the pairs' order
    chosen = random.Random(seed).sample(jobs, k=min(count, len(jobs)))
    plain = await check_codes(engine, chosen, None, CheckStats(), strategy="plain")
    stats.plain_rechecked += len(chosen)
    for job in chosen:
        row = first_row[job]
        options, claim = options_of(row), claims.get(id(row))
        kept = _judge_row(row, results[job], options, answers, True, claim)["verdict"]
        again = _judge_row(row, plain[job], options, answers, True, claim)["verdict"]
        if kept != again:
            stats.plain_disagreements.append(
                {
                    "pair_id": row["pair_id"],
                    "verdict": kept,
                    "plain_verdict": again,
                    "plain_stderr": plain[job].stderr[:300],
                }
            )
    if log is not None:
        log(
            f"re-checked {len(chosen)} of {len(jobs)} checks with the plain strategy (uncached): "
            f"{len(stats.plain_disagreements)} disagree with the verdict kept"
        )


def validation_summary(frame: pl.DataFrame, stats: CheckStats) -> dict[str, Any]:
    """Numbers a person wants after a run: checked, unchecked and rejected apart, pass rates, verdicts, timings."""
    unchecked = frame.filter(pl.col("verdict") == Verdict.UNCHECKED.value)
    checked = frame.filter(pl.col("verdict") != Verdict.UNCHECKED.value)

    def rates(column: str) -> dict[str, float]:
        grouped = checked.group_by(column).agg(pl.col("passed").mean()).sort(column)
        return {str(k): round(float(v), 4) for k, v in grouped.iter_rows()}

    def counts(part: pl.DataFrame, column: str) -> dict[str, int]:
        grouped = part.group_by(column).len().sort("len", column, descending=[True, False])
        return {str(k): int(v) for k, v in grouped.iter_rows()}

    durations = sorted(stats.durations_ms)

    def percentile(q: float) -> float:
        return round(durations[min(len(durations) - 1, int(q * len(durations)))], 1) if durations else 0.0

    names = frame["api_names"].explode().drop_nulls().unique() if frame.height else pl.Series([], dtype=pl.Utf8)
    unknown = frame["unknown_apis"].explode().drop_nulls().unique() if frame.height else pl.Series([], dtype=pl.Utf8)
    passed = int(checked["passed"].sum()) if checked.height else 0
    return {
        "pairs": frame.height,
        "checked": checked.height,
        "passed": passed,
        "rejected": checked.height - passed,
        "unchecked": unchecked.height,
        "with_code": int(frame["has_code"].sum()) if frame.height else 0,
        "pass_rate": round(passed / checked.height, 4) if checked.height else 0.0,
        "checked_by": counts(checked, "checked_by"),
        "unchecked_reasons": counts(unchecked, "unchecked_reason"),
        "pass_rate_by_kind": rates("kind"),
        "pass_rate_by_generator": rates("generator"),
        "verdicts": counts(frame, "verdict"),
        "api_names_checked": names.len(),
        "api_names_unknown": sorted(unknown.to_list()),
        "compiled": stats.compiled,
        "cached": stats.cached,
        "api_compiles": stats.api_compiles,
        "api_names_cached": stats.api_cached,
        "sandbox_errors": stats.sandbox_errors,
        "plain_rechecked": stats.plain_rechecked,
        "plain_disagreements": len(stats.plain_disagreements),
        "check_ms_p50": percentile(0.5),
        "check_ms_p95": percentile(0.95),
    }


async def check_examples(engine: Engine, examples: pl.DataFrame, *, strategy: str = "fast") -> pl.DataFrame:
    """Run the engine over annotated reference examples (uncached, every declaration analysed, with each
    example's own build options, the way ``strategy`` checks) and say where it disagrees with the annotation."""
    rows = examples.to_dicts()
    options = example_build_options(examples)
    jobs = [(row["code"], REFERENCE_MODES[row["kind"]], options[row["name"]]) for row in rows]
    results = await check_codes(engine, jobs, None, CheckStats(), strategy=strategy)
    report = []
    for row, job in zip(rows, jobs, strict=True):
        result = results[job]
        reason = disagreement(row["expect"], row["error_text"], result)
        report.append(
            {
                "name": row["name"],
                "kind": row["kind"],
                "expect": row["expect"],
                "mode": job[1],
                "options": row["options"] or "",
                "verdict": result.verdict.value,
                "agrees": reason is None,
                "reason": reason or "",
                "duration_ms": result.duration_ms,
                "zig_version": result.zig_version,
            }
        )
    return pl.DataFrame(report, schema_overrides={"duration_ms": pl.Float64})


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

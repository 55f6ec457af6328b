"""Stage 2: instruction/response pairs from the doc sections, and the ledger of what was rejected.

The LLM path checks its own code here, before it emits a pair: code that fails to compile or run goes
back to the model with the compiler's words (``generation/llm.py``). The repair loop lives in this stage,
not in a later one, because a repair is a turn of the conversation that wrote the code: the section,
the request and the reply are all in hand, and the section's next continuation starts from the
repaired answer. Validation stays the judge of record: it checks every final pair again, behind its
canary, and finds each verdict already in the shared verdict cache.

A generation that fails is stopped here, with one line naming how many sections failed, which, the
main cause, the server and what to change, rather than two stages later as "no validated pairs": the
blocking check ``llm_section_failures`` fails when more than ``max_failed_share`` of the sections gave
no usable pair or no pair came out, and the run stops. ``qa_rejects`` is written all the same, with
every failed call's whole error; ``qa_pairs`` is not. Finished calls stay cached, so the next run pays
only for what is missing. A run that succeeds without some sections says so (``llm_outcome``).

``spec_solution_llm: true`` (off by default, so ``make run`` stays offline) also has the LLM solve the spec
tasks, keeping only answers that pass their hidden tests (``generation/spec_llm.py``); it needs an LLM
whatever ``generator`` says.
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.assets import kept_and_dropped
from zigtune.generation.code_checks import EngineChecker
from zigtune.generation.execution import engine_checker
from zigtune.generation.llm import (
    CODE_REPAIR_ROUNDS,
    MAX_FAILED_SHARE,
    CallStats,
    GenerationResult,
    GenerationSettings,
    LLMCaller,
    SectionInput,
    failure_summary,
    generate_pairs,
    partial_summary,
)
from zigtune.generation.offline import OfflineResult, offline_pairs
from zigtune.generation.pairs import Row, pairs_frame, rejects_frame
from zigtune.generation.prompts import load_templates
from zigtune.generation.spec_llm import SpecLLMResult, hidden_tasks, spec_solution_pairs
from zigtune.generation.version import generation_code_version
from zigtune.metadata import markdown_table
from zigtune.resources.codapi import CodapiError
from zigtune.resources.llm import API_KEY_ENV, LLMClient
from zigtune.resources.zig import ZigEngine
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.sandbox import ZIG_VERSION, SandboxError

#: The concurrency pool every LLM-calling asset joins, so that concurrent runs share one rate
#: limit: ``dagster instance concurrency set llm_api 1`` lets one generation at a time call the API.
LLM_POOL = "llm_api"
FAILURE_CHECK = "llm_section_failures"

TEMPLATES = load_templates()
CODE_VERSION = generation_code_version()


class QAPairsConfig(dg.Config):
    generator: Literal["auto", "llm", "docs", "both"] = "auto"
    """``docs``: deterministic pairs from the reference; ``llm``: the API; ``both``.
    ``auto``: $ZIGTUNE_GENERATOR if set, else ``both`` when NOVITA_API_KEY is set, else ``docs``."""

    code_repair_rounds: int = CODE_REPAIR_ROUNDS
    """Times LLM code that fails under Zig 0.14 goes back to the model with the error (0: never)."""

    max_failed_share: float = MAX_FAILED_SHARE
    """The run fails when more than this share of the sections sent to the LLM failed."""

    spec_solution_llm: bool = False
    """Also have the LLM solve the spec tasks, keeping the answers that pass their hidden tests (family
    ``spec_solution_llm``; failing answers get ``code_repair_rounds`` repairs). Needs an LLM (NOVITA_API_KEY,
    NOVITA_BASE_URL for a local server) whatever ``generator`` says; off by default."""

    spec_solution_limit: int = 0
    """``spec_solution_llm``: at most this many tasks, in the bank's order (0: every task)."""

    spec_solution_stdlib: bool = False
    """``spec_solution_llm``: the std functions of ``stdlib_function`` too."""


def _choose(config: QAPairsConfig, llm: LLMClient) -> tuple[str, str]:
    if config.generator != "auto":
        return config.generator, "configured"
    if settings.generator() != "auto":
        return settings.generator(), f"${settings.GENERATOR_ENV}"
    return ("both", f"{API_KEY_ENV} is set") if llm.has_key else ("docs", f"{API_KEY_ENV} is not set")


def _public_url(url: str) -> str:
    """The server's URL as shown in logs and metadata: any user:password part removed."""
    parts = urlsplit(url)
    return (
        urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))
        if parts.hostname
        else url
    )


@asynccontextmanager
async def _llm_session(
    context: dg.AssetExecutionContext,
    llm: LLMClient,
    zig: ZigEngine,
    stats: CallStats,
    checked: str,
    call_settings: Any = None,
) -> AsyncIterator[tuple[LLMCaller, EngineChecker]]:
    """The LLM caller (answers cached) and the code checker (verdicts cached) of one generation, both closed at
    the end; a Zig engine that cannot run fails the step in one line."""
    client = llm.client(stats)
    checker = EngineChecker(zig.create_engine, ContentCache(settings.data_dir() / "cache" / "verdicts"))
    caller = LLMCaller(
        client,
        ContentCache(settings.data_dir() / "cache" / "llm"),
        call_settings or llm.call_settings(),
        stats,
        on_notice=context.log.warning,
    )
    try:
        yield caller, checker
    except (SandboxError, CodapiError) as error:
        raise dg.Failure(description=f"checking {checked}: {error}", allow_retries=False) from None
    finally:
        await client.close()
        await checker.close()


async def _run_llm(
    context: dg.AssetExecutionContext,
    llm: LLMClient,
    zig: ZigEngine,
    config: QAPairsConfig,
    sections: pl.DataFrame,
    stats: CallStats,
) -> tuple[GenerationResult, EngineChecker]:
    step = max(1, sections.height // 10)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            context.log.info(
                f"LLM: {done}/{total} sections; {stats.calls_made} calls made, {stats.calls_cached} cached"
            )

    async with _llm_session(context, llm, zig, stats, "the LLM's code") as (caller, checker):
        result = await generate_pairs(
            [SectionInput(r["section_id"], r["breadcrumb"], r["text"]) for r in sections.iter_rows(named=True)],
            caller=caller,
            templates=TEMPLATES,
            settings=GenerationSettings(
                code_repair_rounds=config.code_repair_rounds, max_failed_share=config.max_failed_share
            ),
            checker=checker,
            progress=progress,
        )
    return result, checker


def _run_offline(
    zig: ZigEngine, sections: pl.DataFrame, stats: CheckStats, log: Callable[[str], None]
) -> OfflineResult:
    """The offline families, their Zig runs shared with validation through the verdict cache; progress to ``log``."""

    async def run() -> OfflineResult:
        engine = zig.create_engine()
        try:
            if (version := await engine.version()) != ZIG_VERSION:
                raise SandboxError(f"the {engine.name} engine runs Zig {version}, not {ZIG_VERSION}")
            cache = ContentCache(settings.data_dir() / "cache" / "verdicts")
            return await offline_pairs(sections, engine_checker(engine, cache, stats, log))
        finally:
            await engine.close()

    try:
        return asyncio.run(run())
    except (CodapiError, SandboxError) as error:
        raise dg.Failure(description=f"the offline generator's Zig checks: {error}", allow_retries=False) from None


def _json(counter: Counter[str] | dict[str, Any]) -> dg.MetadataValue:
    return dg.MetadataValue.json(dict(sorted(counter.items())))


def _llm_metadata(llm: LLMClient, result: GenerationResult, server: str) -> dict[str, Any]:
    stats = result.stats
    llm_pairs = len(result.pairs)
    cost = stats.tokens.cost(llm.call_settings())
    sent = result.sections_sent
    return {
        "llm_server": server,
        "model": llm.resolved().model,
        "template_hash": TEMPLATES.hash,
        "response_format": stats.response_format or "unknown (no reply)",
        "response_format_source": stats.response_format_source,
        "format_refusals": _json(stats.format_refusals),
        "llm_sections_sent": sent,
        "llm_sections_skipped_short": result.sections_skipped,
        "llm_sections_failed": len(result.failures),
        "llm_sections_not_tried": result.sections_stopped,
        "llm_failed_sections": dg.MetadataValue.json(
            {failure.breadcrumb or failure.section_id: failure.reason for failure in result.failures}
        ),
        "llm_outcome": partial_summary(result) or "every section sent gave pairs",
        "llm_failure_share": round(len(result.failures) / sent, 4) if sent else 0.0,
        "llm_calls_made": stats.calls_made,
        "llm_calls_cached": stats.calls_cached,
        "llm_requests_sent": stats.requests.sent,
        "llm_retries": stats.requests.retries,
        "llm_parse_repairs": stats.parse_repairs,
        "llm_dropped_requests": stats.requests.timeouts,
        "llm_failures": _json(stats.failures),
        "concurrency": dg.MetadataValue.json(stats.concurrency.as_dict() if stats.concurrency else {}),
        "code_repair": dg.MetadataValue.json(result.repair.as_dict()),
        "code_behaviour_checks": _json(result.repair.behaviour_checks),
        "tokens_in": stats.tokens.prompt,
        "tokens_out": stats.tokens.completion,
        "estimated_cost_usd": round(cost, 6),
        "cost_per_llm_pair_usd": round(cost / llm_pairs, 8) if llm_pairs else 0.0,
        "llm_wall_seconds": round(result.wall_seconds, 3),
    } | ({"llm_timeouts": stats.timeout_notice} if stats.timeout_notice else {})


def _no_pairs_line(rejected: pl.DataFrame, generator: str) -> str:
    if rejected.height == 0:
        return f"no pairs: the {generator} generator produced none and rejected none (are the doc sections empty?)"
    reason, count = Counter(rejected["reason"].to_list()).most_common(1)[0]
    return f"no pairs: all {rejected.height} generations were rejected, most as {reason} ({count}); see qa_rejects"


@dataclass
class _Generated:
    """What one generator gave: its pairs and rejects as rows, its metadata, and a failure line if it failed."""

    rows: list[Row] = field(default_factory=list)
    rejects: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    check_metadata: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def _from_llm(
    context: dg.AssetExecutionContext,
    config: QAPairsConfig,
    llm: LLMClient,
    zig: ZigEngine,
    sections: pl.DataFrame,
) -> _Generated:
    stats = CallStats()
    result, checker = asyncio.run(_run_llm(context, llm, zig, config, sections, stats))
    server = _public_url(llm.resolved().base_url)
    metadata = _llm_metadata(llm, result, server)
    metadata |= {"code_checks_compiled": checker.stats.compiled, "code_checks_cached": checker.stats.cached}
    context.log.info(
        f"LLM: {len(result.pairs)} pairs; response format {metadata['response_format']}; "
        f"concurrency {metadata['concurrency'].value}; {stats.requests.timeouts} dropped requests"
    )
    problem = failure_summary(result, server, config.max_failed_share)
    if problem is None and (partial := partial_summary(result)):
        context.log.warning(f"LLM: {partial}")
    shown = (
        "llm_server",
        "llm_sections_sent",
        "llm_sections_failed",
        "llm_sections_not_tried",
        "llm_failed_sections",
        "llm_failure_share",
        "llm_failures",
        "llm_outcome",
    )
    return _Generated(result.pairs, result.rejects, metadata, {key: metadata[key] for key in shown}, problem)


async def _run_spec_llm(
    context: dg.AssetExecutionContext,
    llm: LLMClient,
    zig: ZigEngine,
    config: QAPairsConfig,
    sections: pl.DataFrame,
    stats: CallStats,
) -> tuple[SpecLLMResult, int]:
    tasks, left_out = hidden_tasks(sections, stdlib=config.spec_solution_stdlib, limit=config.spec_solution_limit)
    step = max(1, len(tasks) // 10)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            context.log.info(f"spec tasks for the LLM: {done}/{total}; {stats.calls_made} calls made")

    # The task asks for a zig block: no JSON response format.
    plain = llm.call_settings().model_copy(update={"structured_output": "off"})
    async with _llm_session(context, llm, zig, stats, "the LLM's spec solutions", plain) as (caller, checker):
        result = await spec_solution_pairs(
            tasks,
            caller=caller,
            templates=TEMPLATES,
            checker=checker,
            repair_rounds=config.code_repair_rounds,
            progress=progress,
        )
    return result, sum(left_out.values())


def _from_spec_llm(
    context: dg.AssetExecutionContext,
    config: QAPairsConfig,
    llm: LLMClient,
    zig: ZigEngine,
    sections: pl.DataFrame,
) -> _Generated:
    stats = CallStats()
    result, left_out = asyncio.run(_run_spec_llm(context, llm, zig, config, sections, stats))
    summary = result.stats.as_dict()
    context.log.info(
        f"spec tasks for the LLM: {len(result.rows)} of {summary['tried']} kept "
        f"({summary['passed_first_try']} first try, {summary['passed_after_repair']} after repair); "
        f"{result.pairs_per_hour:.1f} pairs per hour"
    )
    metadata = {
        "spec_llm": dg.MetadataValue.json(summary | {"tasks_left_out": left_out}),
        "spec_llm_pairs_per_hour": round(result.pairs_per_hour, 2),
        "spec_llm_tokens_out": stats.tokens.completion,
        "spec_llm_wall_seconds": round(result.wall_seconds, 3),
    }
    return _Generated(result.rows, result.rejects, metadata)


def _from_offline(context: dg.AssetExecutionContext, zig: ZigEngine, sections: pl.DataFrame) -> _Generated:
    zig_stats = CheckStats()
    offline = _run_offline(zig, sections, zig_stats, context.log.info)
    summary = offline.summary()
    metadata = {key: dg.MetadataValue.json(v) if isinstance(v, dict) else v for key, v in summary.items()}
    metadata |= {"offline_zig_compiled": zig_stats.compiled, "offline_zig_cached": zig_stats.cached}
    context.log.info(
        f"offline: {summary['offline_pairs']} pairs, {summary['offline_checked']} checked by running Zig; "
        f"{zig_stats.compiled} compiled, {zig_stats.cached} from the cache"
    )
    return _Generated(offline.rows, offline.rejects, metadata)


def _pairs_metadata(pairs: pl.DataFrame, rejected: pl.DataFrame) -> dict[str, Any]:
    by_kind = pairs.group_by("generator", "kind").len().sort("generator", "kind")
    by_family = pairs.group_by("family").len().sort("family")
    return {
        "pairs": pairs.height,
        "pairs_by_generator_kind": dg.MetadataValue.json(
            {f"{r['generator']}/{r['kind']}": r["len"] for r in by_kind.iter_rows(named=True)}
        ),
        "pairs_by_family": dg.MetadataValue.json({r["family"]: r["len"] for r in by_family.iter_rows(named=True)}),
        "rejects": rejected.height,
        "rejects_by_reason": _json(Counter(rejected["reason"].to_list())),
        "preview": dg.MetadataValue.md(
            markdown_table(
                pairs.unique("family", keep="first", maintain_order=True).select(
                    "family", "breadcrumb", "kind", "instruction", "response"
                ),
                100,
            )
        ),
    }


def _passed_line(pairs: int, max_failed_share: float, from_llm: _Generated) -> str:
    outcome = from_llm.metadata.get("llm_outcome")
    line = f"{pairs} pairs; failed sections within {max_failed_share:.0%}"
    return f"{line}; {outcome}" if outcome and from_llm.metadata.get("llm_sections_failed") else line


@kept_and_dropped(
    ("qa_pairs", "qa_rejects"),
    group="generation",
    code_version=CODE_VERSION,
    check=(FAILURE_CHECK, "At most max_failed_share of the sections sent to the LLM failed, and some pair came out."),
    pool=LLM_POOL,
)
def qa_generation(
    context: dg.AssetExecutionContext,
    config: QAPairsConfig,
    llm: LLMClient,
    zig: ZigEngine,
    doc_sections: pl.DataFrame,
) -> Iterator[dg.Output[pl.DataFrame] | dg.AssetCheckResult]:
    """``qa_pairs``: instruction/response pairs (docs generator and/or LLM); ``qa_rejects``: every
    generation that did not become a pair, with its reason and raw text.

    LLM answers are cached by content, so unchanged docs cost no call and a killed run resumes
    where it stopped. The offline generator's task families run their Zig through the ``zig``
    engine (verdicts cached like validation's). The code version is a hash of the generators' code
    and prompt templates.
    """
    started = time.monotonic()
    generator, why = _choose(config, llm)
    context.log.info(f"generator: {generator} ({why})")
    from_llm = _from_llm(context, config, llm, zig, doc_sections) if generator in ("llm", "both") else _Generated()
    # After the LLM calls: a killed run has its answers cached first.
    from_spec = _from_spec_llm(context, config, llm, zig, doc_sections) if config.spec_solution_llm else _Generated()
    from_offline = _from_offline(context, zig, doc_sections) if generator in ("docs", "both") else _Generated()
    pairs, repeats = pairs_frame(from_offline.rows + from_llm.rows + from_spec.rows)
    rejected = rejects_frame(from_offline.rejects + from_llm.rejects + from_spec.rejects + repeats)
    problem = from_llm.problem or (_no_pairs_line(rejected, generator) if pairs.height == 0 else None)
    check_metadata = {"max_failed_share": config.max_failed_share, **from_llm.check_metadata}
    reject_preview = dg.MetadataValue.md(markdown_table(rejected.head(8).select("breadcrumb", "reason", "raw"), 160))
    check = dg.AssetCheckResult(
        check_name=FAILURE_CHECK,
        asset_key="qa_pairs",
        passed=problem is None,
        severity=dg.AssetCheckSeverity.ERROR,
        description=problem or _passed_line(pairs.height, config.max_failed_share, from_llm),
        metadata=check_metadata,
    )
    reject_metadata = {"rejects": rejected.height, "rejects_by_reason": _json(Counter(rejected["reason"].to_list()))}
    if problem is not None:
        # The ledger first: every failed call's whole error stays readable after the run has failed.
        yield dg.Output(rejected, output_name="qa_rejects", metadata=reject_metadata | {"preview": reject_preview})
        yield check
        raise dg.Failure(
            description=problem,
            metadata={
                **check_metadata,
                "rejects_by_reason": reject_metadata["rejects_by_reason"],
                "rejects": reject_preview,
            },
            allow_retries=False,
        )
    metadata = {
        "generator": generator,
        "sections_seen": doc_sections.height,
        **from_llm.metadata,
        **from_spec.metadata,
        **from_offline.metadata,
        **_pairs_metadata(pairs, rejected),
        "wall_seconds": round(time.monotonic() - started, 3),
    }
    yield dg.Output(pairs, output_name="qa_pairs", metadata=metadata)
    yield dg.Output(rejected, output_name="qa_rejects", metadata=reject_metadata | {"preview": reject_preview})
    yield check

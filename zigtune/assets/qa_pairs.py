"""Stage 2: instruction/response pairs from the doc sections, and the ledger of what was rejected."""

import asyncio
import time
from collections import Counter
from typing import Literal

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.generation.execution import engine_checker
from zigtune.generation.llm import CallStats, GenerationResult, SectionInput, generate_pairs
from zigtune.generation.offline import OfflineResult, offline_pairs
from zigtune.generation.pairs import Row, pairs_frame, rejects_frame
from zigtune.generation.prompts import load_templates
from zigtune.generation.version import OFFLINE_VERSION
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

TEMPLATES = load_templates()
CODE_VERSION = f"2-{TEMPLATES.hash}-{OFFLINE_VERSION}"


class QAPairsConfig(dg.Config):
    generator: Literal["auto", "llm", "docs", "both"] = "auto"
    """``docs``: deterministic pairs from the reference; ``llm``: the API; ``both``.
    ``auto``: $ZIGTUNE_GENERATOR if set, else ``both`` when NOVITA_API_KEY is set, else ``docs``."""


def _choose(config: QAPairsConfig, llm: LLMClient) -> tuple[str, str]:
    if config.generator != "auto":
        return config.generator, "configured"
    if settings.generator() != "auto":
        return settings.generator(), f"${settings.GENERATOR_ENV}"
    return ("both", f"{API_KEY_ENV} is set") if llm.has_key else ("docs", f"{API_KEY_ENV} is not set")


async def _run_llm(
    context: dg.AssetExecutionContext, llm: LLMClient, sections: pl.DataFrame, stats: CallStats
) -> GenerationResult:
    client = llm.client(stats)
    step = max(1, sections.height // 10)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            context.log.info(
                f"LLM: {done}/{total} sections; {stats.calls_made} calls made, {stats.calls_cached} cached"
            )

    try:
        return await generate_pairs(
            [SectionInput(r["section_id"], r["breadcrumb"], r["text"]) for r in sections.iter_rows(named=True)],
            client=client,
            cache=ContentCache(settings.data_dir() / "cache" / "llm"),
            templates=TEMPLATES,
            settings=llm.generation_settings(),
            stats=stats,
            progress=progress,
        )
    finally:
        await client.close()


def _run_offline(zig: ZigEngine, sections: pl.DataFrame, stats: CheckStats) -> OfflineResult:
    """The offline families, their Zig runs shared with validation through the verdict cache."""

    async def run() -> OfflineResult:
        engine = zig.create_engine()
        try:
            if (version := await engine.version()) != ZIG_VERSION:
                raise SandboxError(f"the {engine.name} engine runs Zig {version}, not {ZIG_VERSION}")
            cache = ContentCache(settings.data_dir() / "cache" / "verdicts")
            return await offline_pairs(sections, engine_checker(engine, cache, stats))
        finally:
            await engine.close()

    try:
        return asyncio.run(run())
    except (CodapiError, SandboxError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None


def _json(counter: Counter[str]) -> dg.MetadataValue:
    return dg.MetadataValue.json(dict(sorted(counter.items())))


@dg.multi_asset(
    name="qa_generation",
    outs={
        "qa_pairs": dg.AssetOut(group_name="generation", kinds={"polars"}, code_version=CODE_VERSION),
        "qa_rejects": dg.AssetOut(group_name="generation", kinds={"polars"}, code_version=CODE_VERSION),
    },
    pool=LLM_POOL,
)
def qa_generation(
    context: dg.AssetExecutionContext,
    config: QAPairsConfig,
    llm: LLMClient,
    zig: ZigEngine,
    doc_sections: pl.DataFrame,
) -> tuple[dg.Output[pl.DataFrame], dg.Output[pl.DataFrame]]:
    """``qa_pairs``: instruction/response pairs (docs generator and/or LLM); ``qa_rejects``: every
    generation that did not become a pair, with its reason and raw text.

    LLM answers are cached by content, so unchanged docs cost no call and a killed run resumes
    where it stopped. The offline generator's task families run their Zig through the ``zig``
    engine (verdicts cached like validation's). The prompt templates' hash and the offline
    generator's source hash are part of the code version.
    """
    started = time.monotonic()
    generator, why = _choose(config, llm)
    context.log.info(f"generator: {generator} ({why})")
    rows: list[Row] = []
    rejects: list[dict[str, str]] = []
    metadata: dict[str, object] = {"generator": generator, "sections_seen": doc_sections.height}
    if generator in ("llm", "both"):
        stats = CallStats()
        result = asyncio.run(_run_llm(context, llm, doc_sections, stats))
        rows += result.pairs
        rejects += result.rejects
        llm_pairs = len(result.pairs)
        cost = stats.cost(llm.generation_settings())
        metadata |= {
            "model": llm.model,
            "template_hash": TEMPLATES.hash,
            "llm_sections_skipped_short": result.sections_skipped,
            "llm_calls_made": stats.calls_made,
            "llm_calls_cached": stats.calls_cached,
            "llm_retries": stats.retries,
            "llm_repairs": stats.repairs,
            "llm_failures": _json(stats.failures),
            "structured_output": bool(stats.structured_output_used),
            "tokens_in": stats.prompt_tokens,
            "tokens_out": stats.completion_tokens,
            "estimated_cost_usd": round(cost, 6),
            "cost_per_llm_pair_usd": round(cost / llm_pairs, 8) if llm_pairs else 0.0,
            "peak_in_flight": stats.peak_in_flight,
            "llm_wall_seconds": round(result.wall_seconds, 3),
        }
    if generator in ("docs", "both"):  # after the LLM calls: a killed run has its answers cached first
        zig_stats = CheckStats()
        offline = _run_offline(zig, doc_sections, zig_stats)
        rows = offline.rows + rows
        rejects = offline.rejects + rejects
        summary = offline.summary()
        metadata |= {key: dg.MetadataValue.json(v) if isinstance(v, dict) else v for key, v in summary.items()}
        metadata |= {"offline_zig_compiled": zig_stats.compiled, "offline_zig_cached": zig_stats.cached}
        context.log.info(
            f"offline: {summary['offline_pairs']} pairs, {summary['offline_checked']} checked by running Zig; "
            f"{zig_stats.compiled} compiled, {zig_stats.cached} from the cache"
        )
    pairs, repeats = pairs_frame(rows)
    rejected = rejects_frame(rejects + repeats)
    by_kind = pairs.group_by("generator", "kind").len().sort("generator", "kind")
    by_family = pairs.group_by("family").len().sort("family")
    metadata |= {
        "pairs": pairs.height,
        "pairs_by_generator_kind": dg.MetadataValue.json(
            {f"{r['generator']}/{r['kind']}": r["len"] for r in by_kind.iter_rows(named=True)}
        ),
        "pairs_by_family": dg.MetadataValue.json({r["family"]: r["len"] for r in by_family.iter_rows(named=True)}),
        "rejects": rejected.height,
        "rejects_by_reason": _json(Counter(rejected["reason"].to_list())),
        "wall_seconds": round(time.monotonic() - started, 3),
        "preview": dg.MetadataValue.md(
            markdown_table(
                pairs.unique("family", keep="first", maintain_order=True).select(
                    "family", "breadcrumb", "kind", "instruction", "response"
                ),
                100,
            )
        ),
    }
    reject_metadata = {
        "rejects": rejected.height,
        "rejects_by_reason": metadata["rejects_by_reason"],
        "preview": dg.MetadataValue.md(markdown_table(rejected.head(8).select("breadcrumb", "reason", "raw"), 100)),
    }
    return dg.Output(pairs, metadata=metadata), dg.Output(rejected, metadata=reject_metadata)  # type: ignore[arg-type]

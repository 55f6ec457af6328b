"""Stage 2: instruction/response pairs from the doc sections, and the ledger of what was rejected."""

import asyncio
import time
from collections import Counter
from typing import Literal

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.generation.docs_generator import DOCS_TEMPLATE_VERSION, docs_pairs
from zigtune.generation.llm import CallStats, GenerationResult, SectionInput, generate_pairs
from zigtune.generation.pairs import pairs_frame, rejects_frame
from zigtune.generation.prompts import load_templates
from zigtune.metadata import markdown_table
from zigtune.resources.llm import API_KEY_ENV, LLMClient
from zigtune.storage.cache import ContentCache

#: The concurrency pool every LLM-calling asset joins, so that concurrent runs share one rate
#: limit: ``dagster instance concurrency set llm_api 1`` lets one generation at a time call the API.
LLM_POOL = "llm_api"

TEMPLATES = load_templates()
CODE_VERSION = f"1-{TEMPLATES.hash}-{DOCS_TEMPLATE_VERSION}"


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
    context: dg.AssetExecutionContext, config: QAPairsConfig, llm: LLMClient, doc_sections: pl.DataFrame
) -> tuple[dg.Output[pl.DataFrame], dg.Output[pl.DataFrame]]:
    """``qa_pairs``: instruction/response pairs (docs generator and/or LLM); ``qa_rejects``: every
    generation that did not become a pair, with its reason and raw text.

    LLM answers are cached by content, so unchanged docs cost no call and a killed run resumes
    where it stopped. The prompt templates' hash is part of the code version.
    """
    started = time.monotonic()
    generator, why = _choose(config, llm)
    context.log.info(f"generator: {generator} ({why})")
    rows: list[dict[str, str | None]] = []
    rejects: list[dict[str, str]] = []
    metadata: dict[str, object] = {"generator": generator, "sections_seen": doc_sections.height}
    if generator in ("docs", "both"):
        from_docs = docs_pairs(doc_sections)
        rows += from_docs.rows
        metadata["docs_skipped_by_reason"] = _json(from_docs.skipped)
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
    pairs, repeats = pairs_frame(rows)
    rejected = rejects_frame(rejects + repeats)
    by_kind = pairs.group_by("generator", "kind").len().sort("generator", "kind")
    metadata |= {
        "pairs": pairs.height,
        "pairs_by_generator_kind": dg.MetadataValue.json(
            {f"{r['generator']}/{r['kind']}": r["len"] for r in by_kind.iter_rows(named=True)}
        ),
        "rejects": rejected.height,
        "rejects_by_reason": _json(Counter(rejected["reason"].to_list())),
        "wall_seconds": round(time.monotonic() - started, 3),
        "preview": dg.MetadataValue.md(
            markdown_table(pairs.head(8).select("breadcrumb", "kind", "generator", "instruction", "response"), 100)
        ),
    }
    reject_metadata = {
        "rejects": rejected.height,
        "rejects_by_reason": metadata["rejects_by_reason"],
        "preview": dg.MetadataValue.md(markdown_table(rejected.head(8).select("breadcrumb", "reason", "raw"), 100)),
    }
    return dg.Output(pairs, metadata=metadata), dg.Output(rejected, metadata=reject_metadata)  # type: ignore[arg-type]

"""Stage 3: execution-checked pairs — every pair's Zig code compiled and run under Zig 0.14.

The canary comes first. Before a single pair is checked, the engine checks a fixed sample of the
reference's annotated examples and must agree with every annotation and report Zig 0.14.0. The
outcome is recorded as the blocking asset check ``zig_engine_canary`` on ``validated_pairs``; when
it fails, the run stops right there with the disagreements in the message, so no verdict from an
untrusted engine is ever stored and nothing downstream (the dataset) runs. Checking the canary
inside the asset, rather than as a separate check after it, costs ~6 compiles and saves a whole
validation run done with a broken engine.

Validation is evidence of its own, not a re-reading of the generator's: its verdicts live in their own
cache (``<data dir>/cache/validation``; the generator's are in ``cache/verdicts``), and every run
checks a seeded sample again with the plain LLVM strategy and no cache (config ``plain_recheck``); the
disagreements are counted in the metadata and the run log.
"""

import asyncio
import time
from typing import Literal

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.assets import kept_and_dropped
from zigtune.docs.sections import examples_frame
from zigtune.metadata import markdown_table
from zigtune.resources.codapi import CodapiError
from zigtune.resources.zig import ZigEngine
from zigtune.storage.cache import ContentCache
from zigtune.validation.api_names import ApiCheckError
from zigtune.validation.checking import (
    VALIDATED_PAIRS_SCHEMA,
    CanaryError,
    CanaryReport,
    example_build_options,
    run_canary,
    validate_pairs,
    validation_summary,
)
from zigtune.validation.sandbox import SandboxError

__all__ = ["VALIDATED_PAIRS_SCHEMA", "pair_validation"]

CODE_VERSION = "3"  # 2: every declaration analysed, API names checked, unchecked pairs marked; 3: own cache
#: Validation's own verdict cache, apart from the generator's (``cache/verdicts``), so a pair is validated by a
#: check validation made, not by the verdict that let the generator keep it.
CACHE_DIRECTORY = "validation"
CANARY_CHECK = "zig_engine_canary"


class ValidationConfig(dg.Config):
    sample_fraction: float = 1.0
    """Share of code-bearing pairs to check. 1.0 checks all (the default: the original checked 5%);
    lower it only to spare a paid remote quota. Pairs left out are kept, marked ``unchecked`` with the reason."""

    seed: int = 0
    """Seed of the sample when ``sample_fraction`` < 1."""

    failure_samples: int = 8
    """How many rejected pairs the metadata shows, with the compiler's words."""

    check_strategy: Literal["fast", "plain"] = "fast"
    """``fast``: many snippets per compile, the self-hosted x86_64 backend, one sandboxed run per snippet
    (zigtune.validation.batch); ``plain``: one LLVM compile per snippet. Same verdicts; fast is ~5x+ cheaper."""

    plain_recheck: int = 16
    """How many distinct checks (a sample seeded by ``seed``) every run does again with the plain LLVM strategy
    and no cache, whatever ``check_strategy``; where a pair's verdict differs, it is counted and listed
    (``plain_disagreements``). 0 turns it off."""


def _failure_preview(rejected: pl.DataFrame, rows: int) -> str:
    preview = rejected.head(rows).select(
        "breadcrumb", "kind", "verdict", pl.col("stderr").str.slice(0, 300).alias("compiler_or_runtime_says")
    )
    return markdown_table(preview, 160)


def _canary_check(report: CanaryReport, engine_name: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=CANARY_CHECK,
        asset_key="validated_pairs",
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.message(engine_name),
        metadata={
            "engine": engine_name,
            "zig_version": report.zig_version,
            "examples": dg.MetadataValue.md(
                markdown_table(report.examples.select("name", "expect", "verdict", "agrees", "reason", "duration_ms"))
            ),
        },
    )


@kept_and_dropped(
    ("validated_pairs", "rejected_pairs"),
    group="validation",
    code_version=CODE_VERSION,
    check=(CANARY_CHECK, "The Zig engine agrees with the reference's annotated examples and runs Zig 0.14.0."),
)
def pair_validation(
    context: dg.AssetExecutionContext,
    config: ValidationConfig,
    zig: ZigEngine,
    qa_pairs: pl.DataFrame,
    doc_sections: pl.DataFrame,
):
    """``validated_pairs``: pairs that passed every check they had (their Zig code compiled and ran, or
    passed its tests, with every declaration analysed; the Zig API names of their prose exist), plus
    the ``unchecked`` pairs (nothing to check, or not sampled), marked with the reason, which the
    dataset leaves out unless told otherwise; ``rejected_pairs``: the pairs that failed a check, with
    the verdict and the compiler's or program's words.

    Verdicts are cached by code + command + options + Zig version: re-validating unchanged pairs compiles nothing.
    """
    started = time.monotonic()
    try:
        engine = zig.create_engine()
    except SandboxError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    cache = ContentCache(settings.data_dir() / "cache" / CACHE_DIRECTORY)

    async def run():
        try:
            examples = examples_frame(doc_sections)
            canary = await run_canary(engine, examples, strategy=config.check_strategy)
            if not canary.passed:
                return canary, None
            options = example_build_options(examples)
            outcome = await validate_pairs(
                qa_pairs,
                engine,
                cache,
                config.sample_fraction,
                config.seed,
                example_options=options,
                strategy=config.check_strategy,
                log=context.log.info,
                plain_recheck=config.plain_recheck,
            )
            return canary, outcome
        finally:
            await engine.close()

    try:
        canary, outcome = asyncio.run(run())
    except (CanaryError, CodapiError, SandboxError, ApiCheckError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    if outcome is None:
        yield _canary_check(canary, engine.name)
        raise dg.Failure(description=f"validation stopped: {canary.message(engine.name)}", allow_retries=False)
    validated, rejected, stats = outcome
    summary = validation_summary(pl.concat([validated, rejected]), stats)
    context.log.info(
        f"{summary['checked']} checked ({summary['passed']} passed, {summary['rejected']} rejected), "
        f"{summary['unchecked']} unchecked; {stats.compiled} compiled, {stats.cached} from validation's cache; "
        f"{stats.plain_rechecked} checked again with the plain strategy: {len(stats.plain_disagreements)} disagree"
    )
    for disagreement in stats.plain_disagreements:
        context.log.warning(
            f"the plain strategy disagrees on pair {disagreement['pair_id']}: {disagreement['verdict']} kept, "
            f"{disagreement['plain_verdict']} from the plain check"
        )
    metadata = {
        **{key: value for key, value in summary.items() if not isinstance(value, dict | list)},
        **{key: dg.MetadataValue.json(value) for key, value in summary.items() if isinstance(value, dict | list)},
        "engine": engine.name,
        "check_strategy": config.check_strategy,
        "zig_version": canary.zig_version,
        "sample_fraction": config.sample_fraction,
        "wall_seconds": round(time.monotonic() - started, 3),
        "sample_failures": dg.MetadataValue.md(_failure_preview(rejected, config.failure_samples)),
        "plain_disagreement_pairs": dg.MetadataValue.md(
            markdown_table(pl.DataFrame(stats.plain_disagreements), 160) if stats.plain_disagreements else "none"
        ),
    }
    yield dg.Output(validated, output_name="validated_pairs", metadata=metadata)
    yield dg.Output(
        rejected,
        output_name="rejected_pairs",
        metadata={
            "rejected": rejected.height,
            "verdicts": dg.MetadataValue.json(
                {str(k): int(v) for k, v in rejected.group_by("verdict").len().sort("verdict").iter_rows()}
            ),
            "preview": dg.MetadataValue.md(_failure_preview(rejected, config.failure_samples)),
        },
    )
    yield _canary_check(canary, engine.name)

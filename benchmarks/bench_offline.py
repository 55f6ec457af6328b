"""The offline generator on the full reference: pairs per family and verdict, how they were checked, wall time.

    python benchmarks/bench_offline.py [--docs PATH] [--work DIR] [--concurrency 2] [--suite zigtune_core]...

Runs the three stages a ``make run`` runs up to the dataset, as plain functions and with real Zig
compiles: the offline task families (``zigtune.generation.offline``), the validation of their pairs
(``validate_pairs``, sharing the verdict cache, as the pipeline does), and the dataset build
(section split, deduplication, and the removal of train pairs that share text with the given
evaluation suites). ``--work`` keeps the verdict cache and the Zig cache: a second run compiles
only what changed, so its wall time is not a cold run's. Writes ``pairs.parquet`` and
``validated.parquet`` into ``--work`` and prints the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zigtune.dataset.build import DatasetSettings, build_dataset  # noqa: E402
from zigtune.docs.sections import examples_frame, sections_frame, split_sections  # noqa: E402
from zigtune.evaluation.suite import BUILTIN_SUITES, load_suite  # noqa: E402
from zigtune.generation.execution import engine_checker  # noqa: E402
from zigtune.generation.offline import OfflineResult, offline_pairs  # noqa: E402
from zigtune.generation.pairs import pairs_frame  # noqa: E402
from zigtune.storage.cache import ContentCache  # noqa: E402
from zigtune.validation.checking import CheckStats, example_build_options, validate_pairs  # noqa: E402
from zigtune.validation.sandbox import LocalZigEngine  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"
BEHAVIOUR = ("tests", "output")


def table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns)
    return header + "\n" + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows())


async def generate_and_validate(
    sections: pl.DataFrame, work: Path, concurrency: int
) -> tuple[OfflineResult, pl.DataFrame, pl.DataFrame, dict[str, float]]:
    engine = LocalZigEngine(work / "sandbox", concurrency=concurrency)
    engine.preflight()
    cache = ContentCache(work / "verdicts")
    stats = CheckStats()
    started = time.monotonic()
    offline = await offline_pairs(sections, engine_checker(engine, cache, stats))
    generated = time.monotonic()
    pairs, _ = pairs_frame(offline.rows)
    options = example_build_options(examples_frame(sections))
    validated, rejected, validation_stats = await validate_pairs(pairs, engine, cache, example_options=options)
    finished = time.monotonic()
    timings = {
        "generation_s": round(generated - started, 1),
        "validation_s": round(finished - generated, 1),
        "generation_compiled": stats.compiled,
        "generation_cached": stats.cached,
        "validation_compiled": validation_stats.compiled,
    }
    return offline, validated, rejected, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-offline")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--suite", action="append", help="evaluation suite, a built-in name or a JSONL file")
    args = parser.parse_args()

    sections = sections_frame(split_sections(args.docs.read_text(encoding="utf-8")))
    args.work.mkdir(parents=True, exist_ok=True)
    offline, validated, rejected, timings = asyncio.run(generate_and_validate(sections, args.work, args.concurrency))
    pairs = pl.concat([validated, rejected])
    pairs.write_parquet(args.work / "pairs.parquet")
    validated.write_parquet(args.work / "validated.parquet")

    tasks = tuple(task for suite in args.suite or list(BUILTIN_SUITES) for task in load_suite(suite).tasks)
    build = build_dataset(validated, sections, DatasetSettings(evaluation_tasks=tasks))
    dataset = build.rows

    print(f"{sections.height} sections; {len(offline.rows)} pairs; {timings}")
    print("\n## Pairs by family and validation verdict\n")
    wide = pairs.group_by("family", "verdict").len().pivot(on="verdict", index="family", values="len")
    print(table(wide.fill_null(0).sort("family")))

    def per_family(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("family").len(name)

    checks = pairs.group_by("family").agg(
        checked=pl.col("checked").sum(),
        behaviour_checked=(pl.col("checked") & pl.col("behaviour_check").is_in(BEHAVIOUR)).sum(),
    )
    yields = (
        per_family(pairs, "generated")
        .join(checks, on="family")
        .join(per_family(validated, "validated"), on="family", how="left")
        .join(
            per_family(build.duplicates.join(pairs.select("pair_id", "family"), on="pair_id"), "duplicates"),
            on="family",
            how="left",
        )
        .join(per_family(build.contaminated, "contaminated"), on="family", how="left")
        .join(per_family(dataset, "in_dataset"), on="family", how="left")
    )
    print("\n## Yield per family (generated -> validated -> dataset after dedup and contamination)\n")
    print(table(yields.fill_null(0).sort("family")))
    checked = pairs.filter(pl.col("checked"))
    behaviour = checked.filter(pl.col("behaviour_check").is_in(BEHAVIOUR))
    print(
        f"\nchecked pairs: {checked.height} of {pairs.height}; behaviour-checked: {behaviour.height} "
        f"({behaviour.height / max(1, checked.height):.1%} of checked); validated: {validated.height}; "
        f"in dataset: {dataset.height} (dedup removed {build.duplicates.height}, contamination "
        f"removed {build.contaminated.height} against {len(tasks)} tasks)"
    )
    in_dataset = dataset.filter(pl.col("checked"))
    share = in_dataset.filter(pl.col("behaviour_check").is_in(BEHAVIOUR)).height / max(1, in_dataset.height)
    print(f"in dataset: {in_dataset.height} checked, {share:.1%} of them behaviour-checked")
    print(f"\ndrops by family: {offline.dropped()}")
    print(f"migration rules: {dict(next(f for f in offline.families if f.family == 'migration_repair').kept_by)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

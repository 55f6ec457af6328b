"""Checking throughput: the plain LLVM strategy against the fast one, on the same snippets in one run.

    python benchmarks/bench_validation.py [--variants 1] [--no-serial] [--no-pipeline] [--docs PATH]

The snippets are the corpus of ``tests/snippet_corpus.py``: the distinct code of the docs generator's pairs
for the reference (the dataset's code) plus ``--variants`` broken variants of each. Every row checks all of
them, uncached (no verdict cache), in this order:

1. cold: an empty compiler cache each: the plain strategy at the machine's concurrency, then the fast one;
2. warm: the same compiler caches again: plain one at a time, plain at the machine's concurrency, fast at it.

Each row gives the wall time, snippets per minute, the CPU seconds of all the processes it started (less
sensitive to other load than wall time), and its throughput over the plain row at the same concurrency
and cache state. The verdicts of every fast row must equal the plain rows' (exit status 1 otherwise).
Then the ``pair_validation`` step of ``data_pipeline`` (canary + validation of the docs generator's pairs
of the full reference, through Dagster, empty verdict cache, warm compiler cache), once per strategy.
The load average is printed before and after each row: other processes share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl  # at module level: Dagster resolves the stand-in assets' annotations here

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.snippet_corpus import DEFAULT_DOCS, Snippet, corpus  # noqa: E402
from zigtune.validation.batch import check_jobs  # noqa: E402
from zigtune.validation.batch_layout import BatchJob, plain_reason  # noqa: E402
from zigtune.validation.checking import analysable_codes  # noqa: E402
from zigtune.validation.sandbox import LocalZigEngine  # noqa: E402
from zigtune.validation.verdicts import ExecResult  # noqa: E402


@dataclass
class Row:
    label: str
    cache: str
    strategy: str
    concurrency: int
    wall_s: float
    cpu_s: float
    load: tuple[float, float]
    results: list[ExecResult]

    def per_minute(self, count: int) -> float:
        return count / self.wall_s * 60


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def analysable_jobs(snippets: list[Snippet]) -> list[BatchJob]:
    """The snippets as validation compiles them: every declaration referenced (``check_codes`` does this)."""
    compiled = asyncio.run(analysable_codes([s.code for s in snippets if s.mode != "ast-check"]))
    return [BatchJob(compiled.get(snippet.code, snippet.code), snippet.mode) for snippet in snippets]


def timed(label: str, cache: str, strategy: str, root: Path, concurrency: int, snippets: list[Snippet]) -> Row:
    engine = LocalZigEngine(root, concurrency=concurrency)
    jobs = analysable_jobs(snippets)
    load_before = os.getloadavg()[0]
    cpu, started = children_cpu(), time.perf_counter()
    results = asyncio.run(check_jobs(engine, jobs, strategy=strategy, log=lambda line: print(f"  {line}", flush=True)))
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    row = Row(label, cache, strategy, concurrency, wall, cpu, (load_before, os.getloadavg()[0]), results)
    print(f"{label}: {wall:.1f} s, {row.per_minute(len(jobs)):.1f} snippets/min, CPU {cpu:.1f} s", flush=True)
    return row


def differences(snippets: list[Snippet], reference: Row, other: Row) -> list[str]:
    return [
        f"{snippet.name}: {reference.strategy} {want.verdict.value}, {other.strategy} {got.verdict.value}"
        for snippet, want, got in zip(snippets, reference.results, other.results, strict=True)
        if want.verdict is not got.verdict
    ]


def table(rows: list[Row], count: int) -> str:
    lines = [
        "| run | cache | strategy | concurrency | wall | snippets/min | CPU s / snippet | vs plain | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        same = [r for r in rows if r.strategy == "plain" and r.cache == row.cache and r.concurrency == row.concurrency]
        ratio = f"{same[0].wall_s / row.wall_s:.1f}×" if same else "–"
        lines.append(
            f"| {row.label} | {row.cache} | {row.strategy} | {row.concurrency} | {row.wall_s:.1f} s | "
            f"{row.per_minute(count):.1f} | {row.cpu_s / count:.2f} | {ratio} | {row.load[0]:.1f} → {row.load[1]:.1f} |"
        )
    return "\n".join(lines)


def pipeline_step(docs: Path, strategy: str, sandbox: Path) -> tuple[float, dict[str, object]]:
    """``pair_validation`` of the full reference through Dagster, empty verdict cache: (step seconds, metadata)."""
    import dagster as dg

    from zigtune.assets.validation import pair_validation
    from zigtune.docs.sections import sections_frame, split_sections
    from zigtune.generation.docs_generator import docs_pairs
    from zigtune.generation.pairs import QA_PAIRS_SCHEMA
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    sections = sections_frame(split_sections(docs.read_text(encoding="utf-8")))
    pairs = pl.DataFrame(docs_pairs(sections).rows, schema=QA_PAIRS_SCHEMA)

    @dg.asset(name="qa_pairs", group_name="generation")
    def qa_pairs_input() -> pl.DataFrame:
        return pairs

    @dg.asset(name="doc_sections", group_name="docs")
    def doc_sections_input() -> pl.DataFrame:
        return sections

    data = Path(tempfile.mkdtemp(prefix=f"zigtune-pipeline-{strategy}-"))
    os.environ["ZIGTUNE_DATA_DIR"] = str(data)  # an empty verdict cache
    result = dg.materialize(
        [qa_pairs_input, doc_sections_input, pair_validation],
        resources={
            "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(sandbox))),
            "io_manager": ParquetIOManager(base_path=str(data / "assets")),
        },
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"pair_validation": {"config": {"check_strategy": strategy}}}},
    )
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("pair_validation")[0].metadata.items()}
    return float(metadata["wall_seconds"]), metadata  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--variants", type=int, default=1, help="broken variants per dataset snippet")
    parser.add_argument("--no-serial", action="store_true", help="skip plain one at a time (the longest row)")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the data_pipeline validation step")
    parser.add_argument("--work", type=Path, default=None, help="where the sandboxes go (default: a temp dir)")
    args = parser.parse_args()

    snippets = corpus(args.docs, variants_per_code=args.variants)
    count, cores = len(snippets), os.cpu_count() or 1
    work = args.work or Path(tempfile.mkdtemp(prefix="zigtune-bench-"))
    plain_root, fast_root = work / "plain", work / "fast"
    faults = Counter(snippet.fault for snippet in snippets)
    alone = sum(plain_reason(BatchJob(snippet.code, snippet.mode)) is not None for snippet in snippets)
    print(f"{count} snippets ({faults['none']} dataset, {count - faults['none']} broken: {dict(faults)})")
    print(f"modes {dict(Counter(snippet.mode for snippet in snippets))}; {alone} must be checked alone")
    print(f"{cores} cores; load average {os.getloadavg()}; sandboxes under {work}", flush=True)

    rows = [
        timed("cold, plain", "cold", "plain", plain_root, cores, snippets),
        timed("cold, fast", "cold", "fast", fast_root, cores, snippets),
    ]
    if not args.no_serial:
        rows.append(timed("warm, plain one at a time", "warm", "plain", plain_root, 1, snippets))
    rows.append(timed("warm, plain", "warm", "plain", plain_root, cores, snippets))
    rows.append(timed("warm, fast", "warm", "fast", fast_root, cores, snippets))

    plain_rows = [row for row in rows if row.strategy == "plain"]
    problems = [d for row in rows[1:] for d in differences(snippets, rows[0], row)]
    verdicts = Counter(result.verdict.value for result in rows[0].results)
    print()
    print(table(rows, count))
    print(f"\nverdicts (plain): {dict(verdicts)}")
    print(f"fast and plain verdicts differ on {len(problems)} of {count} snippets x {len(rows) - 1} rows")
    for problem in problems:
        print(f"  DIFFERS {problem}")
    print(f"plain rows agree with each other: {all(not differences(snippets, plain_rows[0], r) for r in plain_rows)}")

    if not args.no_pipeline:
        print("\npair_validation of data_pipeline on the full reference (empty verdict cache, warm compiler cache):")
        for strategy, sandbox in (("plain", plain_root), ("fast", fast_root)):
            load = os.getloadavg()[0]
            seconds, metadata = pipeline_step(args.docs, strategy, sandbox)
            print(
                f"  {strategy}: {seconds:.1f} s (load {load:.1f} → {os.getloadavg()[0]:.1f}); "
                f"{metadata['checked']} checked, verdicts {metadata['verdicts']}, compiled {metadata['compiled']}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Validation throughput of the local Zig engine against its bound, and re-validation cost.

    python benchmarks/bench_validation.py [--sequential 8] [--parallel 40]

In one run, on a warm compiler cache:

1. the bound: distinct snippets checked one at a time give the warm time per check ``t``; with
   ``c`` cores the engine cannot beat ``c / t`` checks per second;
2. the throughput: ``validate_pairs`` over other distinct snippets, ``c`` at a time, from an
   empty verdict cache: snippets per minute, and its ratio to the bound (goal >= 90%);
3. re-validation: the same pairs again with the same verdict cache: compiles must be 0.

The snippets are the reference's passing test and exe examples, wrapped as QA pairs (fenced
code), so each one is distinct code that the compiler must really build. The load average before
and after is printed: other processes share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zigtune.docs.sections import examples_frame, sections_frame, split_sections  # noqa: E402
from zigtune.generation.pairs import QA_PAIRS_SCHEMA  # noqa: E402
from zigtune.storage.cache import ContentCache  # noqa: E402
from zigtune.validation.checking import validate_pairs  # noqa: E402
from zigtune.validation.code_extraction import check_mode  # noqa: E402
from zigtune.validation.sandbox import LocalZigEngine  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"


def snippet_pairs(docs: Path) -> pl.DataFrame:
    examples = examples_frame(sections_frame(split_sections(docs.read_text(encoding="utf-8"))))
    usable = examples.filter(
        pl.col("kind").is_in(["test", "exe"]) & (pl.col("expect") == "pass") & (pl.col("options") == "")
    )
    rows = [
        {
            "pair_id": row["name"],
            "section_id": row["section_id"],
            "breadcrumb": row["breadcrumb"],
            "instruction": f"Show {row['name']}",
            "response": f"```zig\n{row['code']}```",
            "kind": "code",
            "generator": "docs",
            "model": "zig-docs",
            "template_hash": "bench",
            "expected_output": None,
            "example_name": row["name"],
        }
        for row in usable.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=QA_PAIRS_SCHEMA)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--sequential", type=int, default=8, help="snippets timed one at a time (the bound)")
    parser.add_argument("--parallel", type=int, default=40, help="snippets validated concurrently (the throughput)")
    parser.add_argument("--engine-root", type=Path, default=None, help="sandbox root (default: a temp dir)")
    args = parser.parse_args()

    # A seeded shuffle, so the timed sets have the same mix of tests and programs.
    pairs = snippet_pairs(args.docs).sample(fraction=1.0, shuffle=True, seed=0)
    modes = pairs["response"].map_elements(check_mode, return_dtype=pl.Utf8)
    warmup = pl.concat([pairs.filter(modes == "test").head(1), pairs.filter(modes == "run").head(1)])
    rest = pairs.filter(~pl.col("pair_id").is_in(warmup["pair_id"].to_list()))
    needed = args.sequential + args.parallel
    if rest.height < needed:
        raise SystemExit(f"only {rest.height} usable examples, {needed} needed")
    sequential, parallel = rest.slice(0, args.sequential), rest.slice(args.sequential, args.parallel)
    root = args.engine_root or Path(tempfile.mkdtemp(prefix="zigtune-bench-"))
    cores = os.cpu_count() or 1
    engine = LocalZigEngine(root, concurrency=cores)
    engine.preflight()
    print(f"load average before: {os.getloadavg()}; {cores} cores; sandbox {root}")

    async def run() -> None:
        # Warm the compiler cache (the standard library, the test runner) with one of each mode.
        await validate_pairs(warmup, engine, None)

        one_at_a_time = LocalZigEngine(root, concurrency=1)
        started = time.perf_counter()
        for row in sequential.iter_rows(named=True):
            await validate_pairs(pl.DataFrame([row], schema=QA_PAIRS_SCHEMA), one_at_a_time, None)
        warm_s = (time.perf_counter() - started) / sequential.height
        bound = cores / warm_s * 60

        cache = ContentCache(root / "verdicts")
        started = time.perf_counter()
        validated, rejected, stats = await validate_pairs(parallel, engine, cache)
        elapsed = time.perf_counter() - started
        throughput = stats.compiled / elapsed * 60

        started = time.perf_counter()
        _, _, again = await validate_pairs(parallel, engine, cache)
        again_s = time.perf_counter() - started

        for name, frame in (("sequential", sequential), ("parallel", parallel)):
            mix = frame["response"].map_elements(check_mode, return_dtype=pl.Utf8).value_counts()
            print(f"modes of the {name} set: {dict(mix.iter_rows())}")
        print(f"warm check, one at a time: {warm_s:.2f} s over {sequential.height} snippets")
        print(f"bound ({cores} / warm time): {bound:.1f} snippets/min")
        print(
            f"throughput: {stats.compiled} snippets in {elapsed:.1f} s = {throughput:.1f} snippets/min "
            f"= {throughput / bound:.0%} of the bound (pass {validated.height}, fail {rejected.height})"
        )
        print(f"re-validation: {again.compiled} compiles, {again.cached} from cache, {again_s:.2f} s")

    asyncio.run(run())
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

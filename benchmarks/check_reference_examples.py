"""Run the local Zig engine over every annotated example of the Zig 0.14.0 reference.

Each example is checked the way its annotation says (test -> zig test, exe -> build and run,
obj -> build-obj, syntax -> ast-check; foreign targets are built, not run) and must agree with the
annotation: pass -> ok; compile_error -> compile_error whose stderr holds the annotated error text;
runtime_failure / runtime_panic -> runtime_error (with the text); test_failure -> test_failure.
With the ``fast`` strategy (the default, as validation uses it) or ``plain`` (one LLVM check each).

    python benchmarks/check_reference_examples.py [--strategy fast|plain] [--docs PATH] [--only NAME ...]

Every declaration is analysed, as in validation, so an example whose unused code does not compile
is rejected even where the reference, built lazily, shows it passing: those few are listed in
``STRICTER_THAN_THE_REFERENCE`` with the compiler's words and reported apart. Prints every
disagreement, the counts and the wall time; exits 1 when any example disagrees otherwise.
Uncached on purpose: it tests the engine. Too slow for the test suite on 2 cores (~287 compiles).
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
from zigtune.validation.batch import STRATEGIES  # noqa: E402
from zigtune.validation.checking import check_examples  # noqa: E402
from zigtune.validation.sandbox import LocalZigEngine  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"

#: Examples annotated ``pass`` that hold a declaration which does not compile once it is analysed:
#: the reference's build never analyses it (Zig is lazy), zigtune analyses every declaration. The
#: engine is right to reject them; each is listed with the compiler's words, and must keep failing so.
STRICTER_THAN_THE_REFERENCE = {
    # `fn _start() callconv(.Naked) noreturn { abort(); }`: nothing references it, and it cannot compile.
    "test_functions.zig": "runtime call not allowed in naked function",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--only", nargs="*", help="example names to check (default: all)")
    parser.add_argument(
        "--engine-root", type=Path, default=None, help="sandbox root (default: a temp dir; its cache is warmed first)"
    )
    parser.add_argument("--report", type=Path, default=None, help="write the per-example table here (.csv)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="fast", help="how to check (default: fast)")
    args = parser.parse_args()

    examples = examples_frame(sections_frame(split_sections(args.docs.read_text(encoding="utf-8"))))
    if args.only:
        examples = examples.filter(pl.col("name").is_in(args.only))
    root = args.engine_root or Path(tempfile.mkdtemp(prefix="zigtune-reference-"))
    engine = LocalZigEngine(root)
    engine.preflight()
    print(
        f"{examples.height} annotated examples, {args.strategy} strategy, {engine.concurrency} concurrent checks "
        f"on {os.cpu_count()} cores; load average {os.getloadavg()}"
    )

    started = time.perf_counter()
    report = asyncio.run(check_examples(engine, examples, strategy=args.strategy))
    elapsed = time.perf_counter() - started

    if args.report:
        report.write_csv(args.report)
    explained = pl.col("name").is_in(list(STRICTER_THAN_THE_REFERENCE)) & pl.struct("name", "reason").map_elements(
        lambda row: STRICTER_THAN_THE_REFERENCE.get(row["name"], "\0") in row["reason"], return_dtype=pl.Boolean
    )
    disagreeing = report.filter(~pl.col("agrees") & ~explained)
    for row in report.filter(~pl.col("agrees") & explained).iter_rows(named=True):
        print(f"STRICTER {row['name']} ({row['kind']}/{row['expect']}): {row['reason']}")
    for row in disagreeing.iter_rows(named=True):
        print(f"DISAGREES {row['name']} ({row['kind']}/{row['expect']} {row['options']}): {row['reason']}")
    by_kind = (
        report.group_by("kind", "expect").agg(pl.len().alias("examples"), pl.col("agrees").sum()).sort("kind", "expect")
    )
    print(by_kind)
    print(
        f"agree: {report['agrees'].sum()}/{report.height}, stricter (explained): "
        f"{report.height - report['agrees'].sum() - disagreeing.height}; wall {elapsed:.1f} s "
        f"({report.height / elapsed * 60:.1f} examples/min); zig {report['zig_version'][0] if report.height else '?'}"
    )
    return 0 if disagreeing.is_empty() else 1


if __name__ == "__main__":
    sys.exit(main())

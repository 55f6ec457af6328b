"""What the sandbox and the honest checks cost: the jail per phase, the declaration lister, the API names.

    python benchmarks/bench_sandbox.py [--repeat 10] [--docs PATH]

In one run:

1. the jail: ``zig version`` run directly and inside a compile jail, ``--repeat`` times each,
   alternating; the difference of the means is what building one jail costs (a check builds two);
2. the declaration lister: every code of the reference's annotated examples listed in one call;
3. API names: every distinct Zig API name the docs generator's pairs put in backticks, looked up
   with an empty cache (the compiles it takes), then again from the cache.

The load average before and after is printed: other processes share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zigtune.docs.sections import examples_frame, sections_frame, split_sections  # noqa: E402
from zigtune.generation.docs_generator import docs_pairs  # noqa: E402
from zigtune.generation.pairs import QA_PAIRS_SCHEMA  # noqa: E402
from zigtune.storage.cache import ContentCache  # noqa: E402
from zigtune.validation.api_names import ApiStatus, api_names, check_api_names  # noqa: E402
from zigtune.validation.declarations import DeclarationLister  # noqa: E402
from zigtune.validation.jail import SETUP_PATH, jail_argv  # noqa: E402
from zigtune.validation.sandbox import LocalZigEngine, zig_binary  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env={"PATH": SETUP_PATH}, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def jail_cost(engine: LocalZigEngine, repeat: int) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(dir=engine.runs_dir()))
    (workdir / "src").mkdir()
    (workdir / "jail").mkdir()
    engine.cache_dir.mkdir(parents=True, exist_ok=True)
    jailed = jail_argv(engine.compile_jail(workdir), ["/zig/zig", "version"], engine.compile_rlimits())
    direct = [str(zig_binary()), "version"]
    plain, inside = [], []
    try:
        for _ in range(repeat):
            plain.append(_timed(direct, workdir))
            inside.append(_timed(jailed, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return statistics.mean(plain), statistics.mean(inside)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; {os.cpu_count()} cores; uid {os.geteuid()}")
    root = Path(tempfile.mkdtemp(prefix="zigtune-bench-sandbox-"))
    engine = LocalZigEngine(root)
    engine.preflight()

    plain, inside = jail_cost(engine, args.repeat)
    print(f"zig version: {plain:.1f} ms directly, {inside:.1f} ms in a jail: {inside - plain:.1f} ms per jail")

    sections = sections_frame(split_sections(args.docs.read_text(encoding="utf-8")))
    codes = examples_frame(sections)["code"].to_list()
    lister = DeclarationLister()

    async def measure() -> None:
        await lister.ensure_built()
        started = time.perf_counter()
        listed = await lister.list_many(codes)
        elapsed = (time.perf_counter() - started) * 1000
        declarations = sum(len(refs or []) for refs in listed)
        print(f"declaration lister: {len(codes)} snippets, {declarations} declarations, one call: {elapsed:.0f} ms")

        pairs = pl.DataFrame(docs_pairs(sections).rows, schema=QA_PAIRS_SCHEMA)
        names = [name for response in pairs["response"] for name in api_names(response)]
        distinct = list(dict.fromkeys(names))
        cache = ContentCache(root / "api-names")
        started = time.perf_counter()
        answers, compiles, _ = await check_api_names(engine, distinct, cache)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        _, again, cached = await check_api_names(engine, distinct, cache)
        warm = (time.perf_counter() - started) * 1000
        by_status = {status.value: sorted(n for n, a in answers.items() if a.status is status) for status in ApiStatus}
        print(
            f"API names: {len(distinct)} distinct in {pairs.height} pairs; {compiles} compiles, {cold:.1f} s; "
            f"again: {again} compiles, {cached} from the cache, {warm:.0f} ms"
        )
        for status, found in by_status.items():
            print(f"  {status}: {len(found)} {found if status != 'known' else ''}")

    asyncio.run(measure())
    shutil.rmtree(root, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

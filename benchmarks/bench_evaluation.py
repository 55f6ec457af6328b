"""Evaluation throughput without a GPU: the gold set's checks with the real Zig, and the openai backend.

``python benchmarks/bench_evaluation.py [--docs PATH] [--latency 0.3] [--concurrency 8]``

1. Gold set: builds every gold task from the whole reference and verifies it (each reference program compiled
   and run by the local Zig sandbox, as ``model_evaluation`` does before asking any model), cold and then
   again from the verdict cache.
2. Scoring a "perfect model": the gold tasks' reference programs as completions, checked and scored; its
   pass@1 must be 1.0 on the verified gold set.
3. The openai backend against the scripted local server (``tests/openai_server.py``) with a fixed latency per
   request: all gold prompts × 2 models at ``--concurrency``, against one request at a time.
Every ratio comes from one run of this script.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.openai_server import OpenAIServer, Reply
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.generation import OpenAIBackend, Prompt
from zigtune.evaluation.scoring import (
    BASE,
    FINE_TUNED,
    Completion,
    ModelStamp,
    check_completions,
    score_completions,
    summarize,
    verified_gold,
)
from zigtune.evaluation.tasks import GOLD, build_tasks
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.sandbox import LocalZigEngine

DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "zig-0.14.0-docs.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()

    sections = sections_frame(split_sections(arguments.docs.read_text(encoding="utf-8")))
    task_set = build_tasks(None, sections, set(), sources=(GOLD,))
    print(f"gold candidates: {task_set.tasks.height}; left out: {dict(task_set.dropped)}")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        engine, cache = LocalZigEngine(root / "sandbox"), ContentCache(root / "verdicts")
        timings = {}
        for label in ("cold", "cached"):
            stats = CheckStats()
            started = time.perf_counter()
            tasks, unsolvable = asyncio.run(verified_gold(task_set.tasks, engine, cache, stats))
            timings[label] = time.perf_counter() - started
            print(
                f"verify gold ({label}): {timings[label]:.2f} s, {stats.compiled} compiled, {stats.cached} cached, "
                f"{tasks.height} kept, {unsolvable} unsolvable"
            )
        print(f"cache speedup: {timings['cold'] / timings['cached']:.0f}x")

        completions = [
            Completion(row["task_id"], role, 0, f"```zig\n{row['reference_code']}```")
            for role in (BASE, FINE_TUNED)
            for row in tasks.iter_rows(named=True)
        ]
        stats = CheckStats()
        started = time.perf_counter()
        results = asyncio.run(check_completions(completions, engine, cache, stats))
        stamps = {BASE: ModelStamp("reference", None, "none"), FINE_TUNED: ModelStamp("reference", "-", "none")}
        frame = score_completions(tasks, completions, results, stamps, Decoding(), "0.14.0", engine.name)
        summary = summarize(frame)
        elapsed = time.perf_counter() - started
        print(
            f"score {len(completions)} perfect completions: {elapsed:.2f} s ({stats.cached} verdicts cached); "
            f"pass@1 {summary['pass_at_1'].to_list()}"
        )

    prompts = [Prompt(row["task_id"], row["messages"]) for row in tasks.iter_rows(named=True)]
    server = OpenAIServer(latency=arguments.latency)
    server.responder = lambda request: Reply("```zig\nconst x = 1;\n```")
    stamps = {BASE: ModelStamp("base", None, "openai"), FINE_TUNED: ModelStamp("tuned", None, "openai")}
    try:
        walls = {}
        for concurrency in (1, arguments.concurrency):
            backend = OpenAIBackend(server.base_url, "none", concurrency=concurrency)
            server.peak_in_flight = 0
            started = time.perf_counter()
            answered, _ = backend.generate(stamps, prompts, Decoding())
            walls[concurrency] = time.perf_counter() - started
            bound = len(answered) * arguments.latency / concurrency
            print(
                f"openai backend, concurrency {concurrency}: {len(answered)} requests in {walls[concurrency]:.2f} s "
                f"(bound {bound:.2f} s, {bound / walls[concurrency]:.0%} of bound, peak in flight "
                f"{server.peak_in_flight})"
            )
        print(f"speedup at concurrency {arguments.concurrency}: {walls[1] / walls[arguments.concurrency]:.1f}x")
    finally:
        server.close()


if __name__ == "__main__":
    main()

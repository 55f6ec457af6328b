"""Evaluation without a GPU: contamination marking on the real data's shape, and the openai backend.

``python benchmarks/bench_evaluation.py [--docs PATH] [--latency 0.3] [--concurrency 8] [--suite zigtune_core]``

1. Contamination: the offline generator's pairs of the whole reference, split by section as the dataset stage
   splits them (eval fraction 0.1, seed 3407); the eval split converted to tasks (``eval_split``), and the
   project's suite, marked against the train split: how many tasks are seen, with what, and how long it takes.
   The naive rule (any shared 50-character window, no common text left out) is shown beside it.
2. The openai backend against the scripted local server (``tests/openai_server.py``) with a fixed latency per
   request: the suite's prompts × 2 models at ``--concurrency``, against one request at a time, then again
   from the cache.
Every ratio comes from one run of this script. The judging throughput is the Zig engine's: see
``benchmarks/check_suite.py`` (the suite's self-check) and the validation benchmark.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from tests.openai_server import OpenAIServer, Reply
from zigtune.dataset.chatml import conversation_record
from zigtune.dataset.splitting import assign_splits
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.evaluation.contamination import mark_seen, normalise
from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.eval_split import eval_split_suite
from zigtune.evaluation.replies import OpenAIBackend
from zigtune.evaluation.scoring import BASE, FINE_TUNED, ModelStamp
from zigtune.evaluation.steps import prompts_of, training_texts
from zigtune.evaluation.suite import Suite, SuiteTask, load_suite
from zigtune.generation.docs_generator import docs_pairs
from zigtune.storage.cache import ContentCache

DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "zig-0.14.0-docs.md"
TURN = pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8}))


def split_pairs(docs: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    sections = sections_frame(split_sections(docs.read_text(encoding="utf-8")))
    pairs = pl.DataFrame(docs_pairs(sections).rows)
    side = assign_splits(pairs["breadcrumb"], 0.1, 3407)
    pairs = pairs.with_columns(
        split=pl.col("breadcrumb").replace_strict(side),
        conversations=pl.struct("instruction", "response").map_elements(
            lambda row: conversation_record(row["instruction"], row["response"])["conversations"], return_dtype=TURN
        ),
    )
    return pairs.filter(pl.col("split") == "train"), pairs.filter(pl.col("split") == "eval")


def naive_seen(tasks: list[SuiteTask], texts: list[str], span: int = 50) -> int:
    windows = {normalise(t)[i : i + span] for t in texts for i in range(len(normalise(t)) - span + 1)}
    count = 0
    for task in tasks:
        fields = [normalise(task.prompt), normalise(task.reference_solution or "")]
        count += any(text[i : i + span] in windows for text in fields for i in range(len(text) - span + 1))
    return count


def contamination(docs: Path, suite_name: str) -> Suite:
    train, held_out = split_pairs(docs)
    texts = training_texts(train)
    conversion = eval_split_suite(held_out)
    suites = [conversion.suite]
    try:
        suites.append(load_suite(suite_name))
    except Exception as error:  # the suite is optional here
        print(f"suite {suite_name}: not loaded ({error})")
    print(
        f"training texts: {len(texts)} ({sum(map(len, texts)):,} characters); eval split: {held_out.height} pairs "
        f"-> {len(conversion.suite.tasks)} tasks, dropped {dict(conversion.dropped)}"
    )
    for suite in suites:
        started = time.perf_counter()
        marks = mark_seen(suite.tasks, texts)
        elapsed = time.perf_counter() - started
        seen = {task_id: mark for task_id, mark in marks.items() if mark is not None}
        print(
            f"{suite.name}: {len(seen)} of {len(suite.tasks)} tasks seen (naive rule: "
            f"{naive_seen(suite.tasks, texts)}), marked in {elapsed:.2f} s; by field "
            f"{dict(Counter(mark.field for mark in seen.values()))}"
        )
        for task_id, mark in seen.items():
            print(f"  {task_id}: {mark.field}: {mark.text[:100]!r}")
    return suites[-1]


def openai_backend(suite: Suite, latency: float, concurrency: int) -> None:
    prompts = prompts_of([suite], [])
    server = OpenAIServer(latency=latency)
    server.responder = lambda request: Reply("```zig\nconst x = 1;\n```")
    stamps = {BASE: ModelStamp("base", None, "openai"), FINE_TUNED: ModelStamp("tuned", "adapter-1", "openai")}
    try:
        walls = {}
        with tempfile.TemporaryDirectory() as directory:
            for label, level in (("1", 1), (str(concurrency), concurrency), ("cached", concurrency)):
                cache = ContentCache(Path(directory) / ("shared" if label != "1" else "serial"))
                backend = OpenAIBackend(server.base_url, "none", concurrency=level, cache=cache)
                server.peak_in_flight, before = 0, len(server.requests)
                started = time.perf_counter()
                answered, stats = backend.generate(stamps, prompts, Decoding())
                walls[label] = time.perf_counter() - started
                sent = len(server.requests) - before
                bound = sent * latency / level
                print(
                    f"openai backend, concurrency {level} ({label}): {len(answered)} replies, {sent} requests, "
                    f"{stats.cached} cached, {walls[label]:.2f} s (bound {bound:.2f} s, peak in flight "
                    f"{server.peak_in_flight})"
                )
        print(f"speedup at concurrency {concurrency}: {walls['1'] / walls[str(concurrency)]:.1f}x")
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--suite", default="zigtune_core")
    arguments = parser.parse_args()
    suite = contamination(arguments.docs, arguments.suite)
    openai_backend(suite, arguments.latency, arguments.concurrency)


if __name__ == "__main__":
    main()

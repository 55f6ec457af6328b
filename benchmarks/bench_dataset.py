"""The chatml dataset stage at the size of a full LLM run: dedup, split, write, card.

The docs generator's pairs of the real reference, plus deterministic LLM-like pairs (``--per-section``
per section, each built from the section's own words) with planted exact repeats and one-word
paraphrases. Measures the whole ``build_dataset`` + ``write_dataset`` + card, and MinHash-LSH dedup
against comparing every pair (same kept set asserted) on the same items, in one run.

    python benchmarks/bench_dataset.py [--docs PATH] [--per-section 8] [--brute-force-limit 4000]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_dataset import validated_from  # noqa: E402
from tests.test_dedup import _brute_force  # noqa: E402
from zigtune.dataset.build import DatasetSettings, build_dataset, write_dataset  # noqa: E402
from zigtune.dataset.card import Funnel, dataset_card  # noqa: E402
from zigtune.dataset.dedup import DEFAULT_NEAR_DUPLICATE_THRESHOLD, Item, deduplicate  # noqa: E402
from zigtune.docs.sections import sections_frame, split_sections  # noqa: E402
from zigtune.generation.docs_generator import docs_pairs  # noqa: E402
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, QA_REJECTS_SCHEMA, pair_row  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"
FORMS = (
    "Explain how {a} relates to {b} in Zig 0.14, and show where {c} fits.",
    "Write a Zig 0.14 program that uses {a} together with {b}; print the result of {c}.",
    "What happens to {a} when {b} is used with {c} in Zig?",
    "Why would a Zig programmer choose {a} over {b} when working with {c}?",
)


def llm_like_pairs(sections: pl.DataFrame, per_section: int, seed: int = 0) -> tuple[list[dict], dict[str, set[str]]]:
    """``per_section`` instructions per section from its words; every 7th repeats the one before (other case
    and punctuation), every 5th other one rewords it ("Briefly, ..."): a near-duplicate. Returns the rows
    and the planted (original id, copy id) pairs by kind of duplicate."""
    rng = random.Random(seed)
    rows: list[dict] = []
    planted: dict[str, list[tuple[str, str]]] = {"exact": [], "near": []}
    for section in sections.iter_rows(named=True):
        words = sorted(set(re.findall(r"[A-Za-z_@][\w.]{3,}", section["text"]))) or ["value"]
        previous, previous_id = None, ""
        for index in range(per_section):
            if previous and index % 7 == 6:
                instruction, plant = previous.upper().rstrip(".?") + " ?", "exact"
            elif previous and index % 5 == 4:
                instruction, plant = "Briefly, " + previous[0].lower() + previous[1:], "near"
            else:
                a, b, c = (rng.choice(words) for _ in range(3))
                instruction = rng.choice(FORMS).format(a=a, b=b, c=c) + f" ({section['breadcrumb']})"
                plant = None
            previous = instruction
            kind = "code" if "program" in instruction else "concept"
            row = pair_row(
                section_id=section["section_id"],
                breadcrumb=section["breadcrumb"],
                instruction=instruction,
                response=f"An answer about {section['title']} ({index}).",
                generator="llm",
                model="bench-model",
                template_hash="bench",
                kind=kind,
            )
            rows.append(row)
            if plant:
                planted[plant].append((previous_id, str(row["pair_id"])))
            previous_id = str(row["pair_id"])
    return rows, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--per-section", type=int, default=8)
    parser.add_argument("--brute-force-limit", type=int, default=4000, help="skip the all-pairs check above this")
    args = parser.parse_args()

    sections = sections_frame(split_sections(args.docs.read_text(encoding="utf-8")))
    llm_rows, planted = llm_like_pairs(sections, args.per_section)
    pairs = pl.DataFrame(docs_pairs(sections).rows + llm_rows, schema=QA_PAIRS_SCHEMA).unique(
        "pair_id", keep="first", maintain_order=True
    )
    validated = validated_from(pairs)
    print(
        f"{sections.height} sections, {validated.height} validated pairs "
        f"({len(llm_rows)} LLM-like; planted {len(planted['exact'])} exact, {len(planted['near'])} near duplicates)"
    )

    started = time.perf_counter()
    build = build_dataset(validated, sections, DatasetSettings())
    built = time.perf_counter()
    funnel = Funnel.from_frames(
        build,
        sections=sections,
        qa_pairs=pairs,
        qa_rejects=pl.DataFrame(schema=QA_REJECTS_SCHEMA),
        validated=validated,
        rejected=validated.head(0),
    )
    with tempfile.TemporaryDirectory() as directory:
        files = write_dataset(build, Path(directory), dataset_card(build, funnel))
        sizes = {p.name: p.stat().st_size for p in Path(directory).iterdir()}
    written = time.perf_counter()
    rows = dict(zip(files["split"], files["rows"], strict=True))
    print(
        f"build_dataset (split + dedup + format): {built - started:.2f} s; "
        f"write files + card: {written - built:.2f} s; "
        f"train {rows['train']}, eval {rows['eval']}, removed {build.duplicates.height} {build.dedup_counts}"
    )
    # Within a section the file order is by pair id, so of a planted pair either one may be the one kept.
    removed = set(build.duplicates["pair_id"])
    missed = [pair for pair in planted["exact"] + planted["near"] if not removed & set(pair)]
    print(f"planted duplicate pairs with neither side removed: {len(missed)}")
    print(f"train.jsonl {sizes['train.jsonl'] / 1e6:.2f} MB, train.parquet {sizes['train.parquet'] / 1e6:.2f} MB")

    # The same instructions in the stage's input order, all on one side, for the two dedup methods.
    items = [Item(r["pair_id"], "train", r["instruction"]) for r in validated.iter_rows(named=True)]
    started = time.perf_counter()
    result = deduplicate(items, DEFAULT_NEAR_DUPLICATE_THRESHOLD)
    lsh_seconds = time.perf_counter() - started
    print(f"dedup of {len(items)} instructions, MinHash LSH + exact check: {lsh_seconds:.2f} s")
    if len(items) <= args.brute_force_limit:
        started = time.perf_counter()
        expected = _brute_force(items, DEFAULT_NEAR_DUPLICATE_THRESHOLD)
        brute_seconds = time.perf_counter() - started
        assert result.kept == expected, "LSH and all-pairs comparison disagree"
        print(
            f"comparing every pair: {brute_seconds:.2f} s, same {len(expected)} kept; "
            f"LSH is {brute_seconds / lsh_seconds:.1f}x faster"
        )


if __name__ == "__main__":
    main()

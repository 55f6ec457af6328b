"""Read a dataset as a person would: N train conversations drawn at random, each with its family and provenance.

``python benchmarks/sample_conversations.py DATASET_DIR [--n 20] [--seed 27]`` prints, for each conversation
drawn from ``DATASET_DIR/train.parquet`` (the chatml dataset's own table: one row a train.jsonl line), its
family, docs section or std file, how it was checked, and the user's and assistant's turns in full. The draw
depends only on the seed and the table, so anyone can read the same 20 and check the tally that
``benchmarks/README.md`` ("Reading the data") gives for the committed data.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import polars as pl


def draw(table: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """``n`` rows of ``table`` chosen by ``random.Random(seed)``, in the order drawn."""
    rows = random.Random(seed).sample(range(table.height), min(n, table.height))
    return table[rows]


def describe(row: dict) -> str:
    """One conversation as text: a header line with where it came from, then each turn."""
    where = row.get("example_name") or row.get("breadcrumb") or row.get("section_id") or "?"
    header = f"## line {row['line']} · {row['family']} · {where} · checked by {row['checked_by']} ({row['check_mode']})"
    turns = row["conversations"]
    body = "\n".join(f"### {turn['role']}\n{turn['content']}" for turn in turns if turn["role"] != "system")
    return f"{header}\n{body}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args()
    table = pl.read_parquet(args.dataset / "train.parquet")
    sample = draw(table, args.n, args.seed)
    print(f"# {sample.height} of {table.height} train conversations (seed {args.seed})\n")
    for row in sample.iter_rows(named=True):
        print(describe(row))


if __name__ == "__main__":
    main()

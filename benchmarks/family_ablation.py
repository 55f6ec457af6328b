"""The training sets of a per-family ablation: the dataset as it is, and the same dataset without each family.

``python benchmarks/family_ablation.py --dataset data/dataset --out DIR [--arm NAME=FAMILY,FAMILY ...]`` reads
``train.parquet`` (the rows of ``train.jsonl`` with their family) and writes ``DIR/all/train.jsonl`` plus one
``DIR/<NAME>/train.jsonl`` per arm, each the full set without the arm's families (same rows, same order), and
``DIR/arms.json`` with every arm's row count. Without ``--arm``: one arm per family present. The GPU side
(``benchmarks/real_model_gpu.sh queue``) trains each with the same recipe; ``python -m zigtune.evaluation
compare`` then gives each arm's pass@1 against the base and against ``all``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl


def arms_of(families: list[str], asked: list[str]) -> dict[str, list[str]]:
    """``NAME=FAMILY,FAMILY`` arms (or one ``no_<family>`` arm per family), every named family checked."""
    if not asked:
        return {f"no_{family}": [family] for family in families}
    arms = {}
    for text in asked:
        name, _, listed = text.partition("=")
        dropped = [family.strip() for family in listed.split(",") if family.strip()]
        unknown = sorted(set(dropped) - set(families))
        if not name or not dropped or unknown:
            raise SystemExit(f"--arm {text!r}: NAME=FAMILY[,FAMILY...] with families among {', '.join(families)}")
        arms[name] = dropped
    return arms


def kept_lines(lines: list[str], frame: pl.DataFrame) -> str:
    """The lines of ``train.jsonl`` (byte for byte) whose rows are in ``frame`` (``line``: the 0-based index)."""
    return "".join(lines[index] for index in sorted(frame["line"].to_list()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="the chatml_dataset directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--arm", action="append", default=[], help="NAME=FAMILY[,FAMILY...]: trained without them")
    arguments = parser.parse_args(argv)
    train = pl.read_parquet(arguments.dataset / "train.parquet").sort("line")
    lines = (arguments.dataset / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) != train.height:
        raise SystemExit(f"{arguments.dataset}: train.jsonl has {len(lines)} lines, train.parquet {train.height} rows")
    families = sorted(train["family"].unique().to_list())
    counts = {"all": {"rows": train.height, "dropped": []}}
    arms = {"all": []} | arms_of(families, arguments.arm)
    for name, dropped in arms.items():
        kept = train.filter(~pl.col("family").is_in(dropped))
        (arguments.out / name).mkdir(parents=True, exist_ok=True)
        (arguments.out / name / "train.jsonl").write_text(kept_lines(lines, kept), encoding="utf-8")
        counts[name] = {"rows": kept.height, "dropped": dropped}
    by_family = train.group_by("family").len().sort("family")
    summary = {"arms": counts, "families": dict(zip(by_family["family"], by_family["len"], strict=True))}
    (arguments.out / "arms.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

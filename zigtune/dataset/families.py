"""Task families in numbers: pairs by family and verdict, yield per family, and examples of each.

A pair's ``family`` says what kind of task it is (``migration_repair``, ``predict_output``, ...; the
LLM generator's pairs are ``llm``). These tables go into the dataset card and the assets' metadata.
Frames without a ``family`` column (tables written before it existed) count under their generator.
No dagster here.
"""

from __future__ import annotations

import polars as pl

#: Checks that test behaviour: the code passed tests, or printed what the pair says.
BEHAVIOUR = ("tests", "output")

EXAMPLE_CHARS = 700


def _family(frame: pl.DataFrame) -> pl.Expr:
    return pl.col("family") if "family" in frame.columns else pl.col("generator").alias("family")


def _counts(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.select(_family(frame)).group_by("family").len(name)


def family_verdicts(checked: pl.DataFrame) -> pl.DataFrame:
    """Pairs by family (rows) and validation verdict (columns), from validated and rejected pairs together."""
    if checked.is_empty():
        return pl.DataFrame(schema={"family": pl.Utf8})
    long = checked.select(_family(checked), "verdict").group_by("family", "verdict").len("pairs")
    wide = long.pivot(on="verdict", index="family", values="pairs", sort_columns=True).fill_null(0)
    return wide.sort("family")


def family_yield(qa_pairs: pl.DataFrame, validated: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    """Per family: pairs generated, validated, in the dataset, and how the dataset's pairs were checked.

    ``checked``: the pair's claim was confirmed by running Zig when it was made; ``behaviour_checked``:
    that run tested behaviour (tests passed, or the printed output is the pair's).
    """
    if kept.is_empty():
        checks = pl.DataFrame(schema={"family": pl.Utf8, "checked": pl.UInt32, "behaviour_checked": pl.UInt32})
    elif "checked" in kept.columns:
        checks = (
            kept.select(_family(kept), "checked", "behaviour_check")
            .group_by("family")
            .agg(
                checked=pl.col("checked").fill_null(False).sum().cast(pl.UInt32),
                behaviour_checked=(pl.col("checked").fill_null(False) & pl.col("behaviour_check").is_in(BEHAVIOUR))
                .sum()
                .cast(pl.UInt32),
            )
        )
    else:
        checks = _counts(kept, "checked").with_columns(pl.lit(0, pl.UInt32).alias("checked"), behaviour_checked=0)
    table = (
        _counts(qa_pairs, "generated")
        .join(_counts(validated, "validated"), on="family", how="full", coalesce=True)
        .join(_counts(kept, "in_dataset"), on="family", how="full", coalesce=True)
        .join(checks, on="family", how="full", coalesce=True)
        .fill_null(0)
        .sort("family")
    )
    return table.with_columns(
        validated_share=(pl.col("validated") / pl.col("generated")).round(3),
        behaviour_share=(pl.col("behaviour_checked") / pl.col("in_dataset")).round(3),
    ).fill_nan(None)


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS].rstrip() + "\n[…]"


def family_examples(rows: pl.DataFrame, per_family: int = 2) -> str:
    """Markdown: the first ``per_family`` pairs of each family, instruction and response, cut to a length."""
    if rows.is_empty():
        return "None."
    blocks = []
    for family, group in rows.with_columns(_family(rows)).group_by("family", maintain_order=True):
        blocks.append(f"### {family[0]}\n")
        for row in group.head(per_family).iter_rows(named=True):
            turns = {turn["role"]: _cut(turn["content"]) for turn in row["conversations"]}
            blocks.append(
                f"*{row['breadcrumb']}* ({row['behaviour_check'] or 'not run'})\n\n"
                f"~~~~text\nUSER: {turns.get('user', '')}\n\nASSISTANT: {turns.get('assistant', '')}\n~~~~\n"
            )
    return "\n".join(blocks)

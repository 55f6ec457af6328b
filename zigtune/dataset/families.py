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

#: Where each family's pairs come from (their provenance and licence), for the dataset card.
PROVENANCE = {
    "reference_example": "the Zig 0.14.0 language reference's examples (MIT)",
    "failure_explanation": "the reference's failing examples (MIT)",
    "migration_repair": "reference examples rewritten in an older release's API by a rule",
    "predict_output": "reference examples and what running them printed here",
    "implement_tests": "reference test files with one function stubbed",
    "variant": "reference examples with constants and words changed (capped share)",
    "concept": "the reference's sections, their prose and code",
    "spec_to_code": "zigtune's own task templates (`generation/spec_bank*.py`), about the reference's sections",
    "mistake_repair": "spec_to_code solutions with one mistake base models make put in by a rule",
    "stdlib_function": "Zig 0.14.0's standard library in the `ziglang` wheel (`lib/std`, MIT; file:line per pair)",
    "llm": "an LLM's answers about the reference's sections",
}

#: How each family's claim was confirmed with Zig 0.14 when it was made.
CHECKED_BY = {
    "reference_example": "the example ran here; an exe's output is what it printed",
    "failure_explanation": "the failure was reproduced; the message quoted is this compiler's",
    "migration_repair": "the old form fails with the rule's message; the fix passes",
    "predict_output": "the answer is what the run printed or reported",
    "implement_tests": "the answer passes the file's tests; the stub fails at its placeholder",
    "variant": "the new output/report is the variant's run; a failing variant's fix is the program that passed",
    "concept": "every code block compiled or ran",
    "spec_to_code": "the solution passes hidden tests; the stub fails them at its placeholder",
    "mistake_repair": "the mistake fails to compile with the rule's message; the fix passes the hidden tests",
    "stdlib_function": "std's own tests for the function pass with it in a standalone file",
    "llm": "validation stage only",
}


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


def family_shares(train: pl.DataFrame) -> pl.DataFrame:
    """Per family of the train split: pairs, share of train, provenance, and how its pairs were checked."""
    if train.is_empty():
        return pl.DataFrame(schema={"family": pl.Utf8, "pairs": pl.UInt32})
    counts = train.select(_family(train)).group_by("family").len("pairs").sort("pairs", descending=True)
    return counts.with_columns(
        share=(pl.col("pairs") / train.height).round(3),
        provenance=pl.col("family").replace_strict(PROVENANCE, default="–"),
        checked_by=pl.col("family").replace_strict(CHECKED_BY, default="–"),
    )

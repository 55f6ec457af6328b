"""What a person reads about an evaluation: base and fine-tuned side by side, per task, sample failures.

No dagster here; every function returns markdown for the asset's metadata.
"""

from __future__ import annotations

import polars as pl

from zigtune.evaluation.scoring import ALL_SOURCES, BASE, FINE_TUNED
from zigtune.metadata import markdown_table

RATES = ("pass_at_1", "compile_rate", "run_rate", "correct_output_rate", "no_code_rate", "truncated_rate")


def _shown(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if isinstance(value, float) else str(value)


def side_by_side(summary: pl.DataFrame) -> str:
    """One table per source (``all`` first): a row per rate, base and fine-tuned in columns, and the change."""
    if not summary.height:
        return "no tasks were evaluated"
    rates = [c for c in summary.columns if c.startswith("pass_at_") and c != "pass_at_1"]
    blocks = []
    sources = [ALL_SOURCES, *sorted(set(summary["source"]) - {ALL_SOURCES})]
    for source in sources:
        part = {row["role"]: row for row in summary.filter(pl.col("source") == source).iter_rows(named=True)}
        if not part:
            continue
        lines = [
            f"**{source}** ({_shown(max(r['tasks'] for r in part.values()))} tasks)",
            "",
            "| | base | fine-tuned | change |",
            "|---|---|---|---|",
        ]
        for rate in (*RATES, *rates):
            base, tuned = part.get(BASE, {}).get(rate), part.get(FINE_TUNED, {}).get(rate)
            change = f"{tuned - base:+.1%}" if isinstance(base, float) and isinstance(tuned, float) else "—"
            lines.append(f"| {rate} | {_shown(base)} | {_shown(tuned)} | {change} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def task_table(results: pl.DataFrame, rows: int = 50) -> str:
    """A row per task: its source, section, each model's passes out of its samples and first verdict."""
    if not results.height:
        return "no tasks were evaluated"
    per_role = results.group_by("task_id", "role", maintain_order=True).agg(
        pl.col("source").first(),
        pl.col("breadcrumb").first(),
        pl.col("seen_in_training").first(),
        (pl.col("passed").sum().cast(pl.Utf8) + "/" + pl.len().cast(pl.Utf8)).alias("passed"),
        pl.col("verdict").first(),
    )
    wide = per_role.pivot(
        on="role", index=["task_id", "source", "breadcrumb", "seen_in_training"], values=["passed", "verdict"]
    )
    shown = [
        c
        for c in (f"passed_{BASE}", f"verdict_{BASE}", f"passed_{FINE_TUNED}", f"verdict_{FINE_TUNED}")
        if c in wide.columns
    ]
    table = wide.select("task_id", "source", "breadcrumb", "seen_in_training", *shown).head(rows)
    more = f"\n\n… and {wide.height - rows} more tasks (the asset's table has them all)" if wide.height > rows else ""
    return markdown_table(table, 80) + more


def failure_samples(results: pl.DataFrame, count: int = 8) -> str:
    """Up to ``count`` failed samples of each model: verdict, what the compiler or program said, the code."""
    blocks = []
    for role in (FINE_TUNED, BASE):
        failed = results.filter((pl.col("role") == role) & ~pl.col("passed")).head(count)
        for row in failed.iter_rows(named=True):
            said = (row["stderr"] or row["stdout"] or "").strip()[:400]
            code = (row["code"] or row["completion"] or "")[:600]
            blocks.append(
                f"**{role}** · `{row['task_id']}` · {row['verdict']}\n\n"
                f"````text\n{said or '(no output)'}\n````\n\n````zig\n{code}\n````"
            )
    return "\n\n".join(blocks) or "no failures"

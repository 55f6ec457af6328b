"""What a person reads about an evaluation: per suite × model rates, the fine-tuned − base difference with its
interval, a per-category table, a chart, per-task rows and sample failures. No dagster here: markdown and PNG.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import polars as pl

from zigtune.evaluation.scoring import ALL, BASE, FINE_TUNED, SEEN, UNSEEN, Difference
from zigtune.metadata import markdown_table

RATES = ("pass_at_1", "compile_rate", "no_code_rate", "truncated_rate")
ROLE_NAMES = {BASE: "base", FINE_TUNED: "fine-tuned"}


def shown(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if isinstance(value, float) else str(value)


def _roles(frame: pl.DataFrame) -> list[str]:
    """The roles in ``frame``: base and fine-tuned first, in that order, then any other in order of appearance."""
    found = list(dict.fromkeys(frame["role"])) if frame.height else []
    return [role for role in ROLE_NAMES if role in found] + [role for role in found if role not in ROLE_NAMES]


def difference_line(difference: Difference | None, subset: str) -> str:
    if difference is None:
        return "fine-tuned − base: not available (both models must answer the same tasks)"
    points = 100 * difference.difference
    sources = difference.sources or difference.tasks
    resampled = (
        f"paired bootstrap over {difference.tasks} independent tasks"
        if sources == difference.tasks
        else f"paired bootstrap over {sources} independent sources ({difference.tasks} tasks, resampled by source)"
    )
    return (
        f"fine-tuned − base pass@1 on {subset} tasks: **{points:+.1f} points** "
        f"({difference.confidence:.0%} interval {100 * difference.low:+.1f} to {100 * difference.high:+.1f}, "
        f"{resampled})"
    )


def suite_tables(summary: pl.DataFrame, headline: str, differences: dict[str, Difference | None]) -> str:
    """Per suite: a row per rate, a column per model (and the change), for the headline subset; the task counts
    of each subset; the fine-tuned − base difference."""
    if not summary.height:
        return "no tasks were evaluated"
    blocks = []
    for suite in dict.fromkeys(summary["suite"]):
        part = summary.filter(pl.col("suite") == suite)
        roles = _roles(part)
        by = {(row["role"], row["subset"]): row for row in part.iter_rows(named=True)}
        counts = {subset: by.get((roles[0], subset), {}).get("tasks") for subset in (ALL, UNSEEN, SEEN)}
        described = (
            f"{counts[ALL]} tasks: {counts[UNSEEN]} unseen, {counts[SEEN]} seen in training"
            if headline == UNSEEN
            else f"{counts[ALL]} tasks (contamination not checked)"
        )
        ks = [c for c in part.columns if c.startswith("pass_at_") and c != "pass_at_1" and part[c].null_count() == 0]
        lines = [f"**{suite}** — {described}; rates on **{headline}** tasks", ""]
        paired = len(roles) == 2
        lines.append("| | " + " | ".join(ROLE_NAMES.get(r, r) for r in roles) + (" | change |" if paired else " |"))
        lines.append("|---|" + "---|" * (len(roles) + paired))
        for rate in (*RATES[:2], *ks, *RATES[2:]):
            values = [by.get((role, headline), {}).get(rate) for role in roles]
            cells = [shown(v) for v in values]
            if paired:
                both = all(isinstance(v, float) for v in values)
                cells.append(f"{100 * (values[1] - values[0]):+.1f} pts" if both else "—")  # type: ignore[operator]
            lines.append(f"| {rate} | " + " | ".join(cells) + " |")
        if headline == UNSEEN:
            seen_rates = " | ".join(shown(by.get((role, SEEN), {}).get("pass_at_1")) for role in roles)
            lines.append(f"| pass_at_1 on seen tasks (not the headline) | {seen_rates} |" + (" |" if paired else ""))
        if suite in differences:
            lines += ["", difference_line(differences[suite], headline)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def category_table(categories: pl.DataFrame) -> str:
    """A row per (suite, category): tasks and each model's pass@1 and compile rate."""
    if not categories.height:
        return "no tasks were evaluated"
    roles = _roles(categories)
    wide = categories.pivot(on="role", index=["suite", "category", "tasks"], values=["pass_at_1", "compile_rate"])
    columns = ["suite", "category", "tasks"]
    renamed = {}
    for value in ("pass_at_1", "compile_rate"):
        for role in roles:
            name = f"{value}_{role}" if f"{value}_{role}" in wide.columns else value
            if name in wide.columns:
                renamed[name] = f"{ROLE_NAMES.get(role, role)} {value.replace('_at_', '@')}"
                columns.append(name)
    table = wide.select(columns).rename(renamed)
    table = table.with_columns(pl.col(c).map_elements(shown, return_dtype=pl.Utf8) for c in renamed.values())
    return markdown_table(table)


def task_table(results: pl.DataFrame, rows: int = 50) -> str:
    """A row per task: suite, category, seen, each model's passes out of its samples and first verdict."""
    if not results.height:
        return "no tasks were evaluated"
    per_role = results.group_by("suite", "task_id", "role", maintain_order=True).agg(
        pl.col("category").first(),
        pl.col("seen").first(),
        (pl.col("passed").sum().cast(pl.Utf8) + "/" + pl.len().cast(pl.Utf8)).alias("passed"),
        pl.col("verdict").first(),
    )
    wide = per_role.pivot(on="role", index=["suite", "task_id", "category", "seen"], values=["passed", "verdict"])
    roles = _roles(results)
    shown_columns = [
        c for role in roles for c in (f"passed_{role}", f"verdict_{role}", "passed", "verdict") if c in wide.columns
    ]
    table = wide.select("suite", "task_id", "category", "seen", *dict.fromkeys(shown_columns)).head(rows)
    more = f"\n\n… and {wide.height - rows} more tasks (the asset's table has them all)" if wide.height > rows else ""
    return markdown_table(table, 80) + more


def failure_samples(results: pl.DataFrame, count: int = 8) -> str:
    """Up to ``count`` failed samples of each model: verdict, what the compiler or program said, the code."""
    blocks = []
    for role in reversed(_roles(results)):
        failed = results.filter((pl.col("role") == role) & ~pl.col("passed")).head(count)
        for row in failed.iter_rows(named=True):
            said = (row["stderr"] or row["stdout"] or "").strip()[:400]
            code = (row["code"] or row["completion"] or "")[:600]
            blocks.append(
                f"**{role}** · `{row['suite']}/{row['task_id']}` · {row['verdict']}\n\n"
                f"````text\n{said or '(no output)'}\n````\n\n````zig\n{code}\n````"
            )
    return "\n\n".join(blocks) or "no failures"


def chart_png(summary: pl.DataFrame, categories: pl.DataFrame, headline: str) -> bytes:
    """Bars of pass@1 per model: per suite (headline subset) and per category, one panel per suite."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = list(dict.fromkeys(summary["suite"])) if summary.height else []
    roles = _roles(summary) if summary.height else []
    figure, axes = plt.subplots(len(suites) or 1, 1, figsize=(10, 3.2 * max(len(suites), 1)), squeeze=False)
    for axis, suite in zip(axes[:, 0], suites, strict=False):
        headline_rows = summary.filter((pl.col("suite") == suite) & (pl.col("subset") == headline))
        part = categories.filter(pl.col("suite") == suite) if categories.height else categories
        labels = [f"{headline} (all)"] + (sorted(set(part["category"])) if part.height else [])
        width = 0.8 / max(len(roles), 1)
        for index, role in enumerate(roles):
            values = [_value(headline_rows, role, None)]
            values += [_value(part, role, category) for category in labels[1:]]
            positions = [i + (index - (len(roles) - 1) / 2) * width for i in range(len(labels))]
            axis.bar(positions, values, width, label=ROLE_NAMES.get(role, role))
        axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, 1)
        axis.set_ylabel("pass@1")
        axis.set_title(f"{suite}: pass@1 on {headline} tasks, overall and per category", fontsize=10)
        axis.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def _value(frame: pl.DataFrame, role: str, category: str | None) -> float:
    if not frame.height:
        return 0.0
    rows = frame.filter(pl.col("role") == role)
    if category is not None:
        rows = rows.filter(pl.col("category") == category)
    value: Any = rows["pass_at_1"][0] if rows.height else None
    return float(value) if value is not None else 0.0


def markdown_image(png: bytes, alt: str) -> str:
    """The PNG inline in markdown (a data URI), as the Dagster UI shows it."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"

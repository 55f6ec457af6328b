"""Small helpers that turn tables into what a person reads in the Dagster UI. No dagster here."""

from __future__ import annotations

import polars as pl


def markdown_table(frame: pl.DataFrame, max_cell: int = 120) -> str:
    """A markdown table of ``frame`` (cells cut to ``max_cell`` characters, newlines and pipes escaped)."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = text.replace("\n", " ").replace("|", "\\|")
        return text if len(text) <= max_cell else text[: max_cell - 1] + "…"

    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "\n".join("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows())

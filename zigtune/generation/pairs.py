"""The ``qa_pairs`` and ``qa_rejects`` tables: their schemas and the helpers that fill them.

Both generators (``docs`` and ``llm``) produce rows through ``pair_row`` and ``reject_row``, so a
pair's id, kind and columns mean the same whatever made it. No dagster here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Literal

import polars as pl

#: The ``model`` value of pairs the deterministic docs generator writes.
DOCS_MODEL = "zig-docs"

Kind = Literal["concept", "code"]
Generator = Literal["docs", "llm"]

#: The schema of the ``qa_pairs`` asset: one instruction/response pair per row.
QA_PAIRS_SCHEMA = pl.Schema(
    {
        "pair_id": pl.Utf8,
        "section_id": pl.Utf8,
        "breadcrumb": pl.Utf8,
        "instruction": pl.Utf8,
        "response": pl.Utf8,
        "kind": pl.Utf8,
        "generator": pl.Utf8,
        "model": pl.Utf8,
        "template_hash": pl.Utf8,
        "expected_output": pl.Utf8,
        "example_name": pl.Utf8,
    }
)

#: The schema of the ``qa_rejects`` asset: every generation that did not become a pair, and why.
QA_REJECTS_SCHEMA = pl.Schema(
    {
        "section_id": pl.Utf8,
        "breadcrumb": pl.Utf8,
        "generator": pl.Utf8,
        "model": pl.Utf8,
        "reason": pl.Utf8,
        "raw": pl.Utf8,
    }
)

# A response is code when it holds a fenced block or starts lines the way Zig source does.
_FENCE = re.compile(r"```")
_ZIG_LINE = re.compile(r"^\s*(?:pub\s+)?(?:fn\s+\w+\s*\(|const\s+\w+\s*=|test\s+\"|var\s+\w+\s*[:=])", re.MULTILINE)


def classify_kind(response: str) -> Kind:
    """``code`` when the response carries Zig code (a fence, or lines like ``const x =`` / ``fn f(``)."""
    return "code" if _FENCE.search(response) or len(_ZIG_LINE.findall(response)) >= 2 else "concept"


def pair_id(section_id: str, generator: str, model: str, instruction: str, response: str) -> str:
    """A stable id: the same pair from the same section and model always gets the same id."""
    blob = "\x00".join((section_id, generator, model, instruction, response))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def pair_row(
    *,
    section_id: str,
    breadcrumb: str,
    instruction: str,
    response: str,
    generator: Generator,
    model: str,
    template_hash: str,
    kind: Kind | None = None,
    expected_output: str | None = None,
    example_name: str | None = None,
) -> dict[str, str | None]:
    """One ``qa_pairs`` row; ``kind`` defaults to ``classify_kind(response)``."""
    return {
        "pair_id": pair_id(section_id, generator, model, instruction, response),
        "section_id": section_id,
        "breadcrumb": breadcrumb,
        "instruction": instruction,
        "response": response,
        "kind": kind or classify_kind(response),
        "generator": generator,
        "model": model,
        "template_hash": template_hash,
        "expected_output": expected_output,
        "example_name": example_name,
    }


def reject_row(
    *, section_id: str, breadcrumb: str, generator: Generator, model: str, reason: str, raw: str
) -> dict[str, str]:
    return {
        "section_id": section_id,
        "breadcrumb": breadcrumb,
        "generator": generator,
        "model": model,
        "reason": reason,
        "raw": raw,
    }


def pairs_frame(rows: Iterable[dict[str, str | None]]) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """The ``qa_pairs`` table, first occurrence of each ``pair_id`` kept; the repeats as reject rows."""
    kept: list[dict[str, str | None]] = []
    repeats: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in rows:
        if row["pair_id"] in seen:
            repeats.append(
                reject_row(
                    section_id=str(row["section_id"]),
                    breadcrumb=str(row["breadcrumb"]),
                    generator=row["generator"],  # type: ignore[arg-type]
                    model=str(row["model"]),
                    reason="duplicate_pair",
                    raw=str(row["instruction"]),
                )
            )
            continue
        seen.add(str(row["pair_id"]))
        kept.append(row)
    return pl.DataFrame(kept, schema=QA_PAIRS_SCHEMA), repeats


def rejects_frame(rows: Iterable[dict[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=QA_REJECTS_SCHEMA)

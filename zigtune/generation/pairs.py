"""The ``qa_pairs`` and ``qa_rejects`` tables: their schemas and the helpers that fill them.

Both generators (``docs`` and ``llm``) produce rows through ``pair_row`` and ``reject_row``, so a
pair's id, kind and columns mean the same whatever made it.

Besides the pair itself a row says how it was checked when it was made: its ``family`` (what kind of
task it is), ``checked`` (the pair's claim was confirmed by running Zig 0.14 at generation time),
``behaviour_check`` (what that run checked: see ``BEHAVIOUR_CHECKS``), ``check_code`` and
``check_verdict`` (the program that was run when it is not the response's own code, such as the
program of a "what does this print?" task, and the verdict its run gave, which validation runs it
again to confirm) and ``expected_output`` (what a correct program prints). No dagster here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

import polars as pl

from zigtune.generation.version import OFFLINE_VERSION
from zigtune.validation.code_extraction import extract_zig_code

#: The ``model`` value of pairs the deterministic docs generator writes.
DOCS_MODEL = "zig-docs"

#: One ``qa_pairs`` row, as ``pair_row`` makes it.
Row = dict[str, str | bool | None]

Kind = Literal["concept", "code"]
Generator = Literal["docs", "llm"]

#: What running Zig checked when a pair was made. ``tests``: the code passed test blocks that exercise
#: it; ``output``: the code ran and printed what the pair says (``expected_output`` or the answer);
#: ``error``: the code failed exactly as the pair says (the compiler's or the runtime's message);
#: ``runs``: it ran to a clean exit, with nothing compared; ``compiles``: it compiled, nothing ran.
#: ``tests`` and ``output`` are behaviour checks; the others are not.
BEHAVIOUR_CHECKS = ("tests", "output", "error", "runs", "compiles")
BehaviourCheck = Literal["tests", "output", "error", "runs", "compiles"]

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
        "family": pl.Utf8,
        "checked": pl.Boolean,
        "behaviour_check": pl.Utf8,
        "check_code": pl.Utf8,
        "check_verdict": pl.Utf8,
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


def classify_kind(response: str) -> Kind:
    """``code`` when the response carries Zig code as validation finds it (``extract_zig_code``): a ``zig``
    block, an untagged block that reads as Zig, or a whole Zig program; an answer whose only code is in
    another language (a ``python`` block) is a ``concept`` pair."""
    return "code" if extract_zig_code(response) is not None else "concept"


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
    family: str | None = None,
    checked: bool = False,
    behaviour_check: BehaviourCheck | None = None,
    check_code: str | None = None,
    check_verdict: str | None = None,
) -> Row:
    """One ``qa_pairs`` row; ``kind`` defaults to ``classify_kind(response)``, ``family`` to the generator."""
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
        "family": family or generator,
        "checked": checked,
        "behaviour_check": behaviour_check,
        "check_code": check_code,
        "check_verdict": check_verdict,
    }


def docs_pair(**columns: Any) -> Row:
    """A ``pair_row`` of the offline (``docs``) generator: its model, and its version as the template hash."""
    return pair_row(generator="docs", model=DOCS_MODEL, template_hash=OFFLINE_VERSION, **columns)


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


def pairs_frame(rows: Iterable[Row]) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """The ``qa_pairs`` table, first occurrence of each ``pair_id`` kept; the repeats as reject rows."""
    kept: list[Row] = []
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

"""The basics spec bank: distinct tasks about real sections of the reference, a sample kept by the real compiler.

The whole bank is compiled by the pipeline; here a sample of six tasks (one compile each for the solution
and the stub) shows that the bank's tasks are kept as written.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import polars as pl

from zigtune.docs.sections import split_sections
from zigtune.evaluation.contamination import mark_seen
from zigtune.evaluation.suite import load_suite
from zigtune.generation.execution import Checker, FamilyResult, engine_checker
from zigtune.generation.pairs import Row
from zigtune.generation.spec_bank import all_tasks
from zigtune.generation.spec_bank_basics import basics_tasks
from zigtune.generation.spec_tasks import SpecTask, spec_task_pairs, task_prompt
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.sandbox import LocalZigEngine

SUITE = Path(__file__).resolve().parent.parent / "zigtune" / "evaluation" / "suites" / "zigtune_core.jsonl"

#: One task from each of six families, the sample compiled here.
SAMPLE = (
    "parameter_copy/applyDiscounts",
    "signed_division/DayTime",
    "cast/Month",
    "overflow/bigAdd",
    "error_flow/parseCelsius",
    "optional_value/SortedList",
)


def reference_sections(markdown: str) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"section_id": f"id-{i}", "order": i, "title": s.title, "breadcrumb": " > ".join(s.breadcrumb)}
            for i, s in enumerate(split_sections(markdown))
        ]
    )


def test_the_basics_bank_has_distinct_tasks_about_sections_of_the_reference(docs_markdown: str) -> None:
    tasks = basics_tasks()
    names = [t.name for t in tasks]
    assert len(set(names)) == len(tasks) >= 40
    others = [t for t in all_tasks() if t.name not in set(names)]  # the bank is part of all_tasks
    assert len(others) + len(tasks) == len(all_tasks())  # so no name of it is in another bank
    assert not {t.solution for t in tasks} & {t.solution for t in others}
    assert len({t.solution for t in tasks}) == len(tasks) and len({t.tests for t in tasks}) == len(tasks)
    assert len({t.family for t in tasks}) >= 6
    titles = {s.title for s in split_sections(docs_markdown)}
    assert {t.section for t in tasks} <= titles
    solutions = "\n".join(t.solution for t in tasks)
    assert not re.search(r"\bif [^(]", solutions) and not re.search(r"\bvar \w+ = \d+;", solutions)
    for rule in ("@divFloor(", "@mod(", "@rem(", "@intCast(", "for (a, b) |x, y|", "|*", "catch |err| switch"):
        assert rule in solutions, rule


def test_no_zigtune_core_task_is_seen_because_of_the_basics_bank() -> None:
    suite = load_suite(SUITE)
    texts = [task_prompt(t.spec, t.stub()) + "\n" + t.solution for t in basics_tasks()]
    seen = {task_id: span for task_id, span in mark_seen(list(suite.tasks), texts).items() if span is not None}
    assert seen == {}


def test_a_sample_of_the_basics_bank_is_kept_by_the_compiler(zig_sandbox_root: Path, docs_markdown: str) -> None:
    sample = [t for t in basics_tasks() if t.name in SAMPLE]
    assert len(sample) == len(SAMPLE)

    async def main() -> tuple[FamilyResult, list[tuple[SpecTask, Row]]]:
        check: Checker = engine_checker(
            LocalZigEngine(zig_sandbox_root, concurrency=2), ContentCache(zig_sandbox_root / "v"), CheckStats()
        )
        return await spec_task_pairs(reference_sections(docs_markdown), check, sample)

    result, kept = asyncio.run(main())
    assert [task.name for task, _ in kept] == [t.name for t in sample], dict(result.dropped)

"""The mid-size program tasks: distinct, about real sections of the reference, and kept by the real compiler.

One sample task per family is compiled (solution and stub, a dozen small compiles); the whole table is the
pipeline's to check.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import polars as pl

from zigtune.docs.sections import split_sections
from zigtune.generation.execution import Checker, FamilyResult, engine_checker
from zigtune.generation.pairs import Row
from zigtune.generation.spec_bank import all_tasks
from zigtune.generation.spec_bank_programs import programs_tasks
from zigtune.generation.spec_tasks import SpecTask, spec_task_pairs
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.sandbox import LocalZigEngine

#: One task of each family, small enough to compile quickly.
SAMPLE = (
    "memory_program/StringPool",
    "linked_program/JobQueue",
    "union_program/VendingMachine",
    "generic_program/describeType",
    "sort_program/mergeIntervals",
    "text_program/runLength",
)


def test_program_tasks_are_distinct_and_new() -> None:
    tasks = programs_tasks()
    assert len(tasks) >= 40
    assert len({t.name for t in tasks}) == len(tasks)
    assert len({t.solution for t in tasks}) == len(tasks) and len({t.tests for t in tasks}) == len(tasks)
    assert {t.family for t in tasks} == {name.split("/")[0] for name in SAMPLE}
    own = {t.name for t in tasks}
    existing = [t for t in all_tasks() if t.name not in own]  # the bank is part of all_tasks
    assert len(existing) + len(tasks) == len(all_tasks())
    assert not {t.name.split("/")[1] for t in tasks} & {t.name.split("/")[1] for t in existing}
    assert not {t.solution for t in tasks} & {t.solution for t in existing}
    solutions = "\n".join(t.solution for t in tasks)
    assert not re.search(r"\bif [^(]", solutions) and not re.search(r"\bvar \w+ = \d+;", solutions)
    assert "std.testing.allocator" in "\n".join(t.tests for t in tasks)


def test_every_program_task_names_a_section_of_the_reference(docs_markdown: str) -> None:
    titles = {section.title for section in split_sections(docs_markdown)}
    assert {t.section for t in programs_tasks()} <= titles


def test_a_sample_of_program_tasks_is_kept_by_the_compiler(docs_markdown: str, zig_sandbox_root: Path) -> None:
    chosen = [t for t in programs_tasks() if t.name in SAMPLE]
    assert len(chosen) == len(SAMPLE)
    sections = pl.DataFrame(
        [
            {"section_id": f"id-{i}", "order": i, "title": s.title, "breadcrumb": " > ".join(s.breadcrumb)}
            for i, s in enumerate(split_sections(docs_markdown))
        ]
    )

    async def main() -> tuple[FamilyResult, list[tuple[SpecTask, Row]]]:
        check: Checker = engine_checker(
            LocalZigEngine(zig_sandbox_root, concurrency=2), ContentCache(zig_sandbox_root / "v"), CheckStats()
        )
        return await spec_task_pairs(sections, check, chosen)

    result, kept = asyncio.run(main())
    assert dict(result.dropped) == {}
    assert sorted(task.name for task, _ in kept) == sorted(SAMPLE)

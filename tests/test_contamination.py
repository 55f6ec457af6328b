"""Shared spans between training pairs and evaluation tasks, and the dataset stage that removes them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from zigtune.dataset.build import DatasetSettings, build_dataset, conversation_text, write_dataset
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.evaluation.contamination import SharedSpan, SuiteFileError, shared_spans, suite_texts
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, QA_REJECTS_SCHEMA, pair_row

BOILERPLATE = 'const std = @import("std");\nconst expect = std.testing.expect;\n'
SOLUTION = "pub fn rotateLeft(items: []u32, by: usize) void {\n    std.mem.rotate(u32, items, by % items.len);\n}\n"


def test_a_fifty_character_run_is_shared_whatever_the_whitespace() -> None:
    task = "Rotate the slice left by `by` places, wrapping around: the first element moves to the end."
    training = ["Intro.\n" + task.replace(" ", "\n    ", 3) + " More.", "Nothing alike here at all, not one run."]
    found = shared_spans(training, [task], common_docs=5)
    assert [(s.a, s.b) for s in found] == [(0, 0)] and len(found[0].text) == 50
    assert found[0].text in " ".join(task.split())
    # 49 characters in common is not a shared span.
    assert shared_spans([task[:49]], [task], common_docs=5) == []
    assert shared_spans([task[:50]], [task], common_docs=5) == [SharedSpan(0, 0, task[:50])]


def test_boilerplate_lines_are_not_evidence() -> None:
    task = BOILERPLATE + SOLUTION
    training = [BOILERPLATE + f"test {{ try expect({i} == {i}); }}\n" for i in range(10)]
    assert shared_spans(training, [task], common_docs=5) == []
    leaked = [*training, "Here is how:\n" + SOLUTION]
    assert [s.a for s in shared_spans(leaked, [task], common_docs=5)] == [10]
    with pytest.raises(ValueError, match="span"):
        shared_spans(training, [task], span=0)


def test_suite_files_are_read_with_one_clear_line_on_bad_input(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    rows = [{"id": "a/1", "prompt": "Do it.", "reference_solution": SOLUTION}, {"id": "a/2", "prompt": "Again."}]
    suite.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert suite_texts(suite) == [("a/1", "Do it.\n" + SOLUTION), ("a/2", "Again.")]
    suite.write_text('{"id": "a/1", "prompt": "ok"}\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(SuiteFileError, match=r"suite.jsonl:2: a task needs a string 'id' and 'prompt'"):
        suite_texts(suite)
    suite.write_text("not json\n", encoding="utf-8")
    with pytest.raises(SuiteFileError, match=r"suite.jsonl:1: not JSON"):
        suite_texts(suite)
    with pytest.raises(SuiteFileError, match="cannot be read"):
        suite_texts(tmp_path / "missing.jsonl")


def _validated(rows: list[dict]) -> pl.DataFrame:
    pairs = pl.DataFrame(rows, schema=QA_PAIRS_SCHEMA)
    return pairs.with_columns(
        code=pl.lit(None, pl.Utf8),
        has_code=pl.lit(False),
        check_mode=pl.lit(None, pl.Utf8),
        verdict=pl.lit("ok"),
        passed=pl.lit(True),
        stdout=pl.lit(""),
        stderr=pl.lit(""),
        duration_ms=pl.lit(0.0),
        zig_version=pl.lit("0.14.0"),
        engine=pl.lit("local"),
    )


def test_the_dataset_drops_train_pairs_that_share_text_with_an_evaluation_task(tmp_path: Path) -> None:
    sections = pl.DataFrame(
        {"section_id": [f"s{i}" for i in range(20)], "order": list(range(20))},
        schema={"section_id": pl.Utf8, "order": pl.Int32},
    )

    def row(i: int, response: str) -> dict:
        return pair_row(
            section_id=f"s{i}",
            breadcrumb=f"Topic {i}",
            instruction=f"Question number {i} about a different part of the language.",
            response=response,
            generator="docs",
            model="zig-docs",
            template_hash="t",
            family="predict_output" if i else "migration_repair",
        )

    rows = [row(0, "```zig\n" + BOILERPLATE + SOLUTION + "```")]
    rows += [row(i, "```zig\n" + BOILERPLATE + f"test {{ try expect({i} > 0); }}\n```") for i in range(1, 20)]
    validated = _validated(rows)
    tasks = (("core/rotate", "Rotate a slice.\n" + BOILERPLATE + SOLUTION),)
    build = build_dataset(validated, sections, DatasetSettings(eval_fraction=0.0, evaluation_tasks=tasks))
    assert build.contaminated["pair_id"].to_list() == [rows[0]["pair_id"]]
    assert build.contaminated["task_id"].to_list() == ["core/rotate"]
    assert build.contaminated["family"].to_list() == ["migration_repair"]
    assert build.rows.height == 19 and rows[0]["pair_id"] not in set(build.rows["pair_id"])
    # Nothing left in train shares a span with the task, by the same rules.
    texts = [conversation_text(turns) for turns in build.split("train")["conversations"].to_list()]
    assert shared_spans(texts, [text for _, text in tasks]) == []
    # Without tasks nothing is removed.
    assert build_dataset(validated, sections, DatasetSettings(eval_fraction=0.0)).rows.height == 20

    funnel = Funnel.from_frames(
        build,
        sections=sections,
        qa_pairs=pl.DataFrame(rows, schema=QA_PAIRS_SCHEMA),
        qa_rejects=pl.DataFrame(schema=QA_REJECTS_SCHEMA),
        validated=validated,
        rejected=validated.head(0),
    )
    card = dataset_card(build, funnel)
    write_dataset(build, tmp_path, card)
    assert pl.read_parquet(tmp_path / "contaminated.parquet").height == 1
    assert "1 train pairs shared a run of 50 characters" in card
    assert "## Task families" in card and "| migration_repair | 1 | 1 | 0 |" in card
    assert "### predict_output" in card and "The LLM repair loop did not run" in card

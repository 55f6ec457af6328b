"""Contamination: a task's own text is seen however often the training data repeats it (the reference's
``values.zig`` in 20 of 1,600 training texts), and the dataset stage removes the train pairs in which the
contamination report would see an evaluation task."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from zigtune.dataset.build import DatasetSettings, build_dataset, write_dataset
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.docs.sections import split_sections
from zigtune.evaluation.contamination import conversation_text, mark_seen
from zigtune.evaluation.suite import Check, SuiteTask, load_suite
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, QA_REJECTS_SCHEMA, pair_row
from zigtune.validation.checking import VALIDATED_PAIRS_SCHEMA

BOILERPLATE = 'const std = @import("std");\nconst expect = std.testing.expect;\n'
SOLUTION = "pub fn rotateLeft(items: []u32, by: usize) void {\n    std.mem.rotate(u32, items, by % items.len);\n}\n"


def _docs_programs(docs_markdown: str) -> dict[str, str]:
    """The reference's annotated examples, by file name."""
    return {example.name: example.code for section in split_sections(docs_markdown) for example in section.examples}


def _conversation(question: str, code: str) -> str:
    return conversation_text(
        [{"role": "user", "content": question}, {"role": "assistant", "content": f"```zig\n{code}```"}]
    )


def _values_task(code: str) -> SuiteTask:
    return SuiteTask(
        id="docs/values",
        prompt="Write a program that prints an integer sum, a float quotient, a boolean, an optional and an "
        "error union, each on its own line.",
        files={},
        hidden_files={},
        check=Check("run", expected_output="1 + 1 = 2\n", stream="stderr"),
        solution_file="values.zig",
        reference_solution=code,
    )


def _training(programs: dict[str, str], repeated: str, copies: int, total: int = 1600) -> list[str]:
    """``total`` training conversations about the reference's programs, ``copies`` of them about ``repeated``."""
    others = [code for name, code in sorted(programs.items()) if code != repeated]
    texts = [_conversation(f"Question {i}: what does this program show?", repeated) for i in range(copies)]
    texts += [
        _conversation(f"Question {i}: explain this example.", others[i % len(others)]) for i in range(copies, total)
    ]
    return texts


def test_a_program_the_training_data_repeats_is_seen(docs_markdown: str) -> None:
    programs = _docs_programs(docs_markdown)
    values = programs["values.zig"]
    task = _values_task(values)
    suite = [*load_suite("zigtune_core").tasks, task]  # a realistic suite: its template is found among 73 tasks
    for copies in (1, 20, 400):
        marks = mark_seen(suite, _training(programs, values, copies))
        assert marks[task.id] is not None, f"values.zig in {copies} of 1,600 training texts was called unseen"
        assert marks[task.id].field == "reference_solution" and len(marks[task.id].text) > 200
    # Not in the training data at all: unseen. Boilerplate alone (its std import and aliases) is not evidence.
    marks = mark_seen(suite, _training({k: v for k, v in programs.items() if k != "values.zig"}, "", 0))
    assert marks[task.id] is None
    boilerplate = 'const print = std.debug.print;\nconst std = @import("std");\nconst os = std.os;\n'
    assert boilerplate in values
    assert mark_seen(suite, [_conversation("Imports", boilerplate)] * 1600)[task.id] is None


def test_the_dataset_removes_every_copy_of_a_repeated_program(docs_markdown: str) -> None:
    programs = _docs_programs(docs_markdown)
    values = programs["values.zig"]
    task = _values_task(values)
    sections = pl.DataFrame(
        {"section_id": [f"s{i}" for i in range(200)], "order": list(range(200))},
        schema={"section_id": pl.Utf8, "order": pl.Int32},
    )
    others = [code for name, code in sorted(programs.items()) if name != "values.zig"]
    rows = [
        pair_row(
            section_id=f"s{i}",
            breadcrumb=f"Topic {i}",
            instruction=f"Question {i}: {'what does Values show' if i < 20 else 'explain this example'} (part {i})?",
            response="```zig\n" + (values if i < 20 else others[i]) + "```",
            generator="docs",
            model="zig-docs",
            template_hash="t",
            family="explain_code",
        )
        for i in range(200)
    ]
    validated = _validated(rows)
    settings = DatasetSettings(eval_fraction=0.0, near_duplicate_threshold=1.0, evaluation_tasks=(task,))
    build = build_dataset(validated, sections, settings)
    removed = set(build.contaminated["pair_id"])
    assert removed >= {row["pair_id"] for row in rows[:20]}  # all 20 copies (10% of the train texts)
    texts = [conversation_text(turns) for turns in build.split("train")["conversations"].to_list()]
    assert mark_seen([task], texts) == {task.id: None}


def _validated(rows: list[dict]) -> pl.DataFrame:
    """The pairs as validation leaves them when each passed its code check."""
    pairs = pl.DataFrame(rows, schema=QA_PAIRS_SCHEMA)
    return pairs.with_columns(
        code=pl.col("response"),
        has_code=pl.lit(True),
        check_mode=pl.lit("test"),
        api_names=pl.lit([], dtype=pl.List(pl.Utf8)),
        unknown_apis=pl.lit([], dtype=pl.List(pl.Utf8)),
        checked_by=pl.lit("code"),
        unchecked_reason=pl.lit(None, pl.Utf8),
        verdict=pl.lit("ok"),
        passed=pl.lit(True),
        stdout=pl.lit(""),
        stderr=pl.lit(""),
        duration_ms=pl.lit(0.0),
        zig_version=pl.lit("0.14.0"),
        engine=pl.lit("local"),
    ).select(*VALIDATED_PAIRS_SCHEMA)


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
    task = SuiteTask(
        id="core/rotate",
        prompt="Rotate a slice left by a number of places, wrapping around.",
        files={},
        hidden_files={"test_rotate.zig": "test {}\n"},
        check=Check("test", file="test_rotate.zig"),
        solution_file="rotate.zig",
        reference_solution=BOILERPLATE + SOLUTION,
    )
    settings = DatasetSettings(eval_fraction=0.0, evaluation_tasks=(task,))
    before = build_dataset(validated, sections, DatasetSettings(eval_fraction=0.0))
    texts = [conversation_text(turns) for turns in before.split("train")["conversations"].to_list()]
    assert mark_seen([task], texts)["core/rotate"] is not None  # the report sees it without the filter
    build = build_dataset(validated, sections, settings)
    assert build.contaminated["pair_id"].to_list() == [rows[0]["pair_id"]]
    assert build.contaminated["task_id"].to_list() == ["core/rotate"]
    assert build.contaminated["family"].to_list() == ["migration_repair"]
    assert build.rows.height == 19 and rows[0]["pair_id"] not in set(build.rows["pair_id"])
    # The report's own test sees nothing in what is left; the pairs that share only boilerplate stay.
    texts = [conversation_text(turns) for turns in build.split("train")["conversations"].to_list()]
    assert mark_seen([task], texts) == {"core/rotate": None}
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
    assert "1 train pairs in which the contamination report sees a task" in card
    assert "## Task families" in card and "| migration_repair | 1 | 1 | 0 |" in card
    assert "### predict_output" in card and "The LLM repair loop did not run" in card

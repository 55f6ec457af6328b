"""The dataset stage removes the train pairs in which the contamination report would see an evaluation task."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from zigtune.dataset.build import DatasetSettings, build_dataset, write_dataset
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.evaluation.contamination import conversation_text, mark_seen
from zigtune.evaluation.suite import Check, SuiteTask
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, QA_REJECTS_SCHEMA, pair_row
from zigtune.validation.checking import VALIDATED_PAIRS_SCHEMA

BOILERPLATE = 'const std = @import("std");\nconst expect = std.testing.expect;\n'
SOLUTION = "pub fn rotateLeft(items: []u32, by: usize) void {\n    std.mem.rotate(u32, items, by % items.len);\n}\n"


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

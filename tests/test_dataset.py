"""The chatml dataset: leak-free section split, byte-identical files, the shape HF/TRL/Unsloth read."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import dagster as dg
import polars as pl
import pytest

from tests.test_chatml import ORIGINAL_CHATML, ORIGINAL_INSTRUCTION, ORIGINAL_RESPONSE
from zigtune.dataset.build import (
    PROVENANCE_SCHEMA,
    DatasetError,
    DatasetSettings,
    build_dataset,
    write_dataset,
)
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.dataset.chatml import render_chatml
from zigtune.dataset.splitting import assign_splits, eval_units
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.generation.docs_generator import docs_pairs
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, QA_REJECTS_SCHEMA, pair_row, reject_row
from zigtune.generation.version import OFFLINE_VERSION
from zigtune.validation.checking import VALIDATED_PAIRS_SCHEMA


def validated_from(pairs: pl.DataFrame, verdict: str = "ok") -> pl.DataFrame:
    """``pairs`` as the validation stage leaves them: code pairs with ``verdict``, concept pairs passed
    by the API names of their prose."""
    has_code = pl.col("kind") == "code"
    return (
        pairs.with_columns(
            code=pl.when(has_code).then(pl.col("response")),
            has_code=has_code,
            check_mode=pl.when(has_code).then(pl.lit("run")),
            api_names=pl.lit([], dtype=pl.List(pl.Utf8)),
            unknown_apis=pl.lit([], dtype=pl.List(pl.Utf8)),
            checked_by=pl.when(has_code).then(pl.lit("code")).otherwise(pl.lit("api_names")),
            unchecked_reason=pl.lit(None, dtype=pl.Utf8),
            verdict=pl.when(has_code).then(pl.lit(verdict)).otherwise(pl.lit("ok")),
            passed=pl.when(has_code).then(pl.lit(verdict == "ok")).otherwise(pl.lit(True)),
            stdout=pl.lit(""),
            stderr=pl.lit(""),
            duration_ms=pl.lit(1.0),
            zig_version=pl.lit("0.14.0"),
            engine=pl.lit("local"),
        )
        .select(*VALIDATED_PAIRS_SCHEMA)
        .cast(dict(VALIDATED_PAIRS_SCHEMA))
    )


def planted_duplicates(pairs: pl.DataFrame) -> list[dict[str, str | None]]:
    """Three LLM pairs repeating docs pairs: one exact (other case and punctuation), two near."""
    first, second = pairs.filter(pl.col("kind") == "code").head(2).to_dicts()
    concept = pairs.filter(pl.col("kind") == "concept").row(5, named=True)

    def llm(source: dict, instruction: str) -> dict[str, str | None]:
        return pair_row(
            section_id=source["section_id"],
            breadcrumb=source["breadcrumb"],
            instruction=instruction,
            response="A different answer.",
            generator="llm",
            model="test-model",
            template_hash="t123",
        )

    return [
        llm(concept, concept["instruction"].upper().rstrip(".") + "?"),
        llm(first, first["instruction"].replace("Write a", "Write one", 1)),
        llm(second, second["instruction"] + " Thanks."),
    ]


@pytest.fixture(scope="module")
def reference(docs_markdown: str) -> dict[str, pl.DataFrame]:
    sections = sections_frame(split_sections(docs_markdown))
    pairs = pl.DataFrame(docs_pairs(sections).rows, schema=QA_PAIRS_SCHEMA)
    pairs = pl.concat([pairs, pl.DataFrame(planted_duplicates(pairs), schema=QA_PAIRS_SCHEMA)])
    return {"sections": sections, "qa_pairs": pairs, "validated": validated_from(pairs)}


def write(reference: dict[str, pl.DataFrame], directory: Path, settings: DatasetSettings) -> pl.DataFrame:
    build = build_dataset(reference["validated"], reference["sections"], settings)
    funnel = Funnel.from_frames(
        build,
        sections=reference["sections"],
        qa_pairs=reference["qa_pairs"],
        qa_rejects=pl.DataFrame(schema=QA_REJECTS_SCHEMA),
        validated=reference["validated"],
        rejected=reference["validated"].head(0),
    )
    return write_dataset(build, directory, dataset_card(build, funnel))


def test_section_split_is_deterministic_and_sized_by_the_fraction() -> None:
    units = [f"section {i}" for i in range(200)]
    held_out = eval_units(units, 0.1, seed=3407)
    assert len(held_out) == 20
    assert eval_units(reversed(units), 0.1, seed=3407) == held_out
    assert eval_units(units, 0.1, seed=1) != held_out
    assert eval_units(units, 0.0, seed=3407) == frozenset()
    assert eval_units(["only"], 0.5, seed=3407) == frozenset()  # train keeps at least one section
    # Adding sections moves few of the old ones across the boundary.
    grown = eval_units([*units, *(f"new {i}" for i in range(20))], 0.1, seed=3407)
    assert len(held_out - grown) <= 4
    assert set(assign_splits(["a", "b", "a"], 0.5, seed=0).values()) == {"train", "eval"}
    with pytest.raises(ValueError, match="eval_fraction"):
        eval_units(units, 1.0, seed=0)


def test_no_section_is_in_both_splits(reference) -> None:
    build = build_dataset(reference["validated"], reference["sections"], DatasetSettings())
    train, eval_ = (set(build.split(name)["section_id"]) for name in ("train", "eval"))
    assert train and eval_ and not train & eval_
    assert not set(build.split("train")["breadcrumb"]) & set(build.split("eval")["breadcrumb"])
    assert 0.05 < build.split("eval").height / build.rows.height < 0.2


def test_planted_duplicates_are_removed_and_listed(reference, tmp_path: Path) -> None:
    build = build_dataset(reference["validated"], reference["sections"], DatasetSettings())
    assert build.rows.height == reference["validated"].height - 3
    assert set(build.rows["generator"]) == {"docs"}  # docs pairs sort first in their sections
    assert sum(build.dedup_counts.values()) == 3
    assert {key.split("/")[0] for key in build.dedup_counts} == {"exact_duplicate", "near_duplicate"}
    write(reference, tmp_path, DatasetSettings())
    duplicates = pl.read_parquet(tmp_path / "duplicates.parquet")
    assert duplicates.height == 3 and set(duplicates["kept_pair_id"]) <= set(build.rows["pair_id"])


def test_same_seed_gives_byte_identical_files(reference, tmp_path: Path) -> None:
    first = write(reference, tmp_path / "a", DatasetSettings(seed=7))
    second = write(reference, tmp_path / "b", DatasetSettings(seed=7))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [
        "README.md",
        "contaminated.parquet",
        "duplicates.parquet",
        "eval.jsonl",
        "eval.parquet",
        "train.jsonl",
        "train.parquet",
    ]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert first["sha256"].to_list() == second["sha256"].to_list()
    other = write(reference, tmp_path / "c", DatasetSettings(seed=8))
    assert other["sha256"].to_list() != first["sha256"].to_list()


def test_files_load_with_datasets_in_the_shape_trl_and_unsloth_read(reference, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    files = write(reference, tmp_path / "dataset", DatasetSettings())
    paths = dict(zip(files["split"], files["path"], strict=True))
    loaded = datasets.load_dataset("json", data_files=paths, cache_dir=str(tmp_path / "hf"))
    assert {name: loaded[name].num_rows for name in loaded} == dict(zip(files["split"], files["rows"], strict=True))
    assert loaded["train"].column_names == ["conversations"]  # provenance is beside, not inside
    turn = loaded["train"].features["conversations"].feature
    assert set(turn) == {"role", "content"}
    for row in loaded["train"].select(range(20)):
        assert [t["role"] for t in row["conversations"]] == ["user", "assistant"]
    # TRL's own reader (what Unsloth's standardize_sharegpt also does): "conversations" -> "messages".
    trl_data = pytest.importorskip("trl.data_utils")
    example = trl_data.maybe_convert_to_chatml(dict(loaded["eval"][0]))
    assert trl_data.is_conversational(example) and example["messages"] == loaded["eval"][0]["conversations"]
    # The card's YAML header names the splits, so the directory alone loads too.
    from_card = datasets.load_dataset(str(tmp_path / "dataset"), cache_dir=str(tmp_path / "hf2"))
    assert sorted(from_card) == ["eval", "train"] and from_card["train"].num_rows == loaded["train"].num_rows


def test_provenance_sits_beside_the_conversations_line_for_line(reference, tmp_path: Path) -> None:
    write(reference, tmp_path, DatasetSettings())
    for split in ("train", "eval"):
        lines = (tmp_path / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        provenance = pl.read_parquet(tmp_path / f"{split}.parquet")
        assert provenance.schema == PROVENANCE_SCHEMA
        assert provenance["line"].to_list() == list(range(len(lines)))
        assert [json.loads(line) for line in lines] == [
            {"conversations": c} for c in provenance["conversations"].to_list()
        ]
        assert provenance["section_id"].null_count() == 0 and set(provenance["verdict"]) <= {"ok", "no_code"}
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    for needle in ("## Counts by split", "## Yield", "## Rejects by reason", "Zig 0.14.0", OFFLINE_VERSION):
        assert needle in card, needle
    assert "t123" not in card  # the planted LLM pairs were all removed as duplicates, so no row has it
    assert f"| docs | zig-docs | {OFFLINE_VERSION} |" in card


def test_a_row_of_the_file_renders_as_the_originals_example(tmp_path: Path) -> None:
    pair = pair_row(
        section_id="defer-0",
        breadcrumb="defer",
        instruction=ORIGINAL_INSTRUCTION,
        response=ORIGINAL_RESPONSE,
        generator="llm",
        model="m",
        template_hash="t",
    )
    validated = validated_from(pl.DataFrame([pair], schema=QA_PAIRS_SCHEMA))
    sections = pl.DataFrame({"section_id": ["defer-0"], "order": [0]})
    build = build_dataset(validated, sections, DatasetSettings(eval_fraction=0))
    write_dataset(build, tmp_path, "card")
    row = json.loads((tmp_path / "train.jsonl").read_text(encoding="utf-8"))
    assert render_chatml(row) == ORIGINAL_CHATML + "\n"
    assert (tmp_path / "eval.jsonl").read_bytes() == b""
    with_system = build_dataset(validated, sections, DatasetSettings(eval_fraction=0, system_prompt="Be brief."))
    assert with_system.rows["conversations"][0][0] == {"role": "system", "content": "Be brief."}


def test_bad_inputs_fail_with_one_clear_line(reference) -> None:
    with pytest.raises(DatasetError, match="no validated pairs"):
        build_dataset(reference["validated"].head(0), reference["sections"], DatasetSettings())
    with pytest.raises(DatasetError, match="lacks columns"):
        build_dataset(reference["validated"].drop("verdict"), reference["sections"], DatasetSettings())


def test_unchecked_pairs_are_left_out_unless_a_setting_keeps_them(reference) -> None:
    concept = pl.col("kind") == "concept"
    marked = reference["validated"].with_columns(
        verdict=pl.when(concept).then(pl.lit("unchecked")).otherwise(pl.col("verdict")),
        passed=~concept,
        checked_by=pl.when(concept).then(pl.lit(None, dtype=pl.Utf8)).otherwise(pl.col("checked_by")),
        unchecked_reason=pl.when(concept).then(pl.lit("no code and no Zig API name to check")),
    )
    unchecked = marked.filter(concept).height
    build = build_dataset(marked, reference["sections"], DatasetSettings())
    assert set(build.rows["verdict"]) == {"ok"} and build.unchecked_left_out == unchecked > 0
    kept = build_dataset(marked, reference["sections"], DatasetSettings(keep_unchecked=True))
    assert set(kept.rows["verdict"]) == {"ok", "unchecked"} and kept.unchecked_left_out == 0
    funnel = Funnel.from_frames(
        build,
        sections=reference["sections"],
        qa_pairs=reference["qa_pairs"],
        qa_rejects=pl.DataFrame(schema=QA_REJECTS_SCHEMA),
        validated=marked,
        rejected=marked.head(0),
    )
    assert (funnel.validated, funnel.unchecked, funnel.unchecked_kept) == (marked.height - unchecked, unchecked, 0)
    card = dataset_card(build, funnel)
    assert f"{funnel.validated} passed, 0 rejected, {unchecked} unchecked (0 of them kept)" in card
    assert "| code | " in card and "## What was checked" in card
    assert "| measured_effect |" in card and "(m1)" in card  # the committed measurements
    unmeasured = dataset_card(build, funnel, measurements=[])
    assert "| not measured |" in unmeasured and "(m1)" not in unmeasured
    assert "No family has a measured effect yet" in unmeasured
    with pytest.raises(DatasetError, match=f"{unchecked} unchecked pairs left out: keep_unchecked keeps them"):
        build_dataset(marked.filter(concept), reference["sections"], DatasetSettings())


# --- Dagster: chatml_dataset materialized from small upstream tables -------------------------------


def standin(name: str, frame: pl.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def upstream() -> pl.DataFrame:
        return frame

    return upstream


def upstream_assets(reference: dict[str, pl.DataFrame], validated: pl.DataFrame) -> list[dg.AssetsDefinition]:
    rejected = validated_from(reference["qa_pairs"].filter(pl.col("kind") == "code").tail(2), "compile_error")
    rejects = [reject_row(section_id="s", breadcrumb="b", generator="llm", model="m", reason="no_pairs", raw="")]
    return [
        standin("doc_sections", reference["sections"]),
        standin("qa_pairs", reference["qa_pairs"]),
        standin("qa_rejects", pl.DataFrame(rejects, schema=QA_REJECTS_SCHEMA)),
        standin("validated_pairs", validated),
        standin("rejected_pairs", rejected),
    ]


def test_materializes_in_dagster(reference, data_dir: Path) -> None:
    from zigtune.assets.dataset import chatml_dataset
    from zigtune.storage.io_manager import ParquetIOManager

    validated = pl.concat([reference["validated"].head(60), reference["validated"].tail(3)])
    result = dg.materialize(
        [*upstream_assets(reference, validated), chatml_dataset],
        resources={"io_manager": ParquetIOManager()},
        run_config={"ops": {"chatml_dataset": {"config": {"eval_fraction": 0.25, "preview_rows": 2}}}},
    )
    assert result.success
    files = result.output_for_node("chatml_dataset")
    assert files["split"].to_list() == ["train", "eval"] and sum(files["rows"]) == 63 - 3
    for path in files["path"]:
        assert Path(path).is_relative_to(data_dir / "dataset") and Path(path).exists()
    stored = pl.read_parquet(data_dir / "assets" / "chatml_dataset.parquet")
    assert stored.equals(files)
    metadata = result.asset_materializations_for_node("chatml_dataset")[0].metadata
    assert metadata["duplicates_removed"].value == 3
    assert metadata["train_rows"].value + metadata["eval_rows"].value == 60
    assert metadata["preview"].value.count("<|im_start|>user\n") == 2
    assert "You are Qwen" not in metadata["preview"].value
    assert metadata["zig_version"].value == "0.14.0"
    card = (data_dir / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "| generation | no_pairs | 1 |" in card and "| validation | compile_error | 2 |" in card


def test_fails_clearly_in_dagster_when_nothing_was_validated(reference, data_dir: Path) -> None:
    from zigtune.assets.dataset import chatml_dataset
    from zigtune.storage.io_manager import ParquetIOManager

    result = dg.materialize(
        [*upstream_assets(reference, reference["validated"].head(0)), chatml_dataset],
        resources={"io_manager": ParquetIOManager()},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no validated pairs" in str(failure.event_specific_data.error)
    assert not (data_dir / "dataset" / "train.jsonl").exists()


# --- the real chain: docs -> sections -> qa_pairs (docs generator) -> validated_pairs -> chatml_dataset ----


def canary_slice(docs_markdown: str) -> str:
    """The reference cut to the six sections that hold the validation canary's examples.

    The canary must find its examples in ``doc_sections``, so this is the smallest slice of the real
    reference on which the whole chain, canary included, runs (~17 pairs, a dozen Zig compiles).
    """
    from zigtune.validation.checking import CANARY_EXAMPLES

    sections = sections_frame(split_sections(docs_markdown))
    names = pl.col("examples").list.eval(pl.element().struct.field("name").is_in(list(CANARY_EXAMPLES)))
    return "".join(sections.filter(names.list.any())["text"])


def materialize_offline(
    stages: tuple[ModuleType, ...], docs_path: Path, zig_sandbox_root: Path, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """The assets of ``stages`` (modules of ``zigtune.assets``) on the docs at ``docs_path``, with the offline
    generator and the real Zig engine."""
    from zigtune.resources.llm import LLMClient
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    return dg.materialize(
        [stage_asset for stage in stages for stage_asset in dg.load_assets_from_modules([stage])],
        resources={
            "io_manager": ParquetIOManager(),
            "llm": LLMClient(),
            "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
        },
        run_config={
            "ops": {
                "zig_docs": {"config": {"source": str(docs_path)}},
                "qa_generation": {"config": {"generator": "docs"}},
            }
        },
        instance=instance,
    )


def test_the_whole_chain_materializes_on_a_slice_of_the_reference(
    docs_markdown: str, data_dir: Path, zig_sandbox_root: Path, tmp_path: Path
) -> None:
    from zigtune.assets import dataset, docs, qa_pairs, validation
    from zigtune.assets.dataset import PREVIEW_CHARS

    docs_path = tmp_path / "slice.md"
    docs_path.write_text(canary_slice(docs_markdown), encoding="utf-8")
    with dg.instance_for_test() as instance:
        result = materialize_offline((docs, qa_pairs, validation, dataset), docs_path, zig_sandbox_root, instance)
    assert result.success
    sections = pl.read_parquet(data_dir / "assets" / "doc_sections.parquet")
    pairs = pl.read_parquet(data_dir / "assets" / "qa_pairs.parquet")
    validated = pl.read_parquet(data_dir / "assets" / "validated_pairs.parquet")
    assert sections.height == 6 and pairs.height >= 12 and validated.height > 0
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("chatml_dataset")[0].metadata.items()}
    rejected = pl.read_parquet(data_dir / "assets" / "rejected_pairs.parquet")
    passed = validated.filter(pl.col("verdict") == "ok")
    unchecked = validated.filter(pl.col("verdict") == "unchecked")
    assert passed.height + unchecked.height == validated.height and rejected.height == 0
    assert metadata["train_rows"] + metadata["eval_rows"] + metadata["duplicates_removed"] == passed.height
    assert metadata["yield"] == {
        "sections": 6,
        "pairs": pairs.height,
        "checked_passed": passed.height,
        "checked_rejected": 0,
        "unchecked": unchecked.height,
        "unchecked_kept": 0,
        "deduplicated": metadata["train_rows"] + metadata["eval_rows"],
    }
    assert set(passed["checked_by"]) <= {"code", "api_names", "code+api_names"}
    assert unchecked["unchecked_reason"].null_count() == 0
    # Only sections with a pair that passed a check are left (unchecked explanations are left out).
    assert metadata["train_sections"] + metadata["eval_sections"] == passed["section_id"].n_unique() >= 4
    assert metadata["zig_version"] == "0.14.0"
    train, eval_ = (pl.read_parquet(data_dir / "dataset" / f"{name}.parquet") for name in ("train", "eval"))
    assert not set(train["section_id"]) & set(eval_["section_id"])
    assert set(train["pair_id"]) | set(eval_["pair_id"]) <= set(passed["pair_id"])
    assert set(train["verdict"]) | set(eval_["verdict"]) == {"ok"}
    lines = (data_dir / "dataset" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == metadata["train_rows"]
    first = json.loads(lines[0])
    assert render_chatml(first)[:PREVIEW_CHARS] in metadata["preview"]  # the first train row, as ChatML
    card = (data_dir / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "Code checked with Zig 0.14.0" in card and f"| QA pairs | {pairs.height} |" in card

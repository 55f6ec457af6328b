"""Stage 4: the chatml dataset — train/eval JSONL split by section, deduplicated, with a card."""

import hashlib
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from zigtune import settings
from zigtune.dataset.build import DatasetBuild, DatasetError, DatasetSettings, build_dataset, write_dataset
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.dataset.chatml import render_chatml
from zigtune.dataset.dedup import DEFAULT_NEAR_DUPLICATE_THRESHOLD
from zigtune.dataset.splitting import DEFAULT_EVAL_FRACTION, DEFAULT_SEED, EVAL, TRAIN
from zigtune.evaluation.suite import BUILTIN_SUITES, SuiteError, load_suite
from zigtune.metadata import markdown_table
from zigtune.settings import StorageConfigError
from zigtune.storage.artifacts import ArtifactError, artifact_store, join

CODE_VERSION = "3"  # 2: unchecked pairs left out unless keep_unchecked; 3: train pairs seen by a suite removed
PREVIEW_CHARS = 1200


class ChatmlDatasetConfig(dg.Config):
    eval_fraction: float = DEFAULT_EVAL_FRACTION
    """Share of doc sections held out for eval (whole sections, never single pairs). 0 keeps all in train."""

    seed: int = DEFAULT_SEED
    """Seed of the section split (the original's 3407). Same seed and pairs: byte-identical files."""

    near_duplicate_threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD
    """Instructions this similar (word-trigram Jaccard) to a kept one are removed; exact repeats always are."""

    system_prompt: str | None = None
    """A system turn put first in every conversation. None, as in the original: user and assistant only."""

    keep_unchecked: bool = False
    """Also write pairs nothing could check (prose that names no Zig API, code left out of a validation
    sample). Off: the dataset holds only pairs that passed a check. ``ZIGTUNE_KEEP_UNCHECKED=1`` sets the default."""

    preview_rows: int = 3
    """How many train rows the metadata shows rendered as Qwen2.5 ChatML."""

    evaluation_suites: list[str] = Field(default_factory=lambda: list(BUILTIN_SUITES))
    """Evaluation suites (a built-in name or a JSONL file). A train pair in which the contamination report would
    see one of their tasks is removed (see zigtune.dataset.build.remove_contaminated). Default: the built-in suites."""


def _preview(build: DatasetBuild, rows: int) -> str:
    """A few rows as the ChatML text of the original's example (no default system turn injected)."""
    blocks = []
    for row in build.split(TRAIN).head(rows).iter_rows(named=True):
        text = render_chatml(row["conversations"])
        text = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"
        head = (
            f"**train line {row['line']}** · {row['breadcrumb']} · {row['generator']}/{row['kind']} · {row['verdict']}"
        )
        blocks.append(f"{head}\n\n````text\n{text}````")
    return "\n\n".join(blocks)


def _dataset_metadata(
    build: DatasetBuild,
    funnel: Funnel,
    files: pl.DataFrame,
    location: str,
    config: ChatmlDatasetConfig,
    tasks_checked: int,
) -> dict[str, Any]:
    rows = dict(zip(files["split"], files["rows"], strict=True))
    return {
        "directory": dg.MetadataValue.path(location),
        "train_path": dg.MetadataValue.path(join(location, "train.jsonl")),
        "eval_path": dg.MetadataValue.path(join(location, "eval.jsonl")),
        "card": dg.MetadataValue.path(join(location, "README.md")),
        "train_rows": rows[TRAIN],
        "eval_rows": rows[EVAL],
        "train_sections": int(files["sections"][0]),
        "eval_sections": int(files["sections"][1]),
        "duplicates_removed": build.duplicates.height,
        "duplicates_by_reason": dg.MetadataValue.json(build.dedup_counts),
        "evaluation_tasks_checked": tasks_checked,
        "contaminated_removed": build.contaminated.height,
        "pairs_by_family": dg.MetadataValue.json(dict(build.rows.group_by("family").len().sort("family").iter_rows())),
        "family_yield": dg.MetadataValue.md(markdown_table(funnel.family_yield))
        if funnel.family_yield is not None
        else "",
        "yield": dg.MetadataValue.json(
            {
                "sections": funnel.sections,
                "pairs": funnel.pairs,
                "checked_passed": funnel.validated,
                "checked_rejected": funnel.rejected,
                "unchecked": funnel.unchecked,
                "unchecked_kept": funnel.unchecked_kept,
                "deduplicated": funnel.deduplicated,
            }
        ),
        "checked_passed": funnel.validated,
        "rejected": funnel.rejected,
        "unchecked": funnel.unchecked,
        "unchecked_kept": funnel.unchecked_kept,
        "zig_version": ", ".join(funnel.zig_versions),
        "seed": config.seed,
        "eval_fraction": config.eval_fraction,
        "preview": dg.MetadataValue.md(_preview(build, config.preview_rows)),
    }


@dg.asset(group_name="dataset", kinds={"jsonl", "parquet"}, code_version=CODE_VERSION)
def chatml_dataset(
    context: dg.AssetExecutionContext,
    config: ChatmlDatasetConfig,
    doc_sections: pl.DataFrame,
    qa_pairs: pl.DataFrame,
    qa_rejects: pl.DataFrame,
    validated_pairs: pl.DataFrame,
    rejected_pairs: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """``train.jsonl`` / ``eval.jsonl`` in the original's ``{"conversations": [...]}`` format, split by
    section, exact and near-duplicate instructions removed, provenance in parquet beside them, and a
    dataset card (``README.md``). The value is one row per split: its path, rows and hash.
    """
    try:
        tasks = tuple(task for suite in config.evaluation_suites for task in load_suite(suite).tasks)
        dataset_settings = DatasetSettings(
            eval_fraction=config.eval_fraction,
            seed=config.seed,
            near_duplicate_threshold=config.near_duplicate_threshold,
            system_prompt=config.system_prompt or None,
            keep_unchecked=config.keep_unchecked or settings.keep_unchecked(),
            evaluation_tasks=tasks,
        )
        build = build_dataset(validated_pairs, doc_sections, dataset_settings)
    except (DatasetError, SuiteError, ValueError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    funnel = Funnel.from_frames(
        build,
        sections=doc_sections,
        qa_pairs=qa_pairs,
        qa_rejects=qa_rejects,
        validated=validated_pairs,
        rejected=rejected_pairs,
    )
    directory = settings.data_dir() / "dataset"
    files = write_dataset(build, directory, dataset_card(build, funnel))
    rows = dict(zip(files["split"], files["rows"], strict=True))
    context.log.info(
        f"{rows[TRAIN]} train and {rows[EVAL]} eval conversations; {build.duplicates.height} duplicates removed"
    )
    version = hashlib.sha256("".join(files["sha256"]).encode()).hexdigest()
    try:
        location = artifact_store().publish(directory, f"dataset/{version[:16]}")
    except (ArtifactError, StorageConfigError) as error:
        raise dg.Failure(description=str(error)) from None
    # The next stages read the files where they were published (the same paths, with local storage).
    files = files.with_columns(
        pl.Series(column, [join(location, Path(path).name) for path in files[column]], dtype=pl.Utf8)
        for column in ("path", "provenance_path")
    )
    metadata = _dataset_metadata(build, funnel, files, location, config, len(tasks))
    return dg.Output(files, data_version=dg.DataVersion(version), metadata=metadata)

"""Validated pairs -> the chatml dataset: split by section, deduplicated, written with provenance.

Layout of the dataset directory (``<data dir>/dataset``)::

    train.jsonl  eval.jsonl        {"conversations": [...]} per line, the original's format
    train.parquet eval.parquet     the same rows, in the same order, with their provenance columns
    duplicates.parquet             every removed pair: which kept pair it repeats, why, how similar
    contaminated.parquet           every train pair removed for sharing text with an evaluation task
    README.md                      the dataset card

Everything is a pure function of the inputs and the settings: the same pairs and seed give
byte-identical files. No dagster here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from zigtune.dataset.chatml import conversation_record, conversations_jsonl
from zigtune.dataset.dedup import DEFAULT_NEAR_DUPLICATE_THRESHOLD, Item, deduplicate
from zigtune.dataset.splitting import DEFAULT_EVAL_FRACTION, DEFAULT_SEED, EVAL, SPLITS, TRAIN, assign_splits
from zigtune.evaluation.contamination import SPAN_CHARS, conversation_text, mark_seen, normalise
from zigtune.evaluation.suite import SuiteTask

#: Of two duplicates the one kept is the better checked, then the better grounded.
VERDICT_PREFERENCE = {"ok": 0, "unchecked": 2, "no_code": 2}
#: Verdicts of pairs nothing checked (``no_code``: tables validated before ``unchecked`` existed).
UNCHECKED_VERDICTS = ("unchecked", "no_code")
GENERATOR_PREFERENCE = {"docs": 0, "llm": 1}

TURN = pl.Struct({"role": pl.Utf8, "content": pl.Utf8})

#: ``train.parquet`` / ``eval.parquet``: row ``line`` of the JSONL file, where it came from, and the
#: conversation itself (so the parquet alone is a complete, typed copy of the split).
PROVENANCE_SCHEMA = pl.Schema(
    {
        "line": pl.Int64,
        "pair_id": pl.Utf8,
        "section_id": pl.Utf8,
        "breadcrumb": pl.Utf8,
        "kind": pl.Utf8,
        "generator": pl.Utf8,
        "model": pl.Utf8,
        "template_hash": pl.Utf8,
        "verdict": pl.Utf8,
        "checked_by": pl.Utf8,
        "check_mode": pl.Utf8,
        "zig_version": pl.Utf8,
        "engine": pl.Utf8,
        "example_name": pl.Utf8,
        "expected_output": pl.Utf8,
        "family": pl.Utf8,
        "checked": pl.Boolean,
        "behaviour_check": pl.Utf8,
        "conversations": pl.List(TURN),
    }
)

#: ``duplicates.parquet``: one row per pair removed as a duplicate of a kept one.
DUPLICATES_SCHEMA = pl.Schema(
    {
        "pair_id": pl.Utf8,
        "section_id": pl.Utf8,
        "split": pl.Utf8,
        "instruction": pl.Utf8,
        "reason": pl.Utf8,
        "scope": pl.Utf8,
        "similarity": pl.Float64,
        "kept_pair_id": pl.Utf8,
        "kept_instruction": pl.Utf8,
    }
)

#: ``contaminated.parquet``: one row per train pair removed because it shares text with an evaluation task.
CONTAMINATED_SCHEMA = pl.Schema(
    {
        "pair_id": pl.Utf8,
        "section_id": pl.Utf8,
        "family": pl.Utf8,
        "instruction": pl.Utf8,
        "task_id": pl.Utf8,
        "shared_text": pl.Utf8,
    }
)

#: What the training stage reads to find the files: one row per split.
SPLIT_FILES_SCHEMA = pl.Schema(
    {
        "split": pl.Utf8,
        "path": pl.Utf8,
        "provenance_path": pl.Utf8,
        "rows": pl.Int64,
        "sections": pl.Int64,
        "sha256": pl.Utf8,
    }
)


class DatasetError(ValueError):
    """The inputs cannot make a dataset (nothing validated, a missing column)."""


@dataclass(frozen=True)
class DatasetSettings:
    eval_fraction: float = DEFAULT_EVAL_FRACTION
    seed: int = DEFAULT_SEED
    near_duplicate_threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD
    system_prompt: str | None = None
    keep_unchecked: bool = False  # keep pairs nothing could check (prose naming no Zig API, unsampled code)
    #: Evaluation suite tasks whose text must not be trained on (see ``remove_contaminated``).
    evaluation_tasks: tuple[SuiteTask, ...] = ()


@dataclass(frozen=True)
class DatasetBuild:
    rows: pl.DataFrame  # PROVENANCE_SCHEMA plus ``split`` and ``instruction``, in file order
    duplicates: pl.DataFrame  # DUPLICATES_SCHEMA
    dedup_counts: dict[str, int]  # "<reason>/<scope>" -> removed pairs
    settings: DatasetSettings
    unchecked_left_out: int = 0  # unchecked pairs not written (``keep_unchecked`` off)
    contaminated: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CONTAMINATED_SCHEMA))

    def split(self, name: str) -> pl.DataFrame:
        return self.rows.filter(pl.col("split") == name)


def build_dataset(validated: pl.DataFrame, sections: pl.DataFrame, settings: DatasetSettings) -> DatasetBuild:
    """Split ``validated`` pairs by section, drop duplicate instructions (train before eval), format.

    Unchecked pairs (``verdict`` ``unchecked``) are left out, and counted, unless ``settings.keep_unchecked``.
    """
    needed = {"pair_id", "section_id", "breadcrumb", "instruction", "response", *PROVENANCE_SCHEMA} - {
        "line",
        "conversations",
    }
    if missing := sorted(needed - set(validated.columns)):
        raise DatasetError(f"validated_pairs lacks columns {missing}: re-materialize validated_pairs")
    unchecked = pl.col("verdict").is_in(UNCHECKED_VERDICTS)
    left_out = 0 if settings.keep_unchecked else validated.filter(unchecked).height
    if not settings.keep_unchecked:
        validated = validated.filter(~unchecked)
    if validated.is_empty():
        note = f" ({left_out} unchecked pairs left out: keep_unchecked keeps them)" if left_out else ""
        raise DatasetError(f"no validated pairs: nothing to write{note}; check the validation stage's rejects")
    order = sections.select("section_id", pl.col("order").cast(pl.Int64).alias("section_order"))
    pairs = validated.join(order, on="section_id", how="left").with_columns(
        unit=pl.coalesce("breadcrumb", "section_id")
    )
    splits = assign_splits(pairs["unit"].to_list(), settings.eval_fraction, settings.seed)
    pairs = (
        pairs.with_columns(split=pl.col("unit").replace_strict(splits, return_dtype=pl.Utf8))
        .with_columns(
            split_rank=pl.col("split").replace_strict({TRAIN: 0, EVAL: 1}, return_dtype=pl.Int8),
            verdict_rank=pl.col("verdict").replace_strict(VERDICT_PREFERENCE, default=9, return_dtype=pl.Int8),
            generator_rank=pl.col("generator").replace_strict(GENERATOR_PREFERENCE, default=9, return_dtype=pl.Int8),
        )
        # File order, and which of two duplicates is kept: train before eval, document order,
        # then checked code before unchecked, the reference's own words before a model's.
        .sort("split_rank", "section_order", "verdict_rank", "generator_rank", "pair_id", nulls_last=True)
    )
    result = deduplicate(
        [
            Item(r["pair_id"], r["split"], r["instruction"], r["response"] if r["checked"] else None)
            for r in pairs.select("pair_id", "split", "instruction", "response", "checked").iter_rows(named=True)
        ],
        settings.near_duplicate_threshold,
    )
    kept = pairs.filter(pl.col("pair_id").is_in(result.kept))
    instructions = dict(zip(pairs["pair_id"], pairs["instruction"], strict=True))
    removed = pairs.select("pair_id", "section_id", "split", "instruction").join(
        pl.DataFrame(
            [(d.id, d.reason, d.scope, d.similarity, d.kept_id, instructions[d.kept_id]) for d in result.duplicates],
            schema={
                "pair_id": pl.Utf8,
                "reason": pl.Utf8,
                "scope": pl.Utf8,
                "similarity": pl.Float64,
                "kept_pair_id": pl.Utf8,
                "kept_instruction": pl.Utf8,
            },
            orient="row",
        ),
        on="pair_id",
        how="inner",
        maintain_order="right",
    )
    conversations = [
        conversation_record(i, r, settings.system_prompt)["conversations"]
        for i, r in zip(kept["instruction"], kept["response"], strict=True)
    ]
    kept = kept.with_columns(conversations=pl.Series(conversations, dtype=pl.List(TURN)))
    kept, contaminated = remove_contaminated(kept, settings.evaluation_tasks)
    rows = kept.with_columns(line=pl.int_range(pl.len(), dtype=pl.Int64).over("split")).select(
        *PROVENANCE_SCHEMA, "split", "instruction"
    )
    return DatasetBuild(
        rows=rows,
        duplicates=removed.select(*DUPLICATES_SCHEMA).cast(dict(DUPLICATES_SCHEMA)),
        dedup_counts=result.counts(),
        settings=settings,
        unchecked_left_out=left_out,
        contaminated=contaminated,
    )


def remove_contaminated(
    pairs: pl.DataFrame, tasks: tuple[SuiteTask, ...], span: int = SPAN_CHARS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``pairs`` without the train pairs whose text an evaluation task was seen in, and those pairs.

    Seen is the contamination report's own test (``evaluation.contamination.mark_seen`` on the train
    conversations, as the report reads ``train.jsonl``): for each task seen, every train pair holding
    a ``span``-character window of the shared run is removed, however many hold it. A task may share
    more than one run, so the test runs again on what is left until no task is seen.
    """
    removed: list[dict[str, str]] = []
    while tasks:
        train = pairs.filter(pl.col("split") == TRAIN)
        texts = [conversation_text(turns) for turns in train["conversations"].to_list()]
        seen = {task_id: mark for task_id, mark in mark_seen(list(tasks), texts, span).items() if mark}
        normal = [normalise(text) for text in texts]
        if not seen:
            break
        hit: dict[int, tuple[str, str]] = {}
        for task_id, mark in sorted(seen.items()):
            windows = [mark.text[i : i + span] for i in range(len(mark.text) - span + 1)]
            for index, text in enumerate(normal):
                if index not in hit and (window := next((w for w in windows if w in text), None)):
                    hit[index] = (task_id, window)
        rows = train[sorted(hit)]
        for (task_id, window), row in zip((hit[i] for i in sorted(hit)), rows.iter_rows(named=True), strict=True):
            removed.append(
                {
                    "pair_id": row["pair_id"],
                    "section_id": row["section_id"],
                    "family": row["family"],
                    "instruction": row["instruction"],
                    "task_id": task_id,
                    "shared_text": window,
                }
            )
        pairs = pairs.filter(~pl.col("pair_id").is_in(rows["pair_id"].to_list()))
    return pairs, pl.DataFrame(removed, schema=CONTAMINATED_SCHEMA)


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    partial.replace(path)


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def jsonl_text(frame: pl.DataFrame) -> str:
    """The split's JSONL text: ``{"conversations": [...]}`` per row, nothing else inside."""
    return conversations_jsonl({"conversations": turns} for turns in frame["conversations"].to_list())


def write_dataset(build: DatasetBuild, directory: Path, card: str) -> pl.DataFrame:
    """Write the splits, their provenance, the duplicates and the card; one row per split back."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for name in SPLITS:
        frame = build.split(name)
        text = jsonl_text(frame).encode("utf-8")
        jsonl, parquet = directory / f"{name}.jsonl", directory / f"{name}.parquet"
        _write_atomically(jsonl, text)
        _write_atomically(parquet, _parquet_bytes(frame.select(*PROVENANCE_SCHEMA)))
        files.append(
            {
                "split": name,
                "path": str(jsonl),
                "provenance_path": str(parquet),
                "rows": frame.height,
                "sections": frame["section_id"].n_unique(),
                "sha256": hashlib.sha256(text).hexdigest(),
            }
        )
    _write_atomically(directory / "duplicates.parquet", _parquet_bytes(build.duplicates))
    _write_atomically(directory / "contaminated.parquet", _parquet_bytes(build.contaminated))
    _write_atomically(directory / "README.md", card.encode("utf-8"))
    return pl.DataFrame(files, schema=SPLIT_FILES_SCHEMA)

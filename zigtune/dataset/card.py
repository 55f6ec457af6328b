"""The dataset card (``README.md`` beside the files): what is inside, where it came from, what was dropped.

The card has Hugging Face's YAML header, so ``datasets.load_dataset(<dataset dir>)`` finds the train
and eval splits by itself. It holds no date or path of its own run, so the same inputs give the same bytes.
No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from zigtune.dataset.build import UNCHECKED_VERDICTS, DatasetBuild
from zigtune.dataset.effects import Measurement, effect_cells, effect_notes, read_measurements
from zigtune.dataset.families import family_examples, family_shares, family_verdicts, family_yield
from zigtune.dataset.splitting import SPLITS, TRAIN
from zigtune.metadata import markdown_table


@dataclass(frozen=True)
class Funnel:
    """How many items each stage kept, and why the rest were dropped (stage -> reason -> count)."""

    sections: int
    pairs: int
    validated: int  # passed their checks (code compiled and ran, API names exist)
    deduplicated: int
    rejects: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: int = 0  # failed a check
    unchecked: int = 0  # nothing could be checked
    unchecked_kept: int = 0  # of those, written to the dataset (``keep_unchecked``)
    zig_versions: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    #: Pairs by family and validation verdict; per family: generated, validated, kept, how checked.
    family_verdicts: pl.DataFrame | None = None
    family_yield: pl.DataFrame | None = None
    #: The LLM repair loop's counts (failing code sent back, recovered within N rounds), when it ran.
    repair: dict[str, int] | None = None

    @classmethod
    def from_frames(
        cls,
        build: DatasetBuild,
        *,
        sections: pl.DataFrame,
        qa_pairs: pl.DataFrame,
        qa_rejects: pl.DataFrame,
        validated: pl.DataFrame,
        rejected: pl.DataFrame,
    ) -> Funnel:
        def count(values: pl.Series) -> dict[str, int]:
            return dict(sorted(Counter(str(v) for v in values.to_list()).items()))

        def distinct(values: pl.Series) -> tuple[str, ...]:
            return tuple(sorted({str(v) for v in values.drop_nulls().to_list() if v}))

        unchecked = validated.filter(pl.col("verdict").is_in(UNCHECKED_VERDICTS)).height
        return cls(
            sections=sections.height,
            pairs=qa_pairs.height,
            validated=validated.height - unchecked,
            rejected=rejected.height,
            unchecked=unchecked,
            unchecked_kept=unchecked - build.unchecked_left_out,
            deduplicated=build.rows.height,
            rejects={
                "generation": count(qa_rejects["reason"]),
                "validation": count(rejected["verdict"]),
                "deduplication": dict(build.dedup_counts),
            },
            zig_versions=distinct(pl.concat([validated["zig_version"], rejected["zig_version"]])),
            engines=distinct(pl.concat([validated["engine"], rejected["engine"]])),
            family_verdicts=family_verdicts(pl.concat([validated, rejected], how="diagonal_relaxed")),
            family_yield=family_yield(qa_pairs, validated, build.rows),
            repair=llm_repair_counts(qa_pairs, qa_rejects),
        )


#: The reject-ledger reasons the LLM repair loop writes (``generation/llm.py``), one row per code answer it took up.
REPAIRED_IN_ROUND = re.compile(r"code_repaired_round_(\d+)")
UNREPAIRED = "code_unrepaired"


def llm_repair_counts(qa_pairs: pl.DataFrame, qa_rejects: pl.DataFrame) -> dict[str, int] | None:
    """What the LLM's code went through when it was made, read from the pairs and the reject ledger; ``None``
    when the LLM wrote no code (or no pair)."""
    llm = qa_pairs.filter(pl.col("generator") == "llm") if "generator" in qa_pairs.columns else qa_pairs.clear()
    code = llm.filter(pl.col("kind") == "code")
    ledger = Counter(str(reason) for reason in qa_rejects.filter(pl.col("generator") == "llm")["reason"].to_list())
    rounds = {int(m.group(1)): n for reason, n in ledger.items() if (m := REPAIRED_IN_ROUND.fullmatch(reason))}
    if code.is_empty() and not rounds and not ledger[UNREPAIRED]:
        return None
    checked = code.filter(pl.col("checked").fill_null(False)) if "checked" in code.columns else code.clear()
    rescued = sum(rounds.values())
    counts = {
        "LLM code pairs": code.height,
        "compiled and run when made, and passed": checked.height,
        "failed their first check and went back to the model": rescued + ledger[UNREPAIRED],
    }
    counts |= {f"rescued in repair round {n}": rounds[n] for n in sorted(rounds)}
    counts |= {
        "never rescued (kept for validation to reject)": ledger[UNREPAIRED],
        "fix-this-code pairs made from failing versions": sum(n * count for n, count in rounds.items()),
    }
    return counts


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _by_split(build: DatasetBuild) -> pl.DataFrame:
    rows = []
    for name in SPLITS:
        frame = build.split(name)
        kinds, generators = Counter(frame["kind"].to_list()), Counter(frame["generator"].to_list())
        rows.append(
            {
                "split": name,
                "rows": frame.height,
                "sections": frame["section_id"].n_unique(),
                "concept": kinds["concept"],
                "code": kinds["code"],
                "docs": generators["docs"],
                "llm": generators["llm"],
            }
        )
    return pl.DataFrame(rows)


def _yield(funnel: Funnel) -> pl.DataFrame:
    per_section = f"{funnel.pairs / funnel.sections:.2f} per section" if funnel.sections else "–"
    kept = funnel.validated + funnel.unchecked_kept
    stages = [
        ("doc sections", funnel.sections, ""),
        ("QA pairs", funnel.pairs, per_section),
        ("checked: passed", funnel.validated, f"{_percent(funnel.validated, funnel.pairs)} of pairs"),
        ("checked: rejected", funnel.rejected, f"{_percent(funnel.rejected, funnel.pairs)} of pairs"),
        (
            "unchecked",
            funnel.unchecked,
            f"{_percent(funnel.unchecked, funnel.pairs)} of pairs; {funnel.unchecked_kept} kept",
        ),
        ("deduplicated (train + eval)", funnel.deduplicated, f"{_percent(funnel.deduplicated, kept)} of kept"),
    ]
    return pl.DataFrame([{"stage": s, "rows": n, "yield": y} for s, n, y in stages])


def _rejects(funnel: Funnel) -> pl.DataFrame:
    rows = [
        {"stage": stage, "reason": reason, "pairs": n}
        for stage, reasons in funnel.rejects.items()
        for reason, n in reasons.items()
    ]
    return pl.DataFrame(rows, schema={"stage": pl.Utf8, "reason": pl.Utf8, "pairs": pl.Int64})


def _repair(funnel: Funnel) -> str:
    if not funnel.repair:
        return "The LLM repair loop did not run for this dataset (the LLM wrote no code in it).\n"
    return (
        "Each code answer of the LLM was compiled and run under Zig 0.14.0 when it was made; code that failed "
        "went back to the model with the compiler's or the program's words.\n\n"
        + markdown_table(pl.DataFrame([{"measure": k, "value": v} for k, v in funnel.repair.items()]))
        + "\n"
    )


def _contamination(build: DatasetBuild) -> str:
    tasks = len(build.settings.evaluation_tasks)
    removed = build.contaminated
    if not tasks:
        return "No evaluation suite was given: nothing was checked.\n"
    text = (
        f"Every train pair was checked against {tasks} evaluation tasks the way the evaluation's contamination "
        f"report checks `train.jsonl`: {removed.height} train pairs in which the contamination report sees a task "
        "(a run of 50 characters of the task's own text, common lines and templates left out) were removed; "
        "`contaminated.parquet` lists them.\n"
    )
    if removed.height:
        by_family = removed.group_by("family").len("removed").sort("family")
        text += "\n" + markdown_table(by_family) + "\n"
    return text


def _templates(build: DatasetBuild) -> pl.DataFrame:
    return (
        build.rows.group_by("generator", "model", "template_hash")
        .len("rows")
        .sort("generator", "model", "template_hash")
    )


_HEADER = """---
pretty_name: zigtune — Zig 0.14 instruction pairs
language:
- en
license: mit
task_categories:
- text-generation
tags:
- zig
- code
- chatml
configs:
- config_name: default
  data_files:
  - split: train
    path: train.jsonl
  - split: eval
    path: eval.jsonl
---
"""


def _family_table(build: DatasetBuild, measurements: list[Measurement]) -> pl.DataFrame:
    shares = family_shares(build.split(TRAIN))
    if shares.is_empty():
        return shares
    cells = effect_cells(shares["family"].to_list(), measurements)
    return shares.with_columns(measured_effect=pl.col("family").replace_strict(cells))


def dataset_card(build: DatasetBuild, funnel: Funnel, measurements: list[Measurement] | None = None) -> str:
    """The card's markdown text; ``measurements``: the families' measured effects (default: the committed ones)."""
    measurements = read_measurements() if measurements is None else measurements
    settings = build.settings
    rejects = _rejects(funnel)
    verdicts = build.rows.group_by("verdict").len("rows").sort("verdict")
    checked_by = (
        build.rows.with_columns(pl.col("checked_by").fill_null("nothing (unchecked)"))
        .group_by("checked_by")
        .len("rows")
        .sort("checked_by")
    )
    zig = ", ".join(funnel.zig_versions) or "unknown (no code was checked)"
    engines = ", ".join(funnel.engines) or "none"
    system = f"`{settings.system_prompt}`" if settings.system_prompt else "none (user, assistant turns only)"
    sections = [
        _HEADER,
        "# zigtune: Zig 0.14 instruction pairs\n",
        "Instruction/response pairs about the Zig 0.14 language reference, written by zigtune's "
        "generators, with every piece of Zig code compiled and run before it was kept. One "
        '`{"conversations": [{"role": "user", ...}, {"role": "assistant", ...}]}` per line, the format '
        "of the original write-up's `zig_dataset_chatml.jsonl` (Unsloth `standardize_sharegpt`, TRL SFT).\n",
        "## Files\n",
        "| file | what |\n|---|---|\n"
        "| `train.jsonl`, `eval.jsonl` | the conversations, nothing else |\n"
        "| `train.parquet`, `eval.parquet` | the same rows in the same order (`line`), with provenance: "
        "section id, generator, model, template hash, verdict, Zig version |\n"
        "| `duplicates.parquet` | every pair removed as a duplicate, with the pair it repeats |\n"
        "| `contaminated.parquet` | every train pair removed for sharing text with an evaluation task |\n",
        "## Counts by split\n",
        markdown_table(_by_split(build)) + "\n",
        "Split by section: every pair of a section is on one side, so no section id is in both splits.\n",
        "## Yield\n",
        markdown_table(_yield(funnel)) + "\n",
        "## Rejects by reason\n",
        (markdown_table(rejects) if rejects.height else "None.") + "\n",
        "## Verdicts of kept pairs\n",
        markdown_table(verdicts) + "\n",
        "`ok`: the pair passed every check it had: its Zig code compiled (every declaration analysed) "
        "and ran, or its tests passed, and every Zig API name its prose puts in backticks exists in "
        "Zig 0.14.0; `unchecked`: nothing could be checked (no code and no API name, or code left out "
        "of a sample), kept only when the dataset's `keep_unchecked` setting says so.\n",
        "## What was checked\n",
        markdown_table(checked_by) + "\n",
        "`code`: the answer's Zig code was compiled and run; `api_names`: the Zig API names in its prose "
        f"were looked up by the compiler. Checked, unchecked and rejected pairs: {funnel.validated} passed, "
        f"{funnel.rejected} rejected, {funnel.unchecked} unchecked ({funnel.unchecked_kept} of them kept).\n",
        "## Families in train\n",
        "Each family's pairs in the train split, their share, where they come from, how Zig 0.14 "
        "confirmed them when they were made, and what they measurably do to a real model's pass@1.\n",
        markdown_table(_family_table(build, measurements)) + "\n",
        effect_notes(measurements),
        "## Task families\n",
        "What kind of task each pair is (`family`), how many each family gave at each stage, and how the "
        "pairs in the dataset were checked when they were made: `checked`, by running Zig 0.14; "
        "`behaviour_checked`, by tests that passed or an output that the run printed.\n",
        markdown_table(funnel.family_yield) + "\n" if funnel.family_yield is not None else "",
        "Pairs by family and validation verdict (validated and rejected pairs):\n",
        markdown_table(funnel.family_verdicts) + "\n" if funnel.family_verdicts is not None else "",
        "## Repair loop\n",
        _repair(funnel),
        "## Contamination\n",
        _contamination(build),
        "## Examples of each family\n",
        family_examples(build.split(TRAIN)) + "\n",
        "## Zig\n",
        f"Code checked with Zig {zig} (engine: {engines}).\n",
        "## Generators and templates\n",
        markdown_table(_templates(build)) + "\n",
        "## Settings\n",
        f"- seed: {settings.seed}\n"
        f"- eval fraction (of sections): {settings.eval_fraction}\n"
        f"- near-duplicate threshold (word-trigram Jaccard of instructions): {settings.near_duplicate_threshold}\n"
        f"- system prompt: {system}\n",
        "## Loading\n",
        "```python\nfrom datasets import load_dataset\n\n"
        'dataset = load_dataset("json", data_files={"train": "train.jsonl", "eval": "eval.jsonl"})\n```\n',
    ]
    return "\n".join(sections)

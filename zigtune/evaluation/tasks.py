"""What the models are asked: the eval split's code tasks, and a gold set from the reference's examples.

Two sources, reported separately:

- ``eval_split``: every ``code`` row of the chatml dataset's held-out split (whole sections the adapter never
  saw). The prompt is the row's conversation without its final assistant turn; the row's
  ``expected_output``, when known, is what a correct program prints.
- ``gold``: the reference's runnable examples (``exe``, ``expect=pass``, host target) with a published,
  non-empty output. The task is written from the section exactly as the docs generator writes it
  (``docs_generator.code_instruction``) and checked by that output; the example's own code is kept as the
  ``reference_code``, so the engine can first confirm the task is solvable (see
  ``scoring.verified_gold``). Gold examples from sections of the train split were seen in training (the
  docs generator turns them into train pairs), so ``seen_in_training`` marks them and the two halves are
  reported apart: memory versus generalisation.

No dagster here.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from zigtune.dataset.chatml import ChatFormatError, turns_of
from zigtune.docs.sections import examples_frame, program_output
from zigtune.generation.docs_generator import HOST_TARGETS, code_instruction, introduction
from zigtune.validation.code_extraction import extract_zig_code

EVAL_SPLIT = "eval_split"
GOLD = "gold"
SOURCES = (EVAL_SPLIT, GOLD)

TURN = pl.Struct({"role": pl.Utf8, "content": pl.Utf8})

#: One row per task; ``messages`` are the turns the model answers (system and user, no assistant reply).
TASKS_SCHEMA = pl.Schema(
    {
        "task_id": pl.Utf8,
        "source": pl.Utf8,
        "section_id": pl.Utf8,
        "breadcrumb": pl.Utf8,
        "example_name": pl.Utf8,
        "messages": pl.List(TURN),
        "expected_output": pl.Utf8,
        "reference_code": pl.Utf8,
        "seen_in_training": pl.Boolean,
    }
)


class TaskError(ValueError):
    """The inputs cannot give evaluation tasks (a missing column, a malformed conversation)."""


@dataclass
class TaskSet:
    """The tasks, and every candidate left out, counted by source and reason."""

    tasks: pl.DataFrame
    dropped: Counter[str] = field(default_factory=Counter)

    def count(self, source: str) -> int:
        return self.tasks.filter(pl.col("source") == source).height


def _prompt_turns(conversation: list[dict[str, str]]) -> list[dict[str, str]]:
    """The turns before the last assistant reply (the reply is what the model must write)."""
    turns = turns_of(conversation)
    last = max((i for i, turn in enumerate(turns) if turn["role"] == "assistant"), default=len(turns))
    return turns[:last]


def eval_split_tasks(eval_rows: pl.DataFrame, train_sections: set[str], into: Counter[str]) -> list[dict]:
    """Code tasks of the held-out split (rows of the dataset stage's ``eval.parquet``)."""
    needed = {"pair_id", "section_id", "breadcrumb", "kind", "expected_output", "example_name", "conversations"}
    missing = sorted(needed - set(eval_rows.columns))
    if missing:
        raise TaskError(f"the eval split's provenance lacks columns {missing}: re-materialize chatml_dataset")
    tasks = []
    for row in eval_rows.iter_rows(named=True):
        if row["kind"] != "code":
            into[f"{EVAL_SPLIT}: not a code task ({row['kind']})"] += 1
            continue
        try:
            turns = turns_of(row["conversations"])
        except ChatFormatError as error:
            raise TaskError(f"eval pair {row['pair_id']}: {error}") from None
        prompt = _prompt_turns(turns)
        if not prompt or prompt[-1]["role"] != "user":
            into[f"{EVAL_SPLIT}: no user turn before the reply"] += 1
            continue
        reply = turns[len(prompt)]["content"] if len(turns) > len(prompt) else None
        tasks.append(
            {
                "task_id": f"{EVAL_SPLIT}:{row['pair_id']}",
                "source": EVAL_SPLIT,
                "section_id": row["section_id"],
                "breadcrumb": row["breadcrumb"],
                "example_name": row["example_name"],
                "messages": prompt,
                "expected_output": row["expected_output"],
                "reference_code": extract_zig_code(reply),
                "seen_in_training": row["section_id"] in train_sections,
            }
        )
    return tasks


def gold_tasks(
    sections: pl.DataFrame, train_sections: set[str], system_turns: list[dict[str, str]], into: Counter[str]
) -> list[dict]:
    """One task per runnable reference example with a published output, in reference order."""
    tasks: dict[str, dict] = {}
    for example in examples_frame(sections).iter_rows(named=True):
        target = re.search(r"\btarget=(\S+)", example["options"] or "")
        if example["kind"] != "exe" or example["expect"] != "pass":
            continue  # not a program that should run: not a candidate (tests print no checkable output)
        if target and target.group(1) not in HOST_TARGETS:
            into[f"{GOLD}: built for another target"] += 1
            continue
        output = program_output(example["output"])
        if not output or not output.strip():
            into[f"{GOLD}: no published output"] += 1
            continue
        name = example["name"]
        if name in tasks:
            into[f"{GOLD}: example name repeated"] += 1
            continue
        lead = introduction(example["text"], name)
        instruction = code_instruction("exe", example["title"], example["breadcrumb"], name, lead, output)
        tasks[name] = {
            "task_id": f"{GOLD}:{name}",
            "source": GOLD,
            "section_id": example["section_id"],
            "breadcrumb": example["breadcrumb"],
            "example_name": name,
            "messages": [*system_turns, {"role": "user", "content": instruction}],
            "expected_output": output,
            "reference_code": example["code"],
            "seen_in_training": example["section_id"] in train_sections,
        }
    return list(tasks.values())


def _limit(rows: list[dict], limit: int, seed: int, source: str, into: Counter[str]) -> list[dict]:
    if limit <= 0 or len(rows) <= limit:
        return rows
    chosen = sorted(random.Random(f"{seed}:{source}").sample(range(len(rows)), limit))
    into[f"{source}: over max_tasks_per_source"] += len(rows) - limit
    return [rows[i] for i in chosen]


def build_tasks(
    eval_rows: pl.DataFrame | None,
    sections: pl.DataFrame | None,
    train_sections: set[str],
    sources: tuple[str, ...] = SOURCES,
    max_tasks_per_source: int = 0,
    seed: int = 0,
) -> TaskSet:
    """Tasks of the chosen ``sources``; ``max_tasks_per_source`` > 0 keeps a seeded sample of each."""
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise TaskError(f"unknown task sources {unknown}: choose from {list(SOURCES)}")
    dropped: Counter[str] = Counter()
    rows: list[dict] = []
    system_turns: list[dict[str, str]] = []
    if eval_rows is not None and eval_rows.height and EVAL_SPLIT in sources:
        split_tasks = eval_split_tasks(eval_rows, train_sections, dropped)
        rows += _limit(split_tasks, max_tasks_per_source, seed, EVAL_SPLIT, dropped)
        # Gold prompts get the dataset's system turn too, so both sources are asked the same way.
        system_turns = [t for t in split_tasks[0]["messages"] if t["role"] == "system"][:1] if split_tasks else []
    if sections is not None and sections.height and GOLD in sources:
        rows += _limit(
            gold_tasks(sections, train_sections, system_turns, dropped), max_tasks_per_source, seed, GOLD, dropped
        )
    return TaskSet(pl.DataFrame(rows, schema=TASKS_SCHEMA), dropped)

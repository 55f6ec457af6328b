"""Which tasks did the model see in training? A task is *seen* when its prompt or its reference solution shares
a span of at least ``SPAN_CHARS`` characters with a training text, after whitespace is collapsed.

Common text is not evidence: the same import lines (``const std = @import("std");``) and prompt templates
recur in most training texts, and would mark every task seen. So lines that occur in at least ``common_docs``
training texts are left out of the task's text first (the text is cut there), and a window that occurs in at
least ``common_docs`` training texts never counts. ``common_docs`` defaults to 1% of the training texts, and
at least 5. The price: a task repeated in that many training texts would not be flagged (the dataset stage's
deduplication keeps repeats far below that).

One pass over the training texts; memory grows with the tasks' text, not with the training data. No dagster.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigtune.evaluation.suite import SuiteError, SuiteTask

SPAN_CHARS = 50
FIELDS = ("prompt", "reference_solution")


def normalise(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


def default_common_docs(training_docs: int) -> int:
    return max(5, math.ceil(0.01 * training_docs))


@dataclass(frozen=True)
class SharedSpan:
    """The evidence that a task was seen: which field, and the longest shared run of text found in it."""

    field: str
    text: str


def _windows(text: str, size: int) -> Iterator[str]:
    return (text[i : i + size] for i in range(len(text) - size + 1))


def _segments(text: str, common_lines: set[str]) -> list[str]:
    """The normalised text cut at its common lines (which are dropped)."""
    segments, current = [], []
    for line in text.splitlines():
        normal = normalise(line)
        if normal in common_lines:
            if current:
                segments.append(" ".join(current))
            current = []
        elif normal:
            current.append(normal)
    if current:
        segments.append(" ".join(current))
    return segments


def _task_fields(task: SuiteTask) -> list[tuple[str, str]]:
    return [(name, value) for name in FIELDS if (value := getattr(task, name))]


def _longest_run(segment: str, evidence: list[bool], size: int) -> str:
    best, start = "", None
    for index, flag in enumerate([*evidence, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            run = segment[start : index - 1 + size]
            best = run if len(run) > len(best) else best
            start = None
    return best


def mark_seen(
    tasks: list[SuiteTask], training_texts: Iterable[str], span: int = SPAN_CHARS, common_docs: int | None = None
) -> dict[str, SharedSpan | None]:
    """For each task id: the span it shares with the training texts, or ``None`` (unseen)."""
    fields = {task.id: _task_fields(task) for task in tasks}
    wanted_lines = {normalise(line) for pairs in fields.values() for _, text in pairs for line in text.splitlines()}
    wanted_lines.discard("")
    wanted_windows = {w for pairs in fields.values() for _, text in pairs for w in _windows(normalise(text), span)}
    line_docs: Counter[str] = Counter()
    window_docs: Counter[str] = Counter()
    documents = 0
    for text in training_texts:
        documents += 1
        line_docs.update({normalise(line) for line in text.splitlines()} & wanted_lines)
        window_docs.update(set(_windows(normalise(text), span)) & wanted_windows)
    threshold = common_docs if common_docs is not None else default_common_docs(documents)
    common_lines = {line for line, count in line_docs.items() if count >= threshold}
    marks: dict[str, SharedSpan | None] = {}
    for task_id, pairs in fields.items():
        found: SharedSpan | None = None
        for name, text in pairs:
            for segment in _segments(text, common_lines):
                evidence = [0 < window_docs.get(w, 0) < threshold for w in _windows(segment, span)]
                run = _longest_run(segment, evidence, span) if any(evidence) else ""
                if run and (found is None or len(run) > len(found.text)):
                    found = SharedSpan(name, run)
        marks[task_id] = found
    return marks


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "role":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def conversation_text(value: Any) -> str:
    """Every string of a training record (a chatml conversation, ``{"text"}``, instruction/response), joined."""
    return "\n".join(_strings(value))


def training_texts_from_jsonl(path: str | Path) -> list[str]:
    """One text per line of a training JSONL file (``train.jsonl`` of the dataset stage, or any JSON records)."""
    texts = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SuiteError(f"{path}: the training data cannot be read ({type(error).__name__}: {error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            texts.append(conversation_text(json.loads(line)))
        except json.JSONDecodeError as error:
            raise SuiteError(f"{path} line {number}: not valid JSON ({error.msg})") from None
    return texts

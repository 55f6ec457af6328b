"""Which tasks did the model see in training? A task is *seen* when its prompt or its reference solution shares
a span of at least ``SPAN_CHARS`` (50) characters of its own text with a training text, whitespace collapsed.

Common text is not the task's own: the same import lines (``const std = @import("std");``) and prompt templates
recur in most training texts and would mark every task seen. Common, with ``common_docs`` = 1% of the training
texts and at least 5:

- in both fields, a line that occurs in at least ``common_docs`` training texts: it is left out and the text
  is cut there;
- in a reference solution, a 50-character window that occurs in at least ``common_docs`` training texts;
- in a prompt, a ``TEMPLATE_CHARS`` (25) character window that occurs in at least ``common_docs`` training
  texts, or in the prompts of at least 10% of the suite's tasks (and at least 2): the suite's own template.
  Prompt templates are short phrases ("...\" section of the Zig 0.14 reference. Context: "), so they are found
  with the shorter window.

The characters a common window covers are left out, and a shared span must be 50 characters of what is left:
a template plus the first letters of a topic ("...that demonstrates Ass") is not evidence. The price: a task
repeated in ``common_docs`` training texts would not be flagged (the dataset stage's deduplication keeps
repeats far below that).

Call it once per suite: the template rule reads the tasks it is given. One pass over the training texts;
memory grows with the tasks' text, not with the training data. No dagster here.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigtune.evaluation.suite import SuiteError, SuiteTask

SPAN_CHARS = 50
#: The window that finds prompt templates (common phrases are shorter than a span).
TEMPLATE_CHARS = 25
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


def _own_text(segment: str, size: int, span: int, common: Callable[[str], bool]) -> list[str]:
    """The runs of at least ``span`` characters of ``segment`` that no common ``size``-character window covers."""
    covered = [False] * len(segment)
    for index, window in enumerate(_windows(segment, size)):
        if common(window):
            covered[index : index + size] = [True] * size
    parts, start = [], None
    for index, flag in enumerate([*covered, True]):
        if not flag and start is None:
            start = index
        elif flag and start is not None:
            if index - start >= span:
                parts.append(segment[start:index])
            start = None
    return parts


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
    prompts = [normalise(task.prompt) for task in tasks]
    in_prompts = Counter(window for prompt in prompts for window in set(_windows(prompt, TEMPLATE_CHARS)))
    templates = {window for window, count in in_prompts.items() if count >= max(2, math.ceil(0.1 * len(tasks)))}
    wanted_lines = {normalise(line) for pairs in fields.values() for _, text in pairs for line in text.splitlines()}
    wanted_lines.discard("")
    wanted = {w for pairs in fields.values() for _, text in pairs for w in _windows(normalise(text), span)}
    wanted |= {w for prompt in prompts for w in _windows(prompt, TEMPLATE_CHARS)}
    line_docs: Counter[str] = Counter()
    window_docs: Counter[str] = Counter()
    documents = 0
    for text in training_texts:
        documents += 1
        normal = normalise(text)
        line_docs.update({normalise(line) for line in text.splitlines()} & wanted_lines)
        window_docs.update((set(_windows(normal, span)) | set(_windows(normal, TEMPLATE_CHARS))) & wanted)
    threshold = common_docs if common_docs is not None else default_common_docs(documents)
    common_lines = {line for line, count in line_docs.items() if count >= threshold}

    def common(window: str) -> bool:
        return window_docs.get(window, 0) >= threshold or window in templates

    marks: dict[str, SharedSpan | None] = {}
    for task_id, pairs in fields.items():
        found: SharedSpan | None = None
        for name, text in pairs:
            size = TEMPLATE_CHARS if name == "prompt" else span
            for segment in _segments(text, common_lines):
                for part in _own_text(segment, size, span, common):
                    evidence = [w in window_docs for w in _windows(part, span)]
                    run = _longest_run(part, evidence, span) if any(evidence) else ""
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

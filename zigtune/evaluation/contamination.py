"""Which tasks did the model see in training? A task is *seen* when its prompt or its reference solution shares
a span of at least ``SPAN_CHARS`` (50) characters of its own text with a training text, whitespace collapsed.

A task's own text counts however often the training data repeats it: a reference program found in 20 of 1,600
training texts is as seen as one found in one (the more often, the more it was learnt). Only two kinds of text
are not the task's own, and neither depends on the training data:

- **boilerplate lines** (:func:`is_boilerplate`): imports and aliases (``const std = @import("std");``,
  ``const expect = std.testing.expect;``) and the usual allocator set-up lines. They are left out and the
  text is cut there, so a span never bridges them;
- **the suite's template**: a ``TEMPLATE_CHARS`` (25) character window found in at least 10% of the suite's
  own tasks (and at least ``MIN_TEMPLATE_TASKS``), in any field: the phrases its prompts are written with
  ("...\" section of the Zig 0.14 reference. Context: ", "Reply with the complete program in a single").

The characters a template window covers are left out, and a shared span must be 50 characters of what is left:
a template plus the first letters of a topic ("...that demonstrates Ass") is not evidence.

Call it once per suite: the template rule reads the tasks it is given. One pass over the training texts;
memory grows with the tasks' text, not with the training data. No dagster here.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigtune.evaluation.suite import SuiteError, SuiteTask

SPAN_CHARS = 50
#: The window that finds a suite's template (its common phrases are shorter than a span).
TEMPLATE_CHARS = 25
#: A template window is in at least this share of the suite's tasks, and in at least ``MIN_TEMPLATE_TASKS``.
TEMPLATE_SHARE = 0.1
MIN_TEMPLATE_TASKS = 2
FIELDS = ("prompt", "reference_solution")

#: Boilerplate: an import or an alias of a declaration elsewhere (``const expect = std.testing.expect;``,
#: ``const Allocator = std.mem.Allocator;``, ``const c = @cImport(...)`` on one line), normalised.
IMPORT_OR_ALIAS = re.compile(
    r"(?:pub )?const [A-Za-z_]\w* = (?:@import\(\"[^\"]*\"\)|@cImport\(.*\)|std)(?:\.[A-Za-z_]\w*)*;"
)
#: The allocator set-up every program that allocates starts with, normalised.
BOILERPLATE_LINES = frozenset(
    {
        "var gpa = std.heap.GeneralPurposeAllocator(.{}){};",
        "defer _ = gpa.deinit();",
        "const allocator = gpa.allocator();",
        "var arena = std.heap.ArenaAllocator.init(std.heap.page_allocator);",
        "defer arena.deinit();",
        "const allocator = arena.allocator();",
        "const allocator = std.testing.allocator;",
        "const stdout = std.io.getStdOut().writer();",
    }
)


def normalise(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


def is_boilerplate(line: str) -> bool:
    """Is this line (normalised) an import, an alias or an allocator set-up line: no one's own text?"""
    return line in BOILERPLATE_LINES or IMPORT_OR_ALIAS.fullmatch(line) is not None


@dataclass(frozen=True)
class SharedSpan:
    """The evidence that a task was seen: which field, and the longest shared run of text found in it."""

    field: str
    text: str


def _windows(text: str, size: int) -> Iterator[str]:
    return (text[i : i + size] for i in range(len(text) - size + 1))


def _segments(text: str) -> list[str]:
    """The normalised text cut at its boilerplate lines (which are dropped)."""
    segments, current = [], []
    for line in text.splitlines():
        normal = normalise(line)
        if is_boilerplate(normal):
            if current:
                segments.append(" ".join(current))
            current = []
        elif normal:
            current.append(normal)
    if current:
        segments.append(" ".join(current))
    return segments


def _own_text(segment: str, templates: set[str], span: int) -> list[str]:
    """The runs of at least ``span`` characters of ``segment`` that no template window covers."""
    covered = [False] * len(segment)
    for index, window in enumerate(_windows(segment, TEMPLATE_CHARS)):
        if window in templates:
            covered[index : index + TEMPLATE_CHARS] = [True] * TEMPLATE_CHARS
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


def suite_template(tasks: list[SuiteTask]) -> set[str]:
    """The ``TEMPLATE_CHARS`` windows found in at least ``TEMPLATE_SHARE`` of the tasks (any field, boilerplate
    lines left out), and in at least ``MIN_TEMPLATE_TASKS``: the text the suite itself repeats."""
    per_task: Counter[str] = Counter()
    for task in tasks:
        windows = {
            window
            for _, text in _task_fields(task)
            for segment in _segments(text)
            for window in _windows(segment, TEMPLATE_CHARS)
        }
        per_task.update(windows)
    needed = max(MIN_TEMPLATE_TASKS, math.ceil(TEMPLATE_SHARE * len(tasks)))
    return {window for window, count in per_task.items() if count >= needed}


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
    tasks: list[SuiteTask], training_texts: Iterable[str], span: int = SPAN_CHARS
) -> dict[str, SharedSpan | None]:
    """For each task id: the longest span of its own text it shares with the training texts, or ``None`` (unseen)."""
    templates = suite_template(tasks)
    own = {
        task.id: [
            (name, part)
            for name, text in _task_fields(task)
            for segment in _segments(text)
            for part in _own_text(segment, templates, span)
        ]
        for task in tasks
    }
    wanted = {window for parts in own.values() for _, part in parts for window in _windows(part, span)}
    found_windows: set[str] = set()
    for text in training_texts:
        if wanted:
            found_windows.update(set(_windows(normalise(text), span)) & wanted)
    marks: dict[str, SharedSpan | None] = {}
    for task_id, parts in own.items():
        found: SharedSpan | None = None
        for name, part in parts:
            evidence = [window in found_windows for window in _windows(part, span)]
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

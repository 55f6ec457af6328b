"""Shared text between training pairs and evaluation tasks: what the dataset stage removes before training.

Two texts *share a span* when, after whitespace runs are collapsed to one space, they have
``span`` (50) consecutive characters in common. Boilerplate is not evidence: the same import lines
(``const std = @import("std");``) open most Zig files, so a line that occurs in at least
``common_docs`` of the training texts is cut out of both sides before windows are compared, and a
window found in that many training texts never counts. ``common_docs`` defaults to 1% of the
training texts, at least 5. These are the rules of the evaluation's contamination report, so a
dataset filtered with :func:`shared_spans` shows no seen task there.

One plain function, :func:`shared_spans`, over any texts; :func:`suite_texts` reads the tasks of an
evaluation suite file (JSONL with ``id``, ``prompt`` and ``reference_solution``). No dagster here.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SPAN_CHARS = 50
#: Where the evaluation suites are shipped (package data of ``zigtune.evaluation``).
SUITES_DIR = Path(__file__).resolve().parent / "suites"
#: The fields of a suite task whose text must not reach training.
TASK_FIELDS = ("prompt", "reference_solution")


class SuiteFileError(ValueError):
    """An evaluation suite file that cannot be read: one line naming the file and the problem."""


@dataclass(frozen=True)
class SharedSpan:
    """Text ``a`` (an index into ``texts_a``) shares ``text`` with text ``b`` (an index into ``texts_b``)."""

    a: int
    b: int
    text: str


def normalise(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


def default_common_docs(documents: int) -> int:
    return max(5, math.ceil(0.01 * documents))


def _windows(text: str, size: int) -> Iterator[str]:
    return (text[i : i + size] for i in range(len(text) - size + 1))


def _segments(text: str, common_lines: set[str]) -> list[str]:
    """The normalised text cut at its common lines, which are dropped."""
    segments: list[str] = []
    current: list[str] = []
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


def shared_spans(
    texts_a: Sequence[str], texts_b: Sequence[str], span: int = SPAN_CHARS, common_docs: int | None = None
) -> list[SharedSpan]:
    """Every (a, b) whose texts share a ``span``-character run outside boilerplate, with one such run.

    ``texts_a`` are the training texts (they decide what is boilerplate), ``texts_b`` the tasks.
    The result is sorted by ``(a, b)``; its ``text`` is the first shared window found in ``a``.
    """
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    threshold = common_docs if common_docs is not None else default_common_docs(len(texts_a))
    line_docs: Counter[str] = Counter()
    for text in texts_a:
        line_docs.update({normalise(line) for line in text.splitlines()} - {""})
    common_lines = {line for line, count in line_docs.items() if count >= threshold}
    owners: dict[str, set[int]] = {}
    for b, text in enumerate(texts_b):
        for segment in _segments(text, common_lines):
            for window in _windows(segment, span):
                owners.setdefault(window, set()).add(b)
    found: list[list[str]] = []  # per training text: its windows that some task has, in text order
    window_docs: Counter[str] = Counter()
    for text in texts_a:
        windows = [w for segment in _segments(text, common_lines) for w in _windows(segment, span) if w in owners]
        found.append(windows)
        window_docs.update(set(windows))
    spans: dict[tuple[int, int], str] = {}
    for a, windows in enumerate(found):
        for window in windows:
            if window_docs[window] < threshold:
                for b in owners[window]:
                    spans.setdefault((a, b), window)
    return [SharedSpan(a, b, text) for (a, b), text in sorted(spans.items())]


def packaged_suites() -> list[str]:
    """The suite files shipped with zigtune, the dataset stage's default guard."""
    return [str(path) for path in sorted(SUITES_DIR.glob("*.jsonl"))]


def suite_texts(path: Path) -> list[tuple[str, str]]:
    """``(task id, text)`` for each task of a suite file: its prompt and reference solution, one text."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SuiteFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    tasks = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            task = json.loads(line)
        except json.JSONDecodeError as error:
            raise SuiteFileError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(task, dict) or not isinstance(task.get("id"), str) or not isinstance(task.get("prompt"), str):
            raise SuiteFileError(f"{path}:{number}: a task needs a string 'id' and 'prompt'")
        text = "\n".join(str(task[name]) for name in TASK_FIELDS if isinstance(task.get(name), str))
        tasks.append((task["id"], text))
    return tasks

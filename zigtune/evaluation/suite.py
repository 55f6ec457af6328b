"""Task suites as data: one JSON object a line, each task a prompt, visible files, hidden tests and a check.

The format (``README.md``, "Task suites", says the same):

- ``id`` (string, unique in the suite);
- ``prompt`` (string): all the model sees;
- ``files`` (object, file name → content): visible files, such as a stub of the solution;
- ``hidden_files`` (object, file name → content): files the model never sees, such as the tests;
- ``check``: ``{"kind": "test", "file": F}`` runs ``zig test F`` (``F`` imports the solution by name), or
  ``{"kind": "run", "expected_output": TEXT, "stream": "stdout"|"stderr", "compare": "output"|"lines"}`` runs
  the solution as a program and compares that stream with ``TEXT``: ``output`` (the default) once trailing
  whitespace is trimmed from the whole of both, ``lines`` once it is trimmed from each line of both too;
- ``solution_file`` (string): the name the model's code is saved under;
- optional: ``category``, ``source``, ``license``, ``reference_solution`` (strings or null); ``link_libc``
  (boolean: the solution and tests are linked with libc, musl here, so ``@cImport`` of ``unistd.h`` or
  ``math.h`` works); ``data_files`` (object, file name → content): files the program finds in its working
  directory when it runs, such as an input it reads (``std.fs.cwd().openFile("input.txt", .{})``).

File names are plain names (no ``/``, not starting with ``.``); the solution and the check's file end in
``.zig``. A malformed line is a :class:`SuiteError` of one line naming the line and the field. No dagster here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

CheckKind = Literal["test", "run"]
Stream = Literal["stdout", "stderr"]
Comparison = Literal["output", "lines"]
CHECK_KINDS = ("test", "run")
STREAMS = ("stdout", "stderr")
#: How a run check compares output: the whole of it with trailing whitespace trimmed, or also line by line.
COMPARISONS = ("output", "lines")
REQUIRED = ("id", "prompt", "files", "hidden_files", "check", "solution_file")
OPTIONAL = ("category", "source", "license", "reference_solution")
#: Optional fields that are not strings.
OPTIONAL_OTHER = ("link_libc", "data_files")
#: What a task without a category is counted under.
UNCATEGORISED = "uncategorised"
#: The suite written for this project, shipped as package data.
BUILTIN_SUITES = {"zigtune_core": "zigtune_core.jsonl"}


class SuiteError(ValueError):
    """A suite (or completions) file that cannot be read: one line naming the file, the line and the field."""


@dataclass(frozen=True)
class Check:
    """How a task is judged: its hidden tests (``test``) or the program's output (``run``)."""

    kind: CheckKind
    file: str | None = None
    expected_output: str | None = None
    stream: Stream = "stdout"
    compare: Comparison = "output"


@dataclass(frozen=True)
class SuiteTask:
    id: str
    prompt: str
    files: dict[str, str]
    hidden_files: dict[str, str]
    check: Check
    solution_file: str
    category: str | None = None
    source: str | None = None
    license: str | None = None
    reference_solution: str | None = None
    link_libc: bool = False
    data_files: dict[str, str] = field(default_factory=dict)

    @property
    def category_name(self) -> str:
        return self.category or UNCATEGORISED

    @property
    def stub(self) -> str | None:
        """The visible version of the solution file, when the task shows one."""
        return self.files.get(self.solution_file)

    def as_json(self) -> dict[str, Any]:
        check: dict[str, Any] = {"kind": self.check.kind}
        if self.check.kind == "test":
            check["file"] = self.check.file
        else:
            check |= {"expected_output": self.check.expected_output, "stream": self.check.stream}
            if self.check.compare != "output":
                check["compare"] = self.check.compare
        row: dict[str, Any] = {
            "id": self.id,
            "prompt": self.prompt,
            "files": self.files,
            "hidden_files": self.hidden_files,
            "check": check,
            "solution_file": self.solution_file,
        }
        row |= {name: getattr(self, name) for name in OPTIONAL if getattr(self, name) is not None}
        if self.link_libc:
            row["link_libc"] = True
        if self.data_files:
            row["data_files"] = self.data_files
        return row


@dataclass
class Suite:
    name: str
    tasks: list[SuiteTask] = field(default_factory=list)

    def by_id(self) -> dict[str, SuiteTask]:
        return {task.id: task for task in self.tasks}


class _LineError(Exception):
    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"field {field_name!r}: {problem}")


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and bool(name)
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and "\x00" not in name
    )


def _string(row: dict[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = row.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise _LineError(name, "must be a non-empty string" if not optional else "must be a string or null")
    return value


def _files(row: dict[str, Any], name: str) -> dict[str, str]:
    value = row.get(name)
    if not isinstance(value, dict):
        raise _LineError(name, "must be an object mapping file names to contents")
    for file_name, content in value.items():
        if not _plain_name(file_name):
            raise _LineError(f"{name}.{file_name}", "a plain file name is needed (no '/', not starting with '.')")
        if not isinstance(content, str):
            raise _LineError(f"{name}.{file_name}", "the content must be a string")
    return dict(value)


def _check(row: dict[str, Any], hidden: dict[str, str], files: dict[str, str], solution: str) -> Check:
    value = row.get("check")
    if not isinstance(value, dict):
        raise _LineError("check", 'must be an object such as {"kind": "test", "file": "test.zig"}')
    kind = value.get("kind")
    if kind == "test":
        unknown = sorted(set(value) - {"kind", "file"})
        test_file = value.get("file")
        if not isinstance(test_file, str) or not test_file.endswith(".zig"):
            raise _LineError("check.file", "must name the .zig file that `zig test` runs")
        if test_file == solution:
            raise _LineError("check.file", "must be a test file, not the solution file")
        if test_file not in hidden and test_file not in files:
            raise _LineError("check.file", f"{test_file!r} is in neither hidden_files nor files")
        check = Check("test", file=test_file)
    elif kind == "run":
        unknown = sorted(set(value) - {"kind", "expected_output", "stream", "compare"})
        if not isinstance(value.get("expected_output"), str):
            raise _LineError("check.expected_output", "must be a string")
        if value.get("stream") not in STREAMS:
            raise _LineError("check.stream", f"must be one of {list(STREAMS)}")
        compare = value.get("compare", "output")
        if compare not in COMPARISONS:
            raise _LineError("check.compare", f"must be one of {list(COMPARISONS)}, got {compare!r}")
        check = Check("run", expected_output=value["expected_output"], stream=value["stream"], compare=compare)
    else:
        raise _LineError("check.kind", f"must be one of {list(CHECK_KINDS)}, got {kind!r}")
    if unknown:
        raise _LineError(f"check.{unknown[0]}", f"unknown for a {kind!r} check")
    return check


def task_from_json(row: object) -> SuiteTask:
    """One task from one parsed line; :class:`_LineError` names the field at fault."""
    if not isinstance(row, dict):
        raise _LineError("(line)", "must be a JSON object")
    unknown = sorted(set(row) - set(REQUIRED) - set(OPTIONAL) - set(OPTIONAL_OTHER))
    if unknown:
        raise _LineError(unknown[0], f"unknown field (known: {', '.join(REQUIRED + OPTIONAL + OPTIONAL_OTHER)})")
    for name in REQUIRED:
        if name not in row:
            raise _LineError(name, "missing")
    task_id, prompt = _string(row, "id"), _string(row, "prompt")
    solution = _string(row, "solution_file")
    if not _plain_name(solution) or not str(solution).endswith(".zig"):
        raise _LineError("solution_file", "must be a plain .zig file name, such as solution.zig")
    files, hidden = _files(row, "files"), _files(row, "hidden_files")
    if solution in hidden:
        raise _LineError("hidden_files", f"must not hold the solution file {solution!r}")
    if both := sorted(set(files) & set(hidden)):
        raise _LineError("hidden_files", f"{both[0]!r} is also in files")
    link_libc = row.get("link_libc", False)
    if not isinstance(link_libc, bool):
        raise _LineError("link_libc", "must be true or false")
    data = _files(row, "data_files") if "data_files" in row else {}
    if clash := sorted(set(data) & (set(files) | set(hidden) | {solution})):
        raise _LineError(f"data_files.{clash[0]}", "is also the solution, a visible or a hidden file")
    return SuiteTask(
        id=str(task_id),
        prompt=str(prompt),
        files=files,
        hidden_files=hidden,
        check=_check(row, hidden, files, str(solution)),
        solution_file=str(solution),
        **{name: _string(row, name, optional=True) for name in OPTIONAL},  # type: ignore[arg-type]
        link_libc=link_libc,
        data_files=data,
    )


def parse_suite(text: str, name: str) -> Suite:
    """A suite from JSONL text (blank lines allowed); ``name`` is how errors and reports call it."""
    suite = Suite(name)
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise _LineError("(line)", f"not valid JSON ({error.msg} at column {error.colno})") from None
            task = task_from_json(row)
            if task.id in first_line:
                raise _LineError("id", f"{task.id!r} repeats the task of line {first_line[task.id]}")
        except _LineError as error:
            raise SuiteError(f"{name} line {number}: {error}") from None
        first_line[task.id] = number
        suite.tasks.append(task)
    if not suite.tasks:
        raise SuiteError(f"{name}: no tasks (one JSON object a line is expected)")
    return suite


def load_suite(location: str | Path) -> Suite:
    """A suite from a JSONL file, or a built-in suite by name (``zigtune_core``)."""
    if str(location) in BUILTIN_SUITES:
        file_name = BUILTIN_SUITES[str(location)]
        text = resources.files("zigtune.evaluation").joinpath("suites", file_name).read_text(encoding="utf-8")
        return parse_suite(text, str(location))
    path = Path(location)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file (or built-in suite: {', '.join(BUILTIN_SUITES)})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SuiteError(f"{path}: cannot be read ({type(error).__name__}: {error})") from None
    return parse_suite(text, path.stem)


def suite_jsonl(tasks: list[SuiteTask]) -> str:
    """The tasks in the suite format, one line each."""
    return "".join(json.dumps(task.as_json(), ensure_ascii=False) + "\n" for task in tasks)

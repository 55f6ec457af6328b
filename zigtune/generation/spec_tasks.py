"""Spec -> code tasks: a task in plain words, a stub, hidden tests, and a solution that passes them.

Written without an LLM, as families of parameterised templates (:mod:`.spec_bank`): each family is
about the constructs of one section of the reference (``for`` over ranges and slices, ``while`` with
a continue expression, error unions, optionals, structs that own memory through an allocator,
tagged unions, comptime generics, ``defer``/``errdefer``, ``std`` collections the 0.14 way, ``std.mem``,
``std.fmt`` and ``std.sort``) and yields tasks that differ in what the code must do, with tests whose
expected values are computed here, not copied.

A task becomes a pair only when the real Zig 0.14 compiler says so: the solution with the hidden tests
appended passes ``zig test``, and the stub (every function body replaced by discards and a placeholder
``@panic``) fails at that placeholder, so the tests are known to call what they check. The pair is
phrased the way the ``zigtune_core`` suite phrases its tasks: user = spec + stub, assistant = the
complete ``solution.zig``. Only sections present in the docs give tasks (their ``section_id``).

Dropped, counted by reason: ``solution_fails`` (the template is wrong for this compiler),
``stub_passes``, ``stub_fails_elsewhere``, ``no_section`` (the docs lack the family's section). No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from zigtune.generation.execution import Checker, FamilyResult, job, read_test_report
from zigtune.generation.implement_tests import functions
from zigtune.generation.pairs import Row, docs_pair
from zigtune.validation.verdicts import Verdict

FAMILY = "spec_to_code"
SOLUTION_FILE = "solution.zig"
STD_IMPORT = 'const std = @import("std");'
PLACEHOLDER = '@panic("TODO");'


@dataclass(frozen=True)
class SpecTask:
    """One task: its id (``family/variant``), the docs section it is about, spec, solution and hidden tests."""

    name: str
    section: str
    spec: str
    solution: str
    tests: str

    @property
    def family(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def checked_file(self) -> str:
        """The solution with the hidden tests appended: what ``zig test`` runs."""
        head = "" if STD_IMPORT in self.solution else STD_IMPORT + "\n"
        return head + self.solution.rstrip("\n") + "\n\n" + self.tests.strip("\n") + "\n"

    def stub(self) -> str:
        return stub_file(self.solution)

    def stub_checked_file(self) -> str:
        head = "" if STD_IMPORT in self.solution else STD_IMPORT + "\n"
        return head + self.stub().rstrip("\n") + "\n\n" + self.tests.strip("\n") + "\n"


_NAMED_FN = re.compile(r"\bfn [A-Za-z_]\w*\s*\(")


def _signature(code: str, body_start: int) -> str:
    """The text from a function's ``fn NAME(`` to its body (``fn (T) bool`` parameter types do not count)."""
    starts = [m.start() for m in _NAMED_FN.finditer(code, 0, body_start)]
    return code[starts[-1] if starts else 0 : body_start]


def _returns_type(code: str, body_start: int) -> bool:
    return bool(re.search(r"\)\s*type\s*$", _signature(code, body_start)))


def stub_file(solution: str) -> str:
    """``solution`` with every function body (except functions that return a ``type``) replaced by
    discards of its parameters and a placeholder ``@panic``: the API stays, the behaviour goes."""
    code = solution
    found = [f for f in functions(code) if not _returns_type(code, f.body_start)]
    for function in sorted(found, key=lambda f: f.body_start, reverse=True):
        if any(o.body_start < function.body_start and function.body_end < o.body_end for o in found):
            continue  # nested in a function that is stubbed as a whole
        line_start = code.rfind("\n", 0, function.body_start) + 1
        indent = re.match(r"[ \t]*", code[line_start:]).group()  # type: ignore[union-attr]
        inner = indent + "    "
        signature = _signature(code, function.body_start)
        unused = [name for name in function.parameters if len(re.findall(rf"\b{name}\b", signature)) == 1]
        lines = [f"{inner}_ = {name};" for name in unused] + [inner + PLACEHOLDER]
        code = code[: function.body_start] + "{\n" + "\n".join(lines) + f"\n{indent}}}" + code[function.body_end + 1 :]
    return code


def task_prompt(spec: str, stub: str) -> str:
    """The user turn, worded as ``zigtune_core`` words its tasks."""
    return (
        f"{spec.strip()}\n\nWrite the file `{SOLUTION_FILE}` in Zig 0.14.0. Keep the public API exactly as declared "
        f"in this stub (the bodies are placeholders to replace); you may add private helpers:\n\n"
        f"```zig\n{stub}```\n\nReply with the complete content of `{SOLUTION_FILE}` in a single ```zig code block."
    )


def section_ids(sections: pl.DataFrame) -> dict[str, tuple[str, str]]:
    """Section title -> (``section_id``, breadcrumb) of its first part."""
    found: dict[str, tuple[str, str]] = {}
    for row in sections.sort("order").iter_rows(named=True):
        found.setdefault(row["title"], (row["section_id"], row["breadcrumb"]))
    return found


def passes_all(verdict: Verdict, stderr: str) -> bool:
    report = read_test_report(stderr)
    return verdict is Verdict.OK and (report is None or report.all_passed)


async def spec_task_pairs(
    sections: pl.DataFrame, check: Checker, tasks: Sequence[SpecTask] | None = None
) -> tuple[FamilyResult, list[tuple[SpecTask, Row]]]:
    """One pair per task whose solution passes its tests and whose stub fails at its placeholder.

    Also returns the kept tasks with their rows, for the families that build on them (mistake repair).
    """
    from zigtune.generation.spec_bank import all_tasks

    result = FamilyResult(FAMILY)
    where = section_ids(sections)
    chosen: list[tuple[SpecTask, tuple[str, str]]] = []
    for task in all_tasks() if tasks is None else tasks:
        if task.section not in where:
            result.dropped["no_section"] += 1
            continue
        chosen.append((task, where[task.section]))
    jobs = [job(task.checked_file) for task, _ in chosen] + [job(task.stub_checked_file()) for task, _ in chosen]
    results = await check(jobs)
    kept: list[tuple[SpecTask, Row]] = []
    for task, (section_id, breadcrumb) in chosen:
        ran = results[job(task.checked_file)]
        if not passes_all(ran.verdict, ran.stderr):
            result.reject_in(section_id, breadcrumb, "solution_fails", task.checked_file + "\n" + ran.stderr[-1500:])
            continue
        stubbed = results[job(task.stub_checked_file())]
        if stubbed.verdict is Verdict.OK:
            result.reject_in(section_id, breadcrumb, "stub_passes", task.stub())
            continue
        if "TODO" not in stubbed.stderr:
            result.reject_in(section_id, breadcrumb, "stub_fails_elsewhere", task.stub() + "\n" + stubbed.stderr[-800:])
            continue
        result.kept_by[task.family] += 1
        row = docs_pair(
            section_id=section_id,
            breadcrumb=breadcrumb,
            example_name=f"spec:{task.name}",
            checked=True,
            instruction=task_prompt(task.spec, task.stub()),
            response=f"```zig\n{task.solution}```",
            kind="code",
            family=FAMILY,
            behaviour_check="tests",
        )
        result.rows.append(row)
        kept.append((task, row))
    return result, kept

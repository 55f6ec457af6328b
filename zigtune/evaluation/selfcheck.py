"""A suite's self-check: its reference solutions must pass, and every cheating solution must fail.

The cheats are what a model might hand in without doing the task:

- ``empty_test``: only ``test {}``;
- ``stub``: the visible stub as given;
- ``exit_early``: the stub with every function body replaced by ``std.process.exit(0)`` (the test binary exits 0
  before its tests fail);
- ``ignores_api`` (``test`` tasks): a program that ignores the stub and prints the test runner's success line from
  ``main`` (which ``zig test`` never calls: it fails to compile against the hidden tests, or fails them);
- ``forges_summary`` (``test`` tasks): the stub with every function body replaced by code that prints the test
  runner's success line, ``All N tests passed.``, and exits 0 — this one runs, inside the first test that calls
  the stub, so it fails only because the judge trusts the runner's signed summary, not that line;
- ``prints_prompt`` (``run`` tasks whose prompt has a fenced block): a program that prints that block, as a
  model copying the output a prompt quotes would.

A ``run`` task is judged by its output, so a prompt must not contain that output: ``leaks_expected_output``
says when it does. A suite passes the self-check when references score pass@1 = 1.0, cheats 0, and no prompt
leaks its output (``benchmarks/check_suite.py`` runs it through ``score``). No dagster here.
"""

from __future__ import annotations

from zigtune.evaluation.contamination import normalise
from zigtune.evaluation.judging import hidden_test_count
from zigtune.evaluation.suite import SuiteTask
from zigtune.evaluation.zig_source import replace_function_bodies
from zigtune.validation.code_extraction import FENCED_BLOCK

EXIT_EARLY_BODY = '@import("std").process.exit(0);'


def forged_summary_body(tests: int) -> str:
    """Statements that print the default test runner's success line for ``tests`` tests and exit 0."""
    line = f"\\nAll {max(tests, 1)} tests passed.\\n"
    return f'@import("std").debug.print("{line}", .{{}});\n@import("std").process.exit(0);'


def zig_string_literal(text: str) -> str:
    """``text`` as a Zig string literal."""
    escaped = []
    for char in text:
        if char in '\\"':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _printing(text: str, stream: str) -> str:
    writer = "getStdOut" if stream == "stdout" else "getStdErr"
    return (
        'const std = @import("std");\n\n'
        "pub fn main() !void {\n"
        f"    try std.io.{writer}().writeAll({zig_string_literal(text)});\n"
        "}\n"
    )


def leaks_expected_output(task: SuiteTask) -> bool:
    """Does a ``run`` task's prompt contain its expected output (whitespace collapsed)?"""
    expected = normalise(task.check.expected_output or "")
    return task.check.kind == "run" and bool(expected) and expected in normalise(task.prompt)


def cheating_solutions(task: SuiteTask) -> dict[str, str]:
    """Solutions that do not do the task, by name; each must fail the task's check."""
    cheats = {"empty_test": "test {}\n"}
    if task.stub is not None:
        cheats["stub"] = task.stub
        exiting = replace_function_bodies(task.stub, lambda _: EXIT_EARLY_BODY)
        if exiting != task.stub:
            cheats["exit_early"] = exiting
        if task.check.kind == "test":
            forging = replace_function_bodies(task.stub, lambda _: forged_summary_body(hidden_test_count(task)))
            if forging != task.stub:
                cheats["forges_summary"] = forging
    if task.check.kind == "test":
        cheats["ignores_api"] = _printing(f"All {max(hidden_test_count(task), 1)} tests passed.\n", "stderr")
    else:
        blocks = [match.group("body") for match in FENCED_BLOCK.finditer(task.prompt)]
        if blocks:
            cheats["prints_prompt"] = _printing(max(blocks, key=len), task.check.stream)
    return cheats

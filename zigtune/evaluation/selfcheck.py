"""A suite's self-check: its reference solutions must pass, and every cheating solution must fail.

The cheats are what a model might hand in without doing the task:

- ``empty_test``: only ``test {}``;
- ``stub``: the visible stub as given;
- ``exit_early``: the stub with every function body replaced by ``std.process.exit(0)`` (the test binary exits 0
  before its tests fail);
- ``print_only``: a program that ignores the task's API and prints — the expected output of a ``run`` task, or
  the test runner's success line for a ``test`` task.

A suite passes the self-check when references score pass@1 = 1.0 and cheats 0 (run through ``score``).
No dagster here.
"""

from __future__ import annotations

from zigtune.evaluation.judging import hidden_test_count
from zigtune.evaluation.suite import SuiteTask
from zigtune.evaluation.zig_source import replace_function_bodies

EXIT_EARLY_BODY = '@import("std").process.exit(0);'


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


def print_only(task: SuiteTask) -> str:
    if task.check.kind == "run":
        text, stream = task.check.expected_output or "", task.check.stream
    else:
        text, stream = f"All {max(hidden_test_count(task), 1)} tests passed.\n", "stderr"
    writer = "getStdOut" if stream == "stdout" else "getStdErr"
    return (
        'const std = @import("std");\n\n'
        "pub fn main() !void {\n"
        f"    try std.io.{writer}().writeAll({zig_string_literal(text)});\n"
        "}\n"
    )


def cheating_solutions(task: SuiteTask) -> dict[str, str]:
    """Solutions that do not do the task, by name; each must fail the task's check."""
    cheats = {"empty_test": "test {}\n", "print_only": print_only(task)}
    if task.stub is not None:
        cheats["stub"] = task.stub
        exiting = replace_function_bodies(task.stub, lambda _: EXIT_EARLY_BODY)
        if exiting != task.stub:
            cheats["exit_early"] = exiting
    return cheats

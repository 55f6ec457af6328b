"""What a model's failing completions fail on: the first compiler error of each, grouped by kind.

``python benchmarks/failure_kinds.py LABEL completions.jsonl [LABEL completions.jsonl ...]`` judges each file on
``zigtune_core`` with the local Zig engine (as ``python -m zigtune.evaluation score`` does) and prints one
markdown table: a row per kind (a compile error's pattern, or the verdict of code that compiled), a column per
file. ``benchmarks/README.md`` ("A real model") has the table for the committed completions.
"""

from __future__ import annotations

import asyncio
import collections
import re
import sys
from pathlib import Path

from zigtune.evaluation.cli import _judge, create_engine, read_completions
from zigtune.evaluation.judging import check_job, judge, solution_from_completion
from zigtune.evaluation.samples import prompt_key
from zigtune.evaluation.suite import load_suite
from zigtune.validation.checking import CheckStats

#: (kind, pattern of the first ``error:`` line); the first that matches names the kind.
KINDS = (
    ("a parameter or constant assigned", r"cannot assign to constant|invalid left-hand side"),
    ("/ or % on signed integers", r"signed integers (and floats )?must use"),
    ("an unused, shadowing or never-changed name", r"unused (local|function parameter|capture)|shadows|never mutated"),
    ("for captures", r"extra capture in for loop|for input is not captured"),
    ("a cast with no result type, or the wrong integer type",
     r"must have a known result type|cannot represent integer|incompatible types|LHS of shift|expected type '[ui]\d+'"),
    ("a var holding a comptime_int", r"must be const or comptime"),
    ("an error not handled", r"error (union )?is (ignored|discarded)|error union"),
    ("std used, never imported", r"undeclared identifier 'std'"),
    ("syntax that is not Zig",
     r"expected '[^']*'(, found| after)|cannot be chained|ambiguous use of|leading zero"
     r"|expected (expression|type expression|block|statement|pointer dereference)"),
    ("an API that is not in 0.14, or misused",
     r"no field or member function named|has no member named|invalid builtin|undeclared identifier|expected \d+ arg"
     r"|does not support|has no members|no field named|not a function|switch on type|operator == not allowed|prong"),
)  # fmt: skip


def kind_of(error: str) -> str:
    return next((name for name, pattern in KINDS if re.search(pattern, error)), "other type errors")


def kinds(path: Path) -> collections.Counter[str]:
    suite = load_suite("zigtune_core")
    tasks = {prompt_key(suite.name, task.id): task for task in suite.tasks}
    completions = read_completions(path, suite)
    results, _ = asyncio.run(_judge(suite, completions, create_engine("local", 0), None, CheckStats()))
    counts: collections.Counter[str] = collections.Counter()
    for completion in completions:
        task = tasks[completion.task_id]
        solution = solution_from_completion(completion.text)
        result = results.get(check_job(task, solution)) if solution else None
        verdict = judge(task, solution, result).verdict.value
        if verdict == "compile_error" and result is not None:
            errors = [line.split("error:", 1)[1] for line in result.stderr.splitlines() if "error:" in line]
            verdict = kind_of(errors[0] if errors else "")
        counts[verdict] += 1
    return counts


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    columns = {label: kinds(Path(path)) for label, path in zip(argv[::2], argv[1::2], strict=True)}
    rows = sorted({k for c in columns.values() for k in c}, key=lambda k: -sum(c[k] for c in columns.values()))
    print("| kind | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for row in rows:
        print(f"| {row} | " + " | ".join(str(c[row]) for c in columns.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

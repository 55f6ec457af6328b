"""Mistake repair: the errors real base models make in Zig 0.14, put into checked spec solutions, explained and fixed.

The rules are the mistakes measured on Qwen2.5-Coder base models (issue 25): ``if a > b {`` without
parentheses, ``var count = 0;`` (a ``comptime_int`` variable), assigning to a parameter, C-style
``for (var i = 0; ...)``, ``assert`` used without importing it, a call that can fail without ``try``, a
list declared ``const`` and then changed, a wider integer used where a narrower one is needed without
``@intCast``; and those the fine-tuned 1.5B still made (``benchmarks/results/coder-1.5b``): ``/`` and ``%`` on
signed integers, ``==`` on strings, ``for (items) |x, i|`` without the ``0..`` range, a ``var`` never
changed, ``@intCast`` with no result type.

Each rule rewrites one line of a solution that passed its tests (:mod:`.spec_tasks`). A pair is kept
only when the real compiler rejects the rewritten file with the rule's own message (so the stated
cause is the compiler's), and the fix is the solution that passed the tests. The answer names the
cause, quotes the broken line and the fixed one, and gives the whole corrected file. At most
``MAX_PER_TASK`` rules per task. Dropped, counted by reason: ``compiles`` (the rewrite is still valid
Zig), ``other_error`` (it fails, but not with the rule's message). No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zigtune.generation.execution import Checker, FamilyResult, compiler_message, job
from zigtune.generation.pairs import Row, docs_pair
from zigtune.generation.spec_tasks import STD_IMPORT, SpecTask
from zigtune.validation.verdicts import Verdict

FAMILY = "mistake_repair"
MAX_PER_TASK = 2


@dataclass(frozen=True)
class Mistake:
    name: str
    #: (solution) -> (broken solution, the line index changed) or None when the rule does not apply
    apply: Callable[[str], tuple[str, int] | None]
    message: str  # a pattern of the compiler's message
    cause: str
    fix: str


def _line_rule(pattern: str, replace: Callable[[re.Match[str]], str]) -> Callable[[str], tuple[str, int] | None]:
    compiled = re.compile(pattern)

    def apply(code: str) -> tuple[str, int] | None:
        lines = code.split("\n")
        for index, line in enumerate(lines):
            if found := compiled.search(line):
                lines[index] = line[: found.start()] + replace(found) + line[found.end() :]
                return "\n".join(lines), index
        return None

    return apply


def _assign_parameter(code: str) -> tuple[str, int] | None:
    """``var rest = n;`` removed and ``rest`` renamed ``n``: the function now changes its parameter."""
    lines = code.split("\n")
    for index, line in enumerate(lines):
        found = re.match(r"^(\s*)var (\w+) = (\w+);$", line)
        if not found:
            continue
        local, parameter = found.group(2), found.group(3)
        header = next((lines[i] for i in range(index, -1, -1) if " fn " in lines[i] or lines[i].startswith("fn ")), "")
        if not re.search(rf"\b{parameter}\s*:", header):
            continue
        end = next(
            (
                i
                for i in range(index + 1, len(lines))
                if lines[i].startswith(("}", "    }")) and len(lines[i]) - len(lines[i].lstrip()) < len(found.group(1))
            ),
            len(lines),
        )
        body = [re.sub(rf"\b{local}\b", parameter, text) for text in lines[index + 1 : end]]
        changed = [*lines[:index], *body, *lines[end:]]
        return "\n".join(changed), next(
            (
                i
                for i, text in enumerate(body, start=index)
                if re.search(rf"\b{parameter}\b\s*(?:[-+*/%]|>>|<<)?=", text)
            ),
            index,
        )
    return None


MISTAKES = (
    Mistake(
        "if_without_parentheses",
        _line_rule(r"\b(if|while) \((.+)\) (\{|[a-z])", lambda m: f"{m.group(1)} {m.group(2)} {m.group(3)}"),
        r"expected '\('",
        "In Zig the condition of `if` and `while` must be written in parentheses; without them the parser "
        "stops at the condition",
        "put the condition in parentheses",
    ),
    Mistake(
        "untyped_var",
        _line_rule(r"\bvar (\w+): (?:u\d+|i\d+|usize|isize) = (\d+);", lambda m: f"var {m.group(1)} = {m.group(2)};"),
        r"must be const or comptime",
        "An integer literal has the type `comptime_int`, which exists only at compile time; a `var` initialised "
        "with it and no type would be a run-time variable of a compile-time-only type",
        "give the variable a run-time type",
    ),
    Mistake(
        "assign_to_parameter",
        _assign_parameter,
        r"cannot assign to constant",
        "Function parameters are constants in Zig: the function changes one of them",
        "copy the parameter into a `var` and change the copy",
    ),
    Mistake(
        "c_style_for",
        _line_rule(
            r"\bfor \((\d+)\.\.([\w.]+(?: \+ 1)?)\) \|(\w+)\| \{",
            lambda m: (
                f"for (var {m.group(3)}: usize = {m.group(1)}; {m.group(3)} < {m.group(2)}; {m.group(3)} += 1) {{"
            ),
        ),
        r"expected",
        "Zig has no C-style `for (init; condition; step)` loop: `for` iterates over ranges and slices, "
        "and a counting loop with a step is a `while` with a continue expression",
        "iterate over the range with `for (start..end) |i|`",
    ),
    Mistake(
        "c_style_for_over_slice",
        _line_rule(
            r"\bfor \(([\w.]+)\) \|(\w+)\| \{",
            lambda m: f"for (var i: usize = 0; i < {m.group(1)}.len; i += 1) {{",
        ),
        r"expected",
        "Zig has no C-style `for (init; condition; step)` loop: `for` iterates over slices and ranges, and "
        "gives each element through a capture",
        "iterate over the slice and capture each element",
    ),
    Mistake(
        "assert_not_imported",
        _line_rule(r"\bstd\.debug\.assert\(", lambda m: "assert("),
        r"use of undeclared identifier 'assert'",
        "`assert` is neither a keyword nor a builtin in Zig: it is the function `std.debug.assert`, and a file "
        "sees it only through `std` or an alias it declares",
        "call it through `std` (or declare `const assert = std.debug.assert;` at the top of the file)",
    ),
    Mistake(
        "missing_try",
        _line_rule(
            r"^(\s*)try (\w[\w.]*\.(?:append|appendSlice|put|push|add|stock|print)\()",
            lambda m: f"{m.group(1)}{m.group(2)}",
        ),
        r"error (?:union )?is (?:ignored|discarded)",
        "The call returns an error union (it can fail, for example with `error.OutOfMemory`), and Zig does not "
        "let a possible error be ignored",
        "handle it: `try` passes the error to the caller",
    ),
    Mistake(
        "const_instead_of_var",
        _line_rule(
            r"\bvar (\w+) = (std\.ArrayList|std\.mem\.(?:tokenize|split)|\w+\.init\()",
            lambda m: f"const {m.group(1)} = {m.group(2)}",
        ),
        r"expected type '\*|cast discards const qualifier|local variable is never mutated",
        "The value is declared `const`, but its methods change it (they take `self` as a pointer to a "
        "mutable value), so it must be a `var`",
        "declare it with `var`",
    ),
    Mistake(
        "signed_division",
        _line_rule(r"@div(?:Trunc|Floor|Exact)\((\w[\w.]*), (\w[\w.]*)\)", lambda m: f"{m.group(1)} / {m.group(2)}"),
        r"signed integers must use @divTrunc",
        "Zig does not guess which rounding a division of signed integers should use: `/` is only for unsigned "
        "integers (and comptime-known values), so a signed run-time division must say how it rounds",
        "use `@divTrunc` (rounds toward zero, like C), `@divFloor` or `@divExact`",
    ),
    Mistake(
        "signed_remainder",
        _line_rule(r"@(?:rem|mod)\((\w[\w.]*), (\w[\w.]*)\)", lambda m: f"{m.group(1)} % {m.group(2)}"),
        r"signed integers and floats must use @rem or @mod",
        "`%` is only for unsigned integers: with a signed operand the sign of the result is ambiguous, so Zig "
        "makes the code choose",
        "use `@rem` (the sign of the dividend) or `@mod` (the sign of the divisor)",
    ),
    Mistake(
        "string_equality",
        _line_rule(r"std\.mem\.eql\(u8, (\w[\w.\[\]]*), (\w[\w.\[\]]*)\)", lambda m: f"{m.group(1)} == {m.group(2)}"),
        r"operator == not allowed for type",
        "A string is a slice (`[]const u8`), and `==` does not compare slices: their contents must be compared "
        "byte by byte",
        "compare the contents with `std.mem.eql(u8, a, b)`",
    ),
    Mistake(
        "index_capture_without_range",
        _line_rule(
            r"\bfor \(([\w.]+), 0\.\.\) \|(\*?\w+), (\w+)\|",
            lambda m: f"for ({m.group(1)}) |{m.group(2)}, {m.group(3)}|",
        ),
        r"extra capture in for loop",
        "A `for` loop has exactly one capture per object it iterates; the index is not a free second capture, "
        "it comes from iterating a range alongside the slice",
        "iterate the slice and the range `0..` together: `for (items, 0..) |item, i|`",
    ),
    Mistake(
        "var_never_mutated",
        _line_rule(r"^(\s+)const (\w+)(: [^=]+)? = ", lambda m: f"{m.group(1)}var {m.group(2)}{m.group(3) or ''} = "),
        r"local variable is never mutated",
        "Zig rejects a `var` that is never changed: a value that does not change must be declared `const`, so "
        "the reader knows it stays fixed",
        "declare it with `const`",
    ),
    Mistake(
        "int_cast_without_result_type",
        _line_rule(r"@as\((\w+), @intCast\((\w[\w.]*)\)\)", lambda m: f"@intCast({m.group(2)})"),
        r"@intCast must have a known result type",
        "`@intCast` takes the integer type to convert to from where its result goes; here nothing fixes that "
        "type (an operand of arithmetic or a comparison has none)",
        "name the type with `@as(T, @intCast(x))`",
    ),
    Mistake(
        "missing_int_cast",
        _line_rule(r"@intCast\((\w+)\)", lambda m: m.group(1)),
        r"expected type '.*', found '.*'",
        "Zig never converts an integer to a type that cannot hold all its values implicitly; here a wider "
        "integer is used where a narrower one is expected",
        "convert it explicitly with `@intCast` (it checks the value fits in safe builds)",
    ),
)


def _offset(task: SpecTask) -> int:
    return 0 if STD_IMPORT in task.solution else 1


def _file_of(task: SpecTask, solution: str) -> str:
    return SpecTask(task.name, task.section, task.spec, solution, task.tests).checked_file


def _message(stderr: str, pattern: str, offset: int) -> str | None:
    quoted = compiler_message(stderr, pattern)
    if quoted is None:
        return None
    return re.sub(r"^(?:\S*/)?main\.zig:(\d+):", lambda m: f"{'solution.zig'}:{int(m.group(1)) - offset}:", quoted)


def repair_prompt(task: SpecTask, broken: str, message: str) -> str:
    return (
        "This Zig 0.14 file was written for the task below, but the compiler rejects it:\n\n"
        f"```text\n{message}\n```\n\n"
        f"Task:\n{task.spec.strip()}\n\n```zig\n{broken}```\n\nExplain what is wrong and give the corrected "
        "`solution.zig`."
    )


def repair_answer(mistake: Mistake, broken_line: str, fixed_line: str, line_number: int, solution: str) -> str:
    return (
        f"Cause: {mistake.cause}. Line {line_number} is `{broken_line.strip()}`.\n\n"
        f"Fix: {mistake.fix}: `{fixed_line.strip()}`.\n\nThe corrected file, which passes the "
        f"task's tests:\n\n```zig\n{solution}```"
    )


async def mistake_repair_pairs(
    kept: Sequence[tuple[SpecTask, Row]],
    check: Checker,
    rules: Sequence[Mistake] = MISTAKES,
    max_per_task: int = MAX_PER_TASK,
) -> FamilyResult:
    """Pairs from the kept spec tasks and ``rules``; see the module docstring."""
    result = FamilyResult(FAMILY)
    tried: list[tuple[SpecTask, Row, Mistake, str, int]] = []
    used = dict.fromkeys((rule.name for rule in rules), 0)
    for task, row in kept:
        # the rules used least so far first, so that rare mistakes are not crowded out by common ones
        applicable = [(rule, changed) for rule in rules if (changed := rule.apply(task.solution))]
        applicable.sort(key=lambda pair: used[pair[0].name])
        for mistake, changed in applicable[:max_per_task]:
            used[mistake.name] += 1
            tried.append((task, row, mistake, changed[0], changed[1]))
    results = await check([job(_file_of(task, broken)) for task, _, _, broken, _ in tried])
    for task, row, mistake, broken, index in tried:
        ran = results[job(_file_of(task, broken))]
        if ran.verdict is not Verdict.COMPILE_ERROR:
            result.reject_in(str(row["section_id"]), str(row["breadcrumb"]), f"compiles:{mistake.name}", broken)
            continue
        message = _message(ran.stderr, mistake.message, _offset(task))
        if message is None:
            result.reject_in(
                str(row["section_id"]), str(row["breadcrumb"]), f"other_error:{mistake.name}", ran.stderr[-1500:]
            )
            continue
        broken_line = broken.split("\n")[index]
        fixed_line = task.solution.split("\n")[index] if mistake.name != "assign_to_parameter" else ""
        if mistake.name == "assign_to_parameter":
            fixed_line = next(line for line in task.solution.split("\n") if re.match(r"^\s*var \w+ = \w+;$", line))
        result.kept_by[mistake.name] += 1
        result.rows.append(
            docs_pair(
                section_id=str(row["section_id"]),
                breadcrumb=str(row["breadcrumb"]),
                example_name=f"mistake:{mistake.name}:{task.name}",
                checked=True,
                instruction=repair_prompt(task, broken, message),
                response=repair_answer(mistake, broken_line, fixed_line, index + 1, task.solution),
                kind="code",
                family=FAMILY,
                behaviour_check="tests",
            )
        )
    return result

"""Implement to pass the tests: a test file with one function's body replaced by a placeholder.

For each passing test file of the reference and each function with a body outside its ``test``
blocks, the body is replaced by ``@panic("TODO: implement NAME")`` (its parameters discarded, so the
stub compiles). The task shows the stubbed file, tests and signature included; the answer is the
working file. A pair is kept only when the stubbed file fails *because of the placeholder* (the
tests call the function and hit the panic, at run time or at compile time), and the answer passes
(it is the reference's example, run already). So the tests are known to check the function.

Dropped, counted by reason: ``stub_passes`` (no test reaches the function), ``stub_does_not_compile``
(the placeholder breaks the file for another reason, such as an empty inferred error set),
``other_failure`` (the stub fails, but not at the placeholder). At most ``MAX_FUNCTIONS_PER_FILE``
functions of one file are asked for, the largest first. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from zigtune.generation.execution import CheckedProgram, Checker, FamilyResult
from zigtune.generation.migrations import classify_brace, split_arguments
from zigtune.validation.code_extraction import check_mode
from zigtune.validation.verdicts import Verdict
from zigtune.validation.zig_syntax import matching_close, view_source

FAMILY = "implement_tests"
MAX_FUNCTIONS_PER_FILE = 3

_FUNCTION = re.compile(r"\bfn\s+([A-Za-z_]\w*)\s*\(")
_TEST_BLOCK = re.compile(r'\btest\b\s*(?:"[^"\n]*"|[A-Za-z_]\w*)?\s*\{')
_PARAMETER = re.compile(r"^(?:comptime\s+|noalias\s+)?([A-Za-z_]\w*)\s*:")
_COMPTIME_PANIC = "encountered @panic at comptime"


@dataclass(frozen=True)
class Function:
    """A function of a file: its name, the span of its body's braces, and its parameter names."""

    name: str
    body_start: int  # the "{"
    body_end: int  # the "}"
    parameters: tuple[str, ...]


def _test_spans(masked: str) -> list[tuple[int, int]]:
    spans = []
    for match in _TEST_BLOCK.finditer(masked):
        close = matching_close(masked, match.end() - 1)
        if close != -1:
            spans.append((match.start(), close))
    return spans


def functions(code: str) -> list[Function]:
    """The functions with a body outside ``test`` blocks, except ``main``."""
    view = view_source(code)
    masked = view.masked
    tests = _test_spans(masked)
    found: list[Function] = []
    for match in _FUNCTION.finditer(masked):
        name = match.group(1)
        if name == "main" or any(start <= match.start() <= end for start, end in tests):
            continue
        open_paren = match.end() - 1
        close_paren = matching_close(masked, open_paren)
        if close_paren == -1:
            continue
        body = _body_brace(masked, close_paren + 1)
        if body is None:
            continue
        body_end = matching_close(masked, body)
        if body_end == -1 or not masked[body + 1 : body_end].strip():
            continue  # no body, or an empty one: nothing to implement
        parameters = []
        for start, end in split_arguments(masked, open_paren + 1, close_paren):
            named = _PARAMETER.match(masked[start:end])
            if named and named.group(1) != "_":
                parameters.append(named.group(1))
        found.append(Function(name, body, body_end, tuple(parameters)))
    return found


def _body_brace(masked: str, start: int) -> int | None:
    """The ``{`` that opens the body after a parameter list (skipping ``error{...}`` in the return type)."""
    depth = 0
    for index in range(start, len(masked)):
        char = masked[index]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ";" and depth == 0:
            return None  # a declaration without a body (extern, a function type)
        elif char == "{" and depth == 0:
            if classify_brace(masked, index) == "block":
                return index
            close = matching_close(masked, index)
            if close == -1:
                return None
            # skip the error set or struct in the return type
            return _body_brace(masked, close + 1)
    return None


def placeholder(function: Function) -> str:
    return f'@panic("TODO: implement {function.name}");'


def stub(code: str, function: Function) -> str:
    """``code`` with ``function``'s body replaced by parameter discards and the placeholder panic."""
    line_start = code.rfind("\n", 0, function.body_start) + 1
    indent = re.match(r"[ \t]*", code[line_start:]).group()  # type: ignore[union-attr]
    inner = indent + "    "
    lines = [f"{inner}_ = {name};" for name in function.parameters] + [inner + placeholder(function)]
    return code[: function.body_start] + "{\n" + "\n".join(lines) + f"\n{indent}}}" + code[function.body_end + 1 :]


def implement_instruction(name: str, stubbed: str) -> str:
    return (
        f"Implement `{name}` in this Zig 0.14 file. Its tests show what it must do, and all of them must pass "
        f"under `zig test`. Keep the signature and replace the `@panic` placeholder with a working body.\n\n"
        f"```zig\n{stubbed}```"
    )


def fails_at_placeholder(verdict: Verdict, stderr: str, function: Function) -> bool:
    """Did the stubbed file fail because a test reached the placeholder (at run time, or at compile time)?"""
    message = f"TODO: implement {function.name}"
    if verdict in (Verdict.RUNTIME_ERROR, Verdict.TEST_FAILURE):
        return re.search(rf"panic: {re.escape(message)}$", stderr, re.MULTILINE) is not None
    return verdict is Verdict.COMPILE_ERROR and _COMPTIME_PANIC in stderr and f'"{message}"' in stderr


async def implement_tests_pairs(programs: Sequence[CheckedProgram], check: Checker) -> FamilyResult:
    """One pair per (passing test file, function its tests reach); see the module docstring."""
    result = FamilyResult(FAMILY)
    tried: list[tuple[CheckedProgram, Function, str]] = []
    for checked in programs:
        code = checked.program.code
        if not checked.passes or check_mode(code) != "test":
            continue
        found = functions(code)
        if not found:
            result.dropped["no_function"] += 1
            continue
        largest = sorted(found, key=lambda f: f.body_end - f.body_start, reverse=True)[:MAX_FUNCTIONS_PER_FILE]
        for function in sorted(largest, key=lambda f: f.body_start):
            tried.append((checked, function, stub(code, function)))
    results = await check([checked.program.job(stubbed) for checked, _, stubbed in tried])
    for checked, function, stubbed in tried:
        program = checked.program
        ran = results[program.job(stubbed)]
        if ran.verdict is Verdict.OK:
            result.reject(program, "stub_passes", stubbed)
            continue
        if not fails_at_placeholder(ran.verdict, ran.stderr, function):
            reason = "stub_does_not_compile" if ran.verdict is Verdict.COMPILE_ERROR else "other_failure"
            result.reject(program, reason, stubbed)
            continue
        result.kept_by["runtime" if ran.verdict is not Verdict.COMPILE_ERROR else "comptime"] += 1
        result.rows.append(
            program.pair(
                instruction=implement_instruction(function.name, stubbed),
                response=f"```zig\n{program.code}```",
                kind="code",
                family=FAMILY,
                behaviour_check="tests",
            )
        )
    return result

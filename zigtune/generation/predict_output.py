"""Predict the output: "what does this program print?" and "what does `zig test` report?", answered by running.

The answer of each pair is what Zig 0.14 did with the code shown: the text a program printed (and
on which stream), or the test runner's outcome for every test. Nothing is taken from the reference's
transcripts. The program in the task is the pair's ``check_code``; validation finds no code in the
answer, since the answer is an output.

Dropped, counted by reason: ``no_plain_output`` (the program printed nothing, printed on both
streams, or printed addresses that change from run to run), ``no_plain_report`` (a test printed
text of its own, or the runner's output has another shape), and examples that do not pass.
No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zigtune.generation.execution import (
    CheckedProgram,
    Checker,
    FamilyResult,
    Printed,
    Program,
    RunnerReport,
    printed_output,
    read_test_report,
)
from zigtune.generation.pairs import Row
from zigtune.validation.code_extraction import check_mode

FAMILY = "predict_output"

STREAMS = {
    "stdout": "It prints to standard output:",
    "stderr": "It prints to standard error (where `std.debug.print` writes):",
}


def _quoted(name: str) -> str:
    return "the unnamed test" if re.fullmatch(r"test_\d+", name) else f"`{name}`"


def describe_report(report: RunnerReport) -> str:
    """The runner's outcome in words: which tests pass, which fail and with what, which panic."""
    passed = [_quoted(o.name) for o in report.outcomes if o.status == "ok"]
    skipped = [_quoted(o.name) for o in report.outcomes if o.status == "skip"]
    lines: list[str] = []
    if report.all_passed:
        if len(report.outcomes) == 1:
            return f"The one test, {passed[0]}, passes."
        return f"All {len(report.outcomes)} tests pass: {', '.join(passed)}."
    for outcome in report.outcomes:
        if outcome.status == "fail":
            said = f" (the runner prints `{outcome.message}`)" if outcome.message else ""
            lines.append(f"- {_quoted(outcome.name)} fails with `error.{outcome.error}`{said}.")
        elif outcome.status == "panic":
            lines.append(f"- {_quoted(outcome.name)} panics: `{outcome.message}`; the panic stops the test run.")
    if passed:
        lines.append(f"- Passing: {', '.join(passed)}.")
    if skipped:
        lines.append(f"- Skipped: {', '.join(skipped)}.")
    return "Not all tests pass under `zig test`:\n\n" + "\n".join(lines)


def program_instruction(code: str) -> str:
    return f"What does this Zig 0.14 program print when it runs?\n\n```zig\n{code}```"


def tests_instruction(code: str) -> str:
    return (
        "What does `zig test` report for this Zig 0.14 file? Say which tests pass and, for any that fail, "
        f"how.\n\n```zig\n{code}```"
    )


def program_answer(printed: Printed) -> str:
    return f"{STREAMS[printed.stream]}\n\n```text\n{printed.text}```"


def output_pair(program: Program, code: str, printed: Printed, family: str) -> Row:
    return program.pair(
        instruction=program_instruction(code),
        response=program_answer(printed),
        kind="concept",
        expected_output=printed.text,
        family=family,
        behaviour_check="output",
        check_code=code,
        check_verdict="ok",
    )


def report_pair(program: Program, code: str, report: RunnerReport, family: str, verdict: str) -> Row:
    return program.pair(
        instruction=tests_instruction(code),
        response=describe_report(report),
        kind="concept",
        family=family,
        behaviour_check="tests",
        check_code=code,
        check_verdict=verdict,
    )


async def predict_output_pairs(programs: Sequence[CheckedProgram], check: Checker) -> FamilyResult:
    """One pair per passing program with a plain output, and per passing test file with a plain report.

    ``check`` is not called: the programs were run already. It is part of the signature every
    family shares.
    """
    del check
    result = FamilyResult(FAMILY)
    for checked in programs:
        program = checked.program
        if not checked.passes:
            result.dropped["example_does_not_pass"] += 1
            continue
        mode = check_mode(program.code)
        if mode == "run":
            printed = printed_output(checked.result)
            if printed is None:
                result.reject(program, "no_plain_output", checked.result.stdout + checked.result.stderr)
                continue
            result.kept_by["program_output"] += 1
            result.rows.append(output_pair(program, program.code, printed, FAMILY))
        elif mode == "test":
            report = read_test_report(checked.result.stderr)
            if report is None:
                result.reject(program, "no_plain_report", checked.result.stderr)
                continue
            result.kept_by["read_test_report"] += 1
            result.rows.append(report_pair(program, program.code, report, FAMILY, checked.result.verdict.value))
        else:
            result.dropped["nothing_runs"] += 1  # build-obj: compiled, never run
    return result

"""Migration repair: working Zig 0.14 code turned back into an older release's form, and fixed again.

Each rule of the catalogue (:mod:`zigtune.generation.migrations`) is applied in reverse to each
program that passes under Zig 0.14. The old form is compiled; the pair is kept only when it fails
with the message the rule predicts, and that real message is quoted in the task. The answer is the
working program and one sentence naming the change, with the release that made it.

Dropped, counted by reason: ``old_form_compiles`` (the change does not break this code),
``other_error`` (it fails, but not with the rule's message: the regression broke something else).
No dagster here.
"""

from __future__ import annotations

from collections.abc import Sequence

from zigtune.generation.execution import CheckedProgram, Checker, FamilyResult, compiler_message, printed_output
from zigtune.generation.migrations import RULES, MigrationRule
from zigtune.validation.code_extraction import check_mode
from zigtune.validation.verdicts import Verdict

FAMILY = "migration_repair"


def repair_instruction(old_code: str, message: str) -> str:
    return (
        "This Zig code was written for an older Zig release and no longer compiles with Zig 0.14. "
        f"The compiler reports:\n\n```text\n{message}\n```\n\n"
        f"Update it for Zig 0.14 so that it compiles and behaves as before.\n\n```zig\n{old_code}```"
    )


def repair_response(fixed_code: str, rule: MigrationRule) -> str:
    return f"```zig\n{fixed_code}```\n\n{rule.summary}"


async def migration_repair_pairs(
    programs: Sequence[CheckedProgram], check: Checker, rules: Sequence[MigrationRule] = RULES
) -> FamilyResult:
    """One pair per (passing program, rule) whose old form fails under Zig 0.14 with the rule's message."""
    result = FamilyResult(FAMILY)
    candidates: list[tuple[CheckedProgram, MigrationRule, str]] = []
    for checked in programs:
        if not checked.passes:
            continue
        for rule in rules:
            old = rule.regress(checked.program.code)
            if old is not None:
                candidates.append((checked, rule, old))
    results = await check([checked.program.job(old) for checked, _, old in candidates])
    for checked, rule, old in candidates:
        program = checked.program
        ran = results[program.job(old)]
        if ran.verdict is not Verdict.COMPILE_ERROR:
            result.reject(program, "old_form_compiles", old)
            continue
        message = compiler_message(ran.stderr, rule.expected_error)
        if message is None:
            first = compiler_message(ran.stderr) or ran.stderr[:300]
            result.reject(program, "other_error", f"{rule.name}: {first}\n\n{old}")
            continue
        printed = printed_output(checked.result) if check_mode(program.code) == "run" else None
        result.kept_by[rule.name] += 1
        result.rows.append(
            program.pair(
                instruction=repair_instruction(old, message),
                response=repair_response(program.code, rule),
                kind="code",
                expected_output=printed.text if printed else None,
                family=FAMILY,
                behaviour_check="output" if printed else _behaviour(program.code),
            )
        )
    return result


def _behaviour(code: str) -> str:
    """What the fixed program's passing run checked: its tests, or only that it runs or compiles."""
    mode = check_mode(code)
    return "tests" if mode == "test" else "runs" if mode == "run" else "compiles"

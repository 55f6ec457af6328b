"""Spec tasks answered by an LLM, kept only when the answer passes the task's hidden tests (issue 27, item 5).

The ``spec_solution_llm`` family. Each task of the spec banks (:mod:`.spec_bank`; optionally the std
functions of :mod:`.stdlib_tasks`) is sent to the model as exactly the user turn the offline pair and the
``zigtune_core`` suite use (``task_prompt(spec, stub)``), with no system message. The reply's Zig block
(``extract_zig_code``, the one extraction) is judged the way ``spec_task_pairs`` judges the bank's own
solution: the answer with the task's hidden tests appended, run by ``zig test``. It passes only when the run
is ``ok`` and the test runner's report shows every hidden test run and passed: an answer that exits early,
prints over the report, or skips a test does not pass, and one that hardcodes the stub's visible example or
replaces the API with an empty ``test {}`` fails the hidden tests (or does not compile against them).

An answer that fails goes back to the model with the compiler's or the test runner's words
(``spec_repair.txt``), up to ``repair_rounds`` times, in the conversation that wrote it; the calls go
through ``calls.LLMCaller`` (cache, adaptive concurrency, retries) with plain-text replies. A pair is
user = task prompt, assistant = the passing code in a ``zig`` block. Provenance: ``generator`` llm, the
model, the family, the template hash, and ``example_name`` ``spec:<task>`` (``std:...`` for std
functions); :attr:`SpecLLMStats.same_as_reference` counts the answers equal (modulo whitespace and the ``std``
import) to the bank's solution, and ``SpecLLMResult.differs`` says it per pair.

Reject ledger, one row per task that gave no pair, its reason the last thing that went wrong: ``no_code``
(the first reply held no Zig), ``repair_no_code`` (a repair reply held none), the last verdict of an
answer never fixed (``compile_error``, ``test_failure``, ``runtime_error``, ``timeout``,
``incomplete_report``, ...; its raw text says how many rounds were tried), ``engine_error`` (the engine
failed, not the code: nothing to ask the model), or the call's failure (``api_timeout``, ...). A task
kept after a repair leaves a ``code_repaired_round_N`` row with its first failing answer, as the LLM
path's loop does. No dagster here.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

from zigtune.generation.calls import CallStats, LLMCaller, LLMCallError
from zigtune.generation.code_checks import MAX_FEEDBACK_CHARS, CodeChecker, code_feedback
from zigtune.generation.execution import read_test_report
from zigtune.generation.llm import CODE_REPAIR_ROUNDS, CODE_REPAIRED_ROUND
from zigtune.generation.pairs import Row, pair_row, reject_row
from zigtune.generation.prompts import PromptTemplates
from zigtune.generation.spec_tasks import SOLUTION_FILE, STD_IMPORT, SpecTask, section_ids, task_prompt
from zigtune.validation.code_extraction import TEST_DECLARATION, extract_zig_code
from zigtune.validation.verdicts import ExecResult, Verdict

FAMILY = "spec_solution_llm"
NO_CODE = "no_code"
REPAIR_NO_CODE = "repair_no_code"
INCOMPLETE_REPORT = "incomplete_report"
ENGINE_ERROR = "engine_error"
#: The engine's answers that say nothing about the code.
ENGINE_FAULTS = (Verdict.SANDBOX_ERROR,)

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class HiddenTestTask:
    """A task as this family needs it: the prompt, the reference answer and the hidden tests, at a docs section."""

    name: str
    prompt: str
    reference: str
    tests: str
    section_id: str
    breadcrumb: str
    provenance: str

    @property
    def hidden_tests(self) -> int:
        return len(TEST_DECLARATION.findall(self.tests))

    def checked_file(self, code: str) -> str:
        """``code`` with the hidden tests appended: what ``zig test`` runs (as ``SpecTask.checked_file``)."""
        head = "" if STD_IMPORT in code else STD_IMPORT + "\n"
        return head + code.rstrip("\n") + "\n\n" + self.tests.strip("\n") + "\n"


def spec_hidden_task(task: SpecTask, section_id: str, breadcrumb: str) -> HiddenTestTask:
    return HiddenTestTask(
        name=task.name,
        prompt=task_prompt(task.spec, task.stub()),
        reference=task.solution,
        tests=task.tests,
        section_id=section_id,
        breadcrumb=breadcrumb,
        provenance=f"spec:{task.name}",
    )


def hidden_tasks(
    sections: pl.DataFrame,
    spec_tasks: Sequence[SpecTask] | None = None,
    *,
    stdlib: bool = False,
    limit: int = 0,
) -> tuple[list[HiddenTestTask], Counter[str]]:
    """The tasks whose docs section is present (the bank's, then std's when ``stdlib``), at most ``limit``
    (0: all), and the ones left out counted by reason (``no_section``)."""
    from zigtune.generation.spec_bank import all_tasks

    where = section_ids(sections)
    left_out: Counter[str] = Counter()
    found: list[HiddenTestTask] = []
    for task in all_tasks() if spec_tasks is None else spec_tasks:
        if task.section not in where:
            left_out["no_section"] += 1
            continue
        found.append(spec_hidden_task(task, *where[task.section]))
    if stdlib:
        from zigtune.generation.stdlib_tasks import SECTION, spec_text, std_functions

        if SECTION in where:
            section_id, breadcrumb = where[SECTION]
            for function in std_functions():
                found.append(
                    HiddenTestTask(
                        name=function.provenance,
                        prompt=task_prompt(spec_text(function), function.stub),
                        reference=function.answer,
                        tests=f"{function.test_header}\n{function.tests}",
                        section_id=section_id,
                        breadcrumb=f"{breadcrumb} > lib/std/{function.path}",
                        provenance=function.provenance,
                    )
                )
        else:
            left_out["no_section"] += 1
    if limit and len(found) > limit:
        left_out["over_limit"] += len(found) - limit
        found = found[:limit]
    return found, left_out


class Judged(NamedTuple):
    """One answer under the hidden tests: ``reason`` is ``None`` when it passed, else what failed; ``message``
    is what the model is shown."""

    reason: str | None
    message: str

    @property
    def passed(self) -> bool:
        return self.reason is None


def judge_answer(task: HiddenTestTask, result: ExecResult) -> Judged:
    """Pass: the run is ``ok`` and the runner's report shows every hidden test run and passed (see the module
    docstring); otherwise the verdict (or ``incomplete_report``) and the compiler's or runner's words."""
    if result.verdict is not Verdict.OK:
        return Judged(result.verdict.value, code_feedback(result, "test", None).message)
    report = read_test_report(result.stderr)
    passed = 0 if report is None else sum(outcome.status == "ok" for outcome in report.outcomes)
    if report is None or not report.all_passed or passed < task.hidden_tests:
        said = result.stderr.strip()[-MAX_FEEDBACK_CHARS:] or "(nothing)"
        return Judged(
            INCOMPLETE_REPORT,
            f"The test run did not report all {task.hidden_tests} tests passing (the code must not print, skip "
            f"tests or exit early). The test runner said:\n{said}",
        )
    return Judged(None, "")


def _squeezed(code: str) -> str:
    """The code without whitespace and without the ``std`` import (a reference may leave it to the check)."""
    return re.sub(r"\s+", "", code.replace(STD_IMPORT, ""))


@dataclass
class SpecLLMStats:
    """How the model fared on the tasks: first-try passes, repairs, drops by reason."""

    tried: int = 0
    passed_first_try: int = 0
    recovered_in_round: Counter[int] = field(default_factory=Counter)
    first_failures: Counter[str] = field(default_factory=Counter)
    """What the first answers that did not pass failed with (``no_code`` included)."""
    unrepaired: int = 0
    """Failing answers that no repair round fixed."""
    dropped: Counter[str] = field(default_factory=Counter)
    same_as_reference: int = 0
    checks: int = 0

    @property
    def kept(self) -> int:
        return self.passed_first_try + sum(self.recovered_in_round.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "kept": self.kept,
            "passed_first_try": self.passed_first_try,
            "passed_after_repair": sum(self.recovered_in_round.values()),
            "recovered_in_round": {str(k): v for k, v in sorted(self.recovered_in_round.items())},
            "first_failures": dict(sorted(self.first_failures.items())),
            "unrepaired": self.unrepaired,
            "dropped": dict(sorted(self.dropped.items())),
            "same_as_reference": self.same_as_reference,
            "zig_checks": self.checks,
        }


@dataclass
class SpecLLMResult:
    rows: list[Row]
    rejects: list[dict[str, str]]
    stats: SpecLLMStats
    calls: CallStats
    wall_seconds: float
    differs: dict[str, bool] = field(default_factory=dict)
    """``pair_id`` -> whether the answer differs (modulo whitespace) from the bank's reference solution."""

    @property
    def pairs_per_hour(self) -> float:
        return len(self.rows) * 3600 / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class _Run:
    caller: LLMCaller
    templates: PromptTemplates
    checker: CodeChecker
    repair_rounds: int
    stats: SpecLLMStats
    result: SpecLLMResult

    def reject(self, task: HiddenTestTask, reason: str, raw: str) -> None:
        self.stats.dropped[reason] += 1
        self.ledger(task, reason, raw)

    def ledger(self, task: HiddenTestTask, reason: str, raw: str) -> None:
        """A row of the reject ledger: a dropped task, or the failing answer a repair round replaced."""
        self.result.rejects.append(
            reject_row(
                section_id=task.section_id,
                breadcrumb=task.breadcrumb,
                generator="llm",
                model=self.caller.settings.model,
                reason=reason,
                raw=f"{task.provenance}\n{raw}",
            )
        )

    async def judge(self, task: HiddenTestTask, code: str) -> Judged:
        self.stats.checks += 1
        return judge_answer(task, await self.checker(task.checked_file(code), "test"))

    def keep(self, task: HiddenTestTask, code: str) -> None:
        response = f"```zig\n{code.rstrip()}\n```"
        row = pair_row(
            section_id=task.section_id,
            breadcrumb=task.breadcrumb,
            instruction=task.prompt,
            response=response,
            generator="llm",
            model=self.caller.settings.model,
            template_hash=self.templates.hash,
            kind="code",
            example_name=task.provenance,
            family=FAMILY,
            checked=True,
            behaviour_check="tests",
        )
        differs = _squeezed(code) != _squeezed(task.reference)
        self.stats.same_as_reference += not differs
        self.result.differs[str(row["pair_id"])] = differs
        self.result.rows.append(row)


async def _ask(run: _Run, messages: Messages, priority: int) -> str:
    answer = await run.caller.chat(lambda _format: messages, priority)
    return str(answer["content"])


async def _solve(run: _Run, task: HiddenTestTask) -> None:
    """One task: ask, judge, repair up to ``repair_rounds`` times; keep the passing answer or log why not."""
    run.stats.tried += 1
    messages: Messages = [{"role": "user", "content": task.prompt}]
    try:
        reply = await _ask(run, messages, 0)
    except LLMCallError as failure:
        run.reject(task, failure.reason, str(failure))
        return
    code = extract_zig_code(reply)
    if code is None:
        run.stats.first_failures[NO_CODE] += 1
        run.reject(task, NO_CODE, reply)
        return
    judged = await run.judge(task, code)
    if judged.passed:
        run.stats.passed_first_try += 1
        run.keep(task, code)
        return
    run.stats.first_failures[judged.reason or ""] += 1
    first = f"{judged.reason}: {judged.message}\n\n{reply}"
    for round_number in range(1, run.repair_rounds + 1):
        if judged.reason == Verdict.SANDBOX_ERROR.value:
            break
        prompt = run.templates.render_spec_repair(SOLUTION_FILE, judged.reason or "", judged.message)
        messages = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": prompt}]
        try:
            reply = await _ask(run, messages, -round_number)
        except LLMCallError as failure:
            run.reject(task, f"code_repair_{failure.reason}", str(failure))
            return
        code = extract_zig_code(reply)
        if code is None:
            run.reject(task, REPAIR_NO_CODE, reply)
            return
        judged = await run.judge(task, code)
        if judged.passed:
            run.stats.recovered_in_round[round_number] += 1
            run.keep(task, code)
            run.ledger(task, f"{CODE_REPAIRED_ROUND}{round_number}", first)
            return
    if judged.reason == Verdict.SANDBOX_ERROR.value:
        run.reject(task, ENGINE_ERROR, judged.message)
        return
    if run.repair_rounds:
        run.stats.unrepaired += 1
    rounds = f"unrepaired after {run.repair_rounds} repair rounds; " if run.repair_rounds else ""
    run.reject(task, judged.reason or "", f"{rounds}last answer:\n{judged.message}\n\n{reply}")


async def spec_solution_pairs(
    tasks: Sequence[HiddenTestTask],
    *,
    caller: LLMCaller,
    templates: PromptTemplates,
    checker: CodeChecker,
    repair_rounds: int = CODE_REPAIR_ROUNDS,
    progress: Callable[[int, int], None] | None = None,
) -> SpecLLMResult:
    """Pairs of the tasks the model solves (first try or after repair), in task order; see the module docstring.

    ``caller`` must be made with ``structured_output="off"``: the task asks for a ``zig`` block, not JSON."""
    if caller.settings.structured_output != "off":
        raise ValueError("spec tasks want plain-text replies: make the caller with structured_output='off'")
    started = time.monotonic()
    stats = SpecLLMStats()
    outcomes = [SpecLLMResult([], [], SpecLLMStats(), caller.stats, 0.0) for _ in tasks]
    done = 0

    async def one(task: HiddenTestTask, outcome: SpecLLMResult) -> None:
        nonlocal done
        await _solve(_Run(caller, templates, checker, repair_rounds, stats, outcome), task)
        done += 1
        if progress:
            progress(done, len(tasks))

    await asyncio.gather(*(one(task, outcome) for task, outcome in zip(tasks, outcomes, strict=True)))
    caller.finish()
    return SpecLLMResult(
        rows=[row for outcome in outcomes for row in outcome.rows],
        rejects=[row for outcome in outcomes for row in outcome.rejects],
        stats=stats,
        calls=caller.stats,
        wall_seconds=time.monotonic() - started,
        differs={key: value for outcome in outcomes for key, value in outcome.differs.items()},
    )

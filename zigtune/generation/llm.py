"""LLM generation of instruction/response pairs: many sections in flight, every answer cached, code repaired.

``generate_pairs`` runs one coroutine per section over one event loop; each chat call goes through
``calls.LLMCaller`` (cache, adaptive concurrency, retries, response-format fallback). Per section:

1. the first round asks for 2-3 pairs; sections longer than ``long_section_chars`` get continuation
   rounds (the original's, up to 3 in all), which see the section's text and the round before as it
   ended up: parse-repaired and code-repaired;
2. a reply that does not parse gets one repair request (``repair.txt``);
3. pairs that only echo the prompt, or say nothing, are rejected with their reason (``screening.py``);
4. with a ``checker`` (a Zig engine), each code answer is compiled and run; code that fails goes back to
   the model with the compiler's or the program's words (``code_repair.txt``), up to
   ``code_repair_rounds`` times. A repaired pair replaces the failing one, and each failing version
   also becomes a "fix this code" pair (its real error in the instruction, the working code as the
   answer). Code that is never fixed is kept as it came, for validation to reject with its verdict.

A section that gives no usable pair is a failed section, with its reason: a call that still failed
after its retries (its rejects keep the server's whole error), or ``no_usable_pair`` when every reply
was unreadable or screened out. A section whose later round fails keeps the pairs it gave. Once more
than ``max_failed_share`` of the sections have failed the run is lost anyway, so no new request is
sent, and the sections never sent are counted apart (``not tried``). ``failure_summary`` is the one
line that says how many failed, which, why and what to change; ``partial_summary`` the line of a run
that succeeded without some sections.

Each pair row says how its code was checked when it was made (``checked``, ``behaviour_check``). Each
code answer the repair loop took up leaves one row in the reject ledger: ``code_repaired_round_N``
(the failing answer, replaced by the version fixed in round N) or ``code_unrepaired`` (never fixed;
the answer is kept as it came, for validation to reject). No dagster here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zigtune.generation.calls import (
    STOPPED,
    CallSettings,
    CallStats,
    LLMCaller,
    LLMCallError,
    ResponseFormat,
    build_client,
    describe_failure,
)
from zigtune.generation.code_checks import CodeChecker, CodeFeedback, behaviour_check, code_feedback, stated_output
from zigtune.generation.pairs import BehaviourCheck, pair_row, reject_row
from zigtune.generation.parsing import TRUNCATED_JSON, ParsedReply, Problem, QAPair, parse_reply
from zigtune.generation.prompts import PromptTemplates
from zigtune.generation.screening import Screen, build_screen
from zigtune.validation.code_extraction import check_mode, extract_zig_code
from zigtune.validation.verdicts import Verdict

#: The original only sends sections "with more than 200 characters".
MIN_SECTION_CHARS = 200
#: Sections "longer than 5000 characters" get continuation rounds, "up to 3 iterations" in all.
LONG_SECTION_CHARS = 5000
MAX_ROUNDS = 3
#: Code that fails goes back to the model this many times at most (issue 18).
CODE_REPAIR_ROUNDS = 2
#: A generation where more than this share of the sections failed is a failed run.
MAX_FAILED_SHARE = 0.2

#: The failure of a section whose replies held no usable pair (unreadable, or screened out).
NO_USABLE_PAIR = "no_usable_pair"
#: Reject-ledger reasons of the repair loop (``code_repaired_round_1``, ...): see the module docstring.
CODE_REPAIRED_ROUND = "code_repaired_round_"
CODE_UNREPAIRED = "code_unrepaired"
#: Sections named in a one-line summary; the rest are counted.
NAMED_SECTIONS = 3

Row = dict[str, str | bool | None]
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class GenerationSettings:
    min_section_chars: int = MIN_SECTION_CHARS
    long_section_chars: int = LONG_SECTION_CHARS
    max_rounds: int = MAX_ROUNDS
    code_repair_rounds: int = CODE_REPAIR_ROUNDS
    max_failed_share: float = MAX_FAILED_SHARE


@dataclass(frozen=True)
class SectionInput:
    section_id: str
    breadcrumb: str
    text: str


@dataclass(frozen=True)
class SectionFailure:
    section_id: str
    reason: str
    message: str
    breadcrumb: str = ""


@dataclass
class RepairStats:
    """How the LLM's code fared under the compiler, and how much of the failing code the loop recovered."""

    code_pairs: int = 0
    checked: int = 0
    passed_first_try: int = 0
    failed_first_try: int = 0
    engine_faults: int = 0
    recovered_in_round: Counter[int] = field(default_factory=Counter)
    unrecovered: int = 0
    fix_pairs: int = 0
    behaviour_checks: Counter[str] = field(default_factory=Counter)
    """Final LLM code pairs by how their behaviour is checked: tests, expected_output, none."""

    @property
    def recovered(self) -> int:
        return sum(self.recovered_in_round.values())

    @property
    def recovery_rate(self) -> float:
        return self.recovered / self.failed_first_try if self.failed_first_try else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "code_pairs": self.code_pairs,
            "checked": self.checked,
            "passed_first_try": self.passed_first_try,
            "failed_first_try": self.failed_first_try,
            "recovered": self.recovered,
            "recovered_in_round": {str(k): v for k, v in sorted(self.recovered_in_round.items())},
            "unrecovered": self.unrecovered,
            "recovery_rate": round(self.recovery_rate, 4),
            "fix_pairs": self.fix_pairs,
            "engine_faults": self.engine_faults,
        }


@dataclass
class GenerationResult:
    pairs: list[Row]
    rejects: list[dict[str, str]]
    stats: CallStats
    repair: RepairStats
    sections_seen: int
    sections_skipped: int
    failures: list[SectionFailure]
    sections_stopped: int
    wall_seconds: float
    settings: CallSettings | None = None

    @property
    def sections_sent(self) -> int:
        """Sections given to the LLM path (over the size threshold), the ones never tried included."""
        return self.sections_seen - self.sections_skipped


@dataclass
class _Run:
    """What every section of one run shares."""

    caller: LLMCaller
    templates: PromptTemplates
    settings: GenerationSettings
    screen: Screen
    checker: CodeChecker | None
    repair: RepairStats


@dataclass
class _Section:
    """One section's rows as they come, and how it ended."""

    section: SectionInput
    model: str
    template_hash: str
    pairs: list[Row] = field(default_factory=list)
    rejects: list[dict[str, str]] = field(default_factory=list)
    failure: SectionFailure | None = None
    answered: bool = False
    """Some reply came back for this section (so it was tried, whatever happened next)."""

    def reject(self, reason: str, raw: str) -> None:
        self.rejects.append(
            reject_row(
                section_id=self.section.section_id,
                breadcrumb=self.section.breadcrumb,
                generator="llm",
                model=self.model,
                reason=reason,
                raw=raw,
            )
        )

    def pair(
        self,
        instruction: str,
        response: str,
        expected_output: str | None,
        kind: str | None = None,
        check: BehaviourCheck | None = None,
    ) -> Row:
        """A pair row; ``check`` is how its code passed when it was run here (``None``: not run, or failed)."""
        return pair_row(
            section_id=self.section.section_id,
            breadcrumb=self.section.breadcrumb,
            instruction=instruction,
            response=response,
            generator="llm",
            model=self.model,
            template_hash=self.template_hash,
            kind=kind,  # type: ignore[arg-type]
            expected_output=expected_output,
            checked=check is not None,
            behaviour_check=check,
        )

    def fail(self, reason: str, message: str) -> None:
        self.failure = SectionFailure(self.section.section_id, reason, message, self.section.breadcrumb)

    def close(self) -> None:
        """Decide how the section ended (see the module docstring): a section with pairs has not failed."""
        if self.pairs:
            self.failure = None
            return
        if self.failure is not None and (self.failure.reason != STOPPED or not self.answered):
            return
        reasons = Counter(row["reason"] for row in self.rejects if row["reason"] != STOPPED)
        said = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common()) or "nothing"
        self.fail(NO_USABLE_PAIR, f"no usable pair in the replies ({said})")


def row_check(code: str, mode: str, expected_output: str | None) -> BehaviourCheck:
    """How passing code was checked, in the ``qa_pairs`` vocabulary (``pairs.BEHAVIOUR_CHECKS``)."""
    check = behaviour_check(code, mode, expected_output)
    if check == "tests":
        return "tests"
    if check == "expected_output":
        return "output"
    return "compiles" if mode == "build-obj" else "runs"


def _jsonl(pairs: Sequence[QAPair]) -> str:
    return "\n".join(
        json.dumps({"instruction": p.instruction, "response": p.response}, ensure_ascii=False) for p in pairs
    )


def _conversation(messages: Messages, *turns: tuple[str, str]) -> Messages:
    return [*messages, *({"role": role, "content": content} for role, content in turns)]


async def _reply(
    run: _Run, state: _Section, messages_for: Callable[[ResponseFormat], Messages], priority: int
) -> tuple[ParsedReply, Messages, str]:
    """A parsed reply, with one parse-repair request when it holds no pair; and the messages it answered."""
    answer = await run.caller.chat(messages_for, priority)
    state.answered = True
    used: ResponseFormat = answer.get("format", "text")
    messages = messages_for(used)
    parsed = parse_reply(answer["content"])
    if parsed.pairs:
        return parsed, messages, answer["content"]
    run.caller.stats.parse_repairs += 1
    for problem in parsed.problems:
        state.reject(problem.reason, problem.raw)
    reason = parsed.first_reason or "no pairs"
    content = answer["content"]

    def repair_for(response_format: ResponseFormat) -> Messages:
        return _conversation(
            messages_for(used),
            ("assistant", content),
            ("user", run.templates.render_repair(reason, response_format)),
        )

    repaired = await run.caller.chat(repair_for, priority - 1)
    return parse_reply(repaired["content"]), repair_for(repaired.get("format", "text")), repaired["content"]


async def _settle(
    run: _Run, state: _Section, pair: QAPair, messages: Messages, reply: str, priority: int
) -> tuple[QAPair, list[Row]]:
    """The pair as it ends up (repaired when its code failed and the model fixed it) and its rows."""
    code = extract_zig_code(pair.response)
    expected = stated_output(pair.response)
    if code is None:
        return pair, [state.pair(pair.instruction, pair.response, expected)]
    repair = run.repair
    repair.code_pairs += 1
    mode = check_mode(code)
    check: BehaviourCheck | None = None
    if run.checker is not None:
        feedback = code_feedback(await run.checker(code, mode), mode, expected)
        repair.checked += 1
        if feedback.passed:
            repair.passed_first_try += 1
            check = row_check(code, mode, expected)
        elif feedback.verdict is Verdict.SANDBOX_ERROR:
            repair.engine_faults += 1  # the engine's fault, not the code's: nothing to ask the model
        else:
            repair.failed_first_try += 1
            conversation = _conversation(messages, ("assistant", reply))
            repaired = await _repair(run, state, pair, [(code, feedback)], expected, conversation, priority)
            if repaired is not None:
                return repaired
            repair.unrecovered += 1
            state.reject(CODE_UNREPAIRED, _failing_answer(feedback, pair.response))
    repair.behaviour_checks[behaviour_check(code, mode, expected)] += 1
    return pair, [state.pair(pair.instruction, pair.response, expected, check=check)]


def _failing_answer(feedback: CodeFeedback, response: str) -> str:
    return f"{feedback.verdict.value}: {feedback.message}\n\n{response}"


async def _repair(
    run: _Run,
    state: _Section,
    pair: QAPair,
    failing: list[tuple[str, CodeFeedback]],
    expected: str | None,
    conversation: Messages,
    priority: int,
) -> tuple[QAPair, list[Row]] | None:
    """Show the model its failing code and the error, up to ``code_repair_rounds`` times.

    The repaired pair and one "fix this code" pair per failing version, or ``None`` when never fixed.
    """
    assert run.checker is not None
    for round_number in range(1, run.settings.code_repair_rounds + 1):

        def repair_for(
            response_format: ResponseFormat, feedback: CodeFeedback = failing[-1][1], before: Messages = conversation
        ) -> Messages:
            prompt = run.templates.render_code_repair(
                pair.instruction, feedback.verdict.value, feedback.message, response_format
            )
            return _conversation(before, ("user", prompt))

        try:
            answer = await run.caller.chat(repair_for, priority - round_number)
        except LLMCallError as failure:
            state.reject(f"code_repair_{failure.reason}", str(failure))
            return None
        fixed = _pick(parse_reply(answer["content"]), pair.instruction)
        code = extract_zig_code(fixed.response) if fixed else None
        if fixed is None or code is None:
            state.reject("code_repair_unreadable", answer["content"])
            return None
        stated = stated_output(fixed.response) or expected
        mode = check_mode(code)
        feedback = code_feedback(await run.checker(code, mode), mode, stated)
        if feedback.passed:
            run.repair.recovered_in_round[round_number] += 1
            run.repair.behaviour_checks[behaviour_check(code, mode, stated)] += 1
            check = row_check(code, mode, stated)
            rows = [state.pair(pair.instruction, fixed.response, stated, check=check)]
            fix_output = stated if mode == "run" else None
            for broken, why in failing:
                instruction, response = run.templates.render_fix_pair(
                    broken, why.verdict.value, why.message, code, fix_output
                )
                rows.append(state.pair(instruction, response, fix_output, "code", check=check))
                run.repair.fix_pairs += 1
            state.reject(f"{CODE_REPAIRED_ROUND}{round_number}", _failing_answer(failing[0][1], pair.response))
            return QAPair(instruction=pair.instruction, response=fixed.response), rows
        failing.append((code, feedback))
        conversation = _conversation(repair_for(answer.get("format", "text")), ("assistant", answer["content"]))
    return None


def _pick(parsed: ParsedReply, instruction: str) -> QAPair | None:
    """The repaired pair in a reply: the one with the same instruction, else the first."""
    same = [p for p in parsed.pairs if p.instruction == instruction]
    return (same or parsed.pairs or [None])[0]


async def _generate_section(run: _Run, state: _Section) -> None:
    section, settings, templates = state.section, run.settings, run.templates
    rounds = settings.max_rounds if len(section.text) > settings.long_section_chars else 1
    previous: str | None = None
    for round_number in range(rounds):
        last = previous

        def messages_for(response_format: ResponseFormat, last: str | None = last) -> Messages:
            prompt = (
                templates.render_first_round(section.text, response_format)
                if last is None
                else templates.render_continuation(section.text, last, response_format)
            )
            return [{"role": "system", "content": templates.system}, {"role": "user", "content": prompt}]

        priority = -10 * round_number
        try:
            parsed, messages, reply = await _reply(run, state, messages_for, priority)
        except LLMCallError as failure:
            state.reject(failure.reason, str(failure))
            state.fail(failure.reason, str(failure))
            return
        for problem in parsed.problems:
            state.reject(problem.reason, problem.raw)
        kept: list[QAPair] = []
        for pair in parsed.pairs:
            reason = run.screen.reason(pair.instruction, pair.response)
            if reason is not None:
                state.reject(reason, json.dumps(pair.model_dump(), ensure_ascii=False))
            else:
                kept.append(pair)
        settled = await asyncio.gather(*(_settle(run, state, pair, messages, reply, priority - 1) for pair in kept))
        for _, rows in settled:
            state.pairs.extend(rows)
        if not settled:
            return  # nothing to continue from
        previous = _jsonl([final for final, _ in settled])


async def generate_pairs(
    sections: Sequence[SectionInput],
    *,
    caller: LLMCaller,
    templates: PromptTemplates,
    settings: GenerationSettings | None = None,
    checker: CodeChecker | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Pairs from every section over ``min_section_chars``, in section order whatever order calls end in; the
    calls' costs are counted in ``caller.stats``."""
    settings = settings or GenerationSettings()
    started = time.monotonic()
    run = _Run(caller, templates, settings, build_screen(templates), checker, RepairStats())
    eligible = [s for s in sections if len(s.text.strip()) > settings.min_section_chars]
    states = [_Section(section, caller.settings.model, templates.hash) for section in eligible]
    failed = 0
    done = 0

    async def one(state: _Section) -> None:
        nonlocal failed, done
        await _generate_section(run, state)
        state.close()
        if state.failure is not None and state.failure.reason != STOPPED:
            failed += 1
            if failed > settings.max_failed_share * len(eligible):
                caller.stop()
        done += 1
        if progress:
            progress(done, len(eligible))

    # Long sections first: their rounds are a chain, so they should not be the last to start.
    order = sorted(states, key=lambda s: len(s.section.text) <= settings.long_section_chars)
    await asyncio.gather(*(one(state) for state in order))
    caller.finish()
    return GenerationResult(
        pairs=[row for state in states for row in state.pairs],
        rejects=[row for state in states for row in state.rejects],
        stats=caller.stats,
        repair=run.repair,
        sections_seen=len(sections),
        sections_skipped=len(sections) - len(eligible),
        failures=[s.failure for s in states if s.failure is not None and s.failure.reason != STOPPED],
        sections_stopped=sum(1 for s in states if s.failure is not None and s.failure.reason == STOPPED),
        wall_seconds=time.monotonic() - started,
        settings=caller.settings,
    )


def _named(failures: Sequence[SectionFailure]) -> str:
    names = [failure.breadcrumb or failure.section_id for failure in failures[:NAMED_SECTIONS]]
    more = len(failures) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _hint(reason: str, message: str, settings: CallSettings | None) -> str:
    """What to change, for the failures of ``reason``."""
    if reason == "api_connection_error":
        return "is the server running? check NOVITA_BASE_URL"
    if reason == "api_timeout":
        return ""  # describe_failure names the settings
    if reason == NO_USABLE_PAIR:
        if TRUNCATED_JSON in message and settings is not None:
            return f"replies were cut off: raise NOVITA_MAX_TOKENS (now {settings.max_tokens}); see qa_rejects"
        return (
            "see qa_rejects for the replies; a stronger NOVITA_MODEL, or NOVITA_STRUCTURED_OUTPUT=json_object "
            "or off, may help"
        )
    return ""


def _cause(failures: Sequence[SectionFailure], timeout_s: float, settings: CallSettings | None) -> tuple[str, str]:
    """The main reason in words, with the other reasons counted; and what to change ("" when nothing)."""
    reasons = Counter(failure.reason for failure in failures)
    (main, _), others = reasons.most_common(1)[0], reasons.most_common()[1:]
    message = next(f.message for f in reversed(failures) if f.reason == main)
    cause = message if main == NO_USABLE_PAIR else describe_failure(main, message, timeout_s, settings)
    if others:
        cause += " (also " + ", ".join(f"{count} {reason}" for reason, count in others) + ")"
    return cause, _hint(main, message, settings)


def _timeout_of(result: GenerationResult) -> float:
    return result.stats.concurrency.longest_timeout_s if result.stats.concurrency else 0.0


def failure_summary(result: GenerationResult, base_url: str, max_failed_share: float) -> str | None:
    """One line when more than ``max_failed_share`` of the sections failed: how many, which, why (the main
    cause and the server) and what to change."""
    sent = result.sections_sent
    if not sent or len(result.failures) <= max_failed_share * sent:
        return None
    line = f"{len(result.failures)} of {sent} sections failed"
    if result.sections_stopped:
        line += f" ({result.sections_stopped} not tried: more than {max_failed_share:.0%} had failed)"
    cause, hint = _cause(result.failures, _timeout_of(result), result.settings)
    line += f": {cause} at {base_url} (failed: {_named(result.failures)})"
    return line + (f"; {hint}" if hint else "")


def partial_summary(result: GenerationResult) -> str | None:
    """One line when some sections failed but not enough to fail the run: which, and why."""
    if not result.failures:
        return None
    cause, hint = _cause(result.failures, _timeout_of(result), result.settings)
    failed = len(result.failures)
    line = f"partial: {failed} of {result.sections_sent} sections gave no pair ({_named(result.failures)}): {cause}"
    return line + (f"; {hint}" if hint else "")


__all__ = [
    "CallSettings",
    "CallStats",
    "GenerationResult",
    "GenerationSettings",
    "LLMCallError",
    "LLMCaller",
    "Problem",
    "SectionInput",
    "build_client",
    "failure_summary",
    "generate_pairs",
    "partial_summary",
]

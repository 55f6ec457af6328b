"""Running Zig for the offline generator: the reference's runnable programs, and reading what a run says.

Every offline task family proves its pairs by running Zig 0.14 through one kind of function, a
:data:`Checker`: a list of ``(code, mode, options)`` jobs in, one :class:`ExecResult` per job out.
The pipeline's checker is :func:`engine_checker`, ``check_codes`` on the ``zig`` resource's engine
with the verdict cache the validation stage reads too. Jobs are built the way validation builds
them (the mode is ``check_mode(code)``; code derived from a reference example is built with that
example's options, its file name included), so validating a pair whose code was run here compiles
nothing, and sees what was seen here.

The reading helpers turn a run into the words of a pair: what a program printed
(:func:`printed_output`), the compiler's message without machine paths (:func:`compiler_message`),
and the test runner's report (:func:`read_test_report`). No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from zigtune.docs.sections import examples_frame, program_output
from zigtune.generation.pairs import DOCS_MODEL, Row, docs_pair
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats, Engine, check_codes
from zigtune.validation.code_extraction import check_mode
from zigtune.validation.sandbox import BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict, disagreement

Job = tuple[str, str, BuildOptions]
#: Runs each distinct ``(code, mode, options)`` job once and answers every one of them.
Checker = Callable[[Sequence[Job]], Awaitable[Mapping[Job, ExecResult]]]

RUNNABLE_KINDS = ("exe", "test", "obj")
#: What validation builds code with when it comes from no reference example.
DEFAULT_OPTIONS = BuildOptions()


def job(code: str, options: BuildOptions = DEFAULT_OPTIONS) -> Job:
    """How validation checks ``code``: its ``check_mode``, under ``options``."""
    return (code, check_mode(code), options)


def engine_checker(
    engine: Engine, cache: ContentCache | None, stats: CheckStats, log: Callable[[str], None] | None = None
) -> Checker:
    """The pipeline's checker: ``check_codes`` on ``engine``, verdicts shared through ``cache``; ``log`` gets
    each call's progress lines (about every 10 %, with rate and ETA)."""

    async def check(jobs: Sequence[Job]) -> Mapping[Job, ExecResult]:
        return await check_codes(engine, list(jobs), cache, stats, log=log) if jobs else {}

    return check


@dataclass(frozen=True)
class Program:
    """An annotated example of the reference that this machine can build with default options."""

    name: str
    kind: str
    expect: str
    error_text: str | None
    code: str
    section_id: str
    breadcrumb: str
    title: str
    section_text: str
    published_output: str | None
    options: BuildOptions = DEFAULT_OPTIONS

    def job(self, code: str | None = None) -> Job:
        """The check of the example's code (or of code derived from it), under the example's options."""
        return job(self.code if code is None else code, self.options)

    def pair(self, **columns: Any) -> Row:
        """A checked pair about this program (its section, its name) from the offline generator."""
        return docs_pair(
            section_id=self.section_id, breadcrumb=self.breadcrumb, example_name=self.name, checked=True, **columns
        )

    def example(self) -> dict[str, str | None]:
        """The fields of the ``examples_frame`` row it came from, as the docs generator reads them."""
        return {
            "name": self.name,
            "kind": self.kind,
            "expect": self.expect,
            "error_text": self.error_text,
            "code": self.code,
            "section_id": self.section_id,
            "breadcrumb": self.breadcrumb,
            "title": self.title,
            "text": self.section_text,
        }


@dataclass(frozen=True)
class CheckedProgram:
    """A program and what running it said; ``reproduced`` when that agrees with the reference's annotation."""

    program: Program
    result: ExecResult

    @property
    def reproduced(self) -> bool:
        return disagreement(self.program.expect, self.program.error_text, self.result) is None

    @property
    def passes(self) -> bool:
        return self.program.expect == "pass" and self.result.verdict is Verdict.OK


@dataclass
class FamilyResult:
    """A family's pairs, what it dropped (reason -> count), and the checked candidates it dropped.

    ``kept_by`` counts the pairs by what made them (a migration rule, a mutation, a task form).
    """

    family: str
    rows: list[Row] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    kept_by: Counter[str] = field(default_factory=Counter)
    rejects: list[dict[str, str]] = field(default_factory=list)

    def reject(self, program: Program, reason: str, raw: str) -> None:
        """Count a candidate that was run and failed its family's rule, and keep it for ``qa_rejects``."""
        self.reject_in(program.section_id, program.breadcrumb, reason, raw)

    def reject_in(self, section_id: str, breadcrumb: str, reason: str, raw: str) -> None:
        self.dropped[reason] += 1
        self.rejects.append(
            {
                "section_id": section_id,
                "breadcrumb": breadcrumb,
                "generator": "docs",
                "model": DOCS_MODEL,
                "reason": f"{self.family}: {reason}",
                "raw": raw,
            }
        )


def reference_programs(sections: pl.DataFrame) -> tuple[list[Program], Counter[str]]:
    """The annotated examples this machine can build as they are, and why the others were left out."""
    programs: list[Program] = []
    skipped: Counter[str] = Counter()
    for example in examples_frame(sections).iter_rows(named=True):
        if example["kind"] not in RUNNABLE_KINDS:
            skipped[f"kind_{example['kind']}"] += 1
            continue
        options = replace(BuildOptions.from_annotation(example["options"] or ""), file_name=example["name"])
        if not options.runs_here:
            skipped["other_target"] += 1  # built for a machine this one is not: it could only be compiled
            continue
        programs.append(
            Program(
                name=example["name"],
                kind=example["kind"],
                expect=example["expect"],
                error_text=example["error_text"],
                code=example["code"],
                section_id=example["section_id"],
                breadcrumb=example["breadcrumb"],
                title=example["title"],
                section_text=example["text"],
                published_output=program_output(example["output"]) if example["kind"] == "exe" else None,
                options=options,
            )
        )
    return programs, skipped


async def checked_programs(sections: pl.DataFrame, check: Checker) -> tuple[list[CheckedProgram], Counter[str]]:
    """Every buildable example of ``sections``, run once."""
    programs, skipped = reference_programs(sections)
    results = await check([program.job() for program in programs])
    return [CheckedProgram(program, results[program.job()]) for program in programs], skipped


# -- reading a run ------------------------------------------------------------------------------------------------

_STD_PATH = re.compile(r"(?:[^\s:]*/)?lib/(std|compiler)/")
_RUN_DIR = re.compile(r"(?:[^\s:]*/)?(?:runs/check-[^/\s]+|tmp/[^/\s]+)/")
_ERROR_LINE = re.compile(r"^(?P<where>[^\n]*?\.zig:\d+:\d+): error: (?P<message>.+)$", re.MULTILINE)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{5,}|@[0-9a-f]{6,}\b")


def clean_paths(text: str) -> str:
    """Compiler or runtime text without this machine's paths: ``std/...`` for the standard library."""
    return _RUN_DIR.sub("", _STD_PATH.sub(r"\1/", text))


def compiler_message(stderr: str, pattern: str | None = None) -> str | None:
    """The first ``error:`` diagnostic (or the first matching ``pattern``), with the source line and
    caret the compiler prints under it; ``None`` when there is none."""
    lines = clean_paths(stderr).splitlines()
    wanted = re.compile(pattern) if pattern else None
    for index, line in enumerate(lines):
        found = _ERROR_LINE.match(line)
        if not found or (wanted is not None and not wanted.search(found["message"])):
            continue
        quoted = [line]
        following = lines[index + 1 : index + 3]
        if len(following) == 2 and following[1].strip() and set(following[1].strip()) <= set("^~"):
            quoted += following
        return "\n".join(quoted)
    return None


@dataclass(frozen=True)
class Printed:
    """What a program printed, and on which stream."""

    text: str
    stream: str  # "stdout" or "stderr"


def printed_output(result: ExecResult) -> Printed | None:
    """The output of a clean run when it went to one stream, is not empty and shows no addresses.

    Output on both streams is left out: their interleaving is not recorded, so no text can claim it.
    Hex addresses change from run to run, so a pair cannot claim them either.
    """
    if result.verdict is not Verdict.OK or (result.stdout and result.stderr):
        return None
    text, stream = (result.stdout, "stdout") if result.stdout else (result.stderr, "stderr")
    if not text.strip() or _ADDRESS.search(text):
        return None
    return Printed(text if text.endswith("\n") else text + "\n", stream)


@dataclass(frozen=True)
class RunnerOutcome:
    """One test of a ``zig test`` run: its name as written, and how it ended."""

    name: str
    status: str  # "ok", "fail", "skip" or "panic"
    error: str | None = None  # the error a failing test returned
    message: str | None = None  # what the failing expectation printed, or the panic message


@dataclass(frozen=True)
class RunnerReport:
    outcomes: tuple[RunnerOutcome, ...]

    @property
    def all_passed(self) -> bool:
        return all(outcome.status == "ok" for outcome in self.outcomes)


_TEST_START = re.compile(r"^(?P<index>\d+)/(?P<total>\d+) (?P<name>.*?)\.\.\.", re.MULTILINE)
_FAIL = re.compile(r"^FAIL \((?P<error>\w+)\)$", re.MULTILINE)
_PANIC = re.compile(r"panic: (?P<message>.+)$", re.MULTILINE)
_SUMMARY = re.compile(r"^(?:All \d+ tests? passed\.|\d+ passed; \d+ skipped; \d+ failed\.)\s*$", re.MULTILINE)


def runner_test_name(runner_name: str) -> str:
    """The name as written: ``main.test.integer widening`` -> ``integer widening``, ``main.decltest.f`` -> ``f``."""
    for marker in (".test.", ".decltest."):
        if marker in runner_name:
            return runner_name.split(marker, 1)[1]
    return runner_name.rsplit(".", 1)[-1]


def read_test_report(stderr: str) -> RunnerReport | None:
    """The default test runner's report, read from its output; ``None`` when it is not a plain report.

    Not plain: a test printed something of its own (the report then mixes with it), the runner
    found a leak or logged errors, or the output does not have the runner's shape.
    """
    starts = list(_TEST_START.finditer(stderr))
    if not starts:
        return None
    outcomes: list[RunnerOutcome] = []
    for position, start in enumerate(starts):
        end = starts[position + 1].start() if position + 1 < len(starts) else len(stderr)
        body = stderr[start.end() : end]
        name = runner_test_name(start["name"])
        first_line = body.split("\n", 1)[0]
        if first_line in ("OK", "SKIP"):
            rest = body[len(first_line) :].strip()
            if rest and not _SUMMARY.fullmatch(rest):
                return None  # printed text or a leak report after the test
            outcomes.append(RunnerOutcome(name, first_line.lower()))
        elif failed := _FAIL.search(body):
            said = body[: failed.start()].strip()
            detail = said if said and "\n" not in said and len(said) < 200 else None
            outcomes.append(RunnerOutcome(name, "fail", failed["error"], detail))
        elif (panicked := _PANIC.search(first_line)) and first_line.startswith("thread "):
            outcomes.append(RunnerOutcome(name, "panic", message=panicked["message"].strip()))
            break  # a panic aborts the whole run
        else:
            return None
    if "leaked" in stderr or "errors were logged" in stderr:
        return None
    return RunnerReport(tuple(outcomes))

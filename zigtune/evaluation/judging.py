"""Does a solution do the task? Its files and the task's hidden files compiled together, the hidden check run.

- The solution comes from a reply the way the pipeline reads every reply (``extract_zig_code``); a reply with
  no fenced block at all is the solution file itself.
- ``test`` check: ``zig test <check file>``, the check file and the hidden files in one directory, the solution
  (saved as ``solution_file``), the visible files and the data files in another, each ``.zig`` one a module of
  its own (``BuildOptions.solution_files``): the solution cannot ``@import`` or ``@embedFile`` a hidden file
  (outside its module, a compile error), and every public declaration of it is analysed. The local engine runs
  the tests under zigtune's signed test runner and says ``ok`` only when the summary signed with a nonce the
  solution never sees reports every test passed; a solution that prints ``All N tests passed.`` and exits,
  skips tests (``error.SkipZigTest``) or exits early (``std.process.exit(0)``) fails. The test runner's last
  line must also be ``All N tests passed.`` with N at least the hidden file's test count (all Codapi can tell).
- ``run`` check: the solution is the root, run as a program with the visible and data files in its working
  directory (the hidden files are not there); it passes when the chosen stream equals the expected output once
  trailing whitespace is trimmed from both (``compare: lines``: from each line too).

So an empty ``test {}``, a program that only prints text, or code that ignores the stub's API fails: the
hidden test file does not compile against it, or its tests fail. What the judge cannot stop is native code
that reads the test runner's memory, or (``link_libc`` only) replaces a libc function the runner calls
(see README, "What the headline number means"). No dagster here.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from zigtune.evaluation.progress import Progress
from zigtune.evaluation.suite import SuiteTask
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckJob, CheckStats, Engine, check_codes
from zigtune.validation.code_extraction import FENCED_BLOCK, TEST_DECLARATION, extract_zig_code
from zigtune.validation.declarations import DeclarationLister
from zigtune.validation.sandbox import BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict

#: Verdicts of code the compiler did not accept (or that never reached it).
NOT_COMPILED = {Verdict.COMPILE_ERROR, Verdict.NO_CODE, Verdict.SANDBOX_ERROR, Verdict.UNCHECKED}
COMPILE_TIMEOUT_MARK = "[compile timed out]"
#: The default test runner's last line when every test passed (``lib/compiler/test_runner.zig``).
ALL_PASSED = re.compile(r"^All (\d+) tests passed\.$")


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    compiled: bool
    passed: bool


def solution_from_completion(text: str | None) -> str | None:
    """The solution file in a reply: its Zig block (as the pipeline extracts it), or the whole reply when it
    has no fenced block at all; ``None`` when there is nothing."""
    if text is None or not text.strip():
        return None
    if FENCED_BLOCK.search(text):
        return extract_zig_code(text)
    return text if text.endswith("\n") else text + "\n"


def check_job(task: SuiteTask, solution: str) -> CheckJob:
    """What the engine runs: the root file, the mode, and the other files of the task.

    ``test``: the check file is the root, beside the hidden files; the solution, the visible files and the data
    files are the ``solution_files``, compiled apart. ``run``: the solution is the root, beside the visible and
    data files only."""
    seen = {**task.files, **task.data_files, task.solution_file: solution}
    if task.check.kind == "test":
        root = task.check.file
        assert root is not None
        files = {**seen, **task.hidden_files}
        own = tuple(sorted(name for name in seen if name != root))
    else:
        root, files, own = task.solution_file, seen, ()
    others = tuple(sorted((name, content) for name, content in files.items() if name != root))
    options = BuildOptions(file_name=root, extra_files=others, solution_files=own, link_libc=task.link_libc)
    return files[root], ("test" if task.check.kind == "test" else "run"), options


def hidden_test_count(task: SuiteTask) -> int:
    if task.check.kind != "test" or task.check.file is None:
        return 0
    content = task.hidden_files.get(task.check.file) or task.files.get(task.check.file, "")
    return len(TEST_DECLARATION.findall(content))


def _all_tests_passed(stderr: str, at_least: int) -> bool:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = ALL_PASSED.match(lines[-1]) if lines else None
    return found is not None and int(found.group(1)) >= max(at_least, 1)


def output_equal(expected: str, actual: str, compare: str = "output") -> bool:
    """The run check's rule: equal once trailing whitespace is trimmed from both; with ``compare="lines"``, once
    it is trimmed from each line of both too."""
    if compare == "lines":
        expected, actual = (_lines_trimmed(text) for text in (expected, actual))
    return expected.rstrip() == actual.rstrip()


def _lines_trimmed(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def judge(task: SuiteTask, solution: str | None, result: ExecResult | None) -> Judgement:
    """A solution's verdict, whether it compiled, and whether it passed the hidden check."""
    if solution is None or result is None:
        return Judgement(Verdict.NO_CODE, False, False)
    verdict = result.verdict
    compiled = verdict not in NOT_COMPILED and not (
        verdict is Verdict.TIMEOUT and COMPILE_TIMEOUT_MARK in result.stderr
    )
    if verdict is not Verdict.OK:
        return Judgement(verdict, compiled, False)
    if task.check.kind == "test":
        if not _all_tests_passed(result.stderr, hidden_test_count(task)):
            return Judgement(Verdict.TEST_FAILURE, True, False)
        return Judgement(Verdict.OK, True, True)
    stream = result.stdout if task.check.stream == "stdout" else result.stderr
    if not output_equal(task.check.expected_output or "", stream, task.check.compare):
        return Judgement(Verdict.WRONG_OUTPUT, True, False)
    return Judgement(Verdict.OK, True, True)


async def run_checks(
    jobs: list[CheckJob],
    engine: Engine,
    cache: ContentCache | None,
    stats: CheckStats,
    log: Callable[[str], object] | None = None,
    label: str = "judging",
) -> dict[CheckJob, ExecResult]:
    """Every distinct job checked once (through the verdict cache), with a progress line about every 10%.

    A task's files are always checked the plain way (one compile each: files beside the root never share a
    batch), so they are asked for as plain checks: every one of the engine's slots is kept busy (the fast
    strategy gives plain checks half of them). The jobs go in ten parts, all at once, for the progress lines:
    the engine bounds how many run together, and none waits for a slower part to finish."""
    distinct = list(dict.fromkeys(jobs))
    progress = Progress(label, len(distinct), log, unit="checks")
    results: dict[CheckJob, ExecResult] = {}
    size = max(1, math.ceil(len(distinct) / 10))
    lister = DeclarationLister()  # one for all parts: it is built once, behind its lock

    async def part(chunk: list[CheckJob]) -> None:
        results.update(await check_codes(engine, chunk, cache, stats, lister, strategy="plain"))
        progress.advance(len(chunk))

    await asyncio.gather(*(part(distinct[start : start + size]) for start in range(0, len(distinct), size)))
    return results

"""What an LLM code answer claims and how it fared: its behaviour check, its verdict, the error to show back.

- ``stated_output``: the ``Expected output:`` block the prompts ask a ``main`` program to state; it
  becomes the pair's ``expected_output``, which validation compares with what the program prints.
- ``behaviour_check``: ``tests`` (test blocks that call an ``expect``), ``expected_output`` (a ``main``
  with its output stated, where that output is not simply string literals of the code), or ``none``:
  code that only has to compile. An empty ``test {}`` or a program that prints the text it claims is
  no check of anything, so both count as ``none``.
- ``code_feedback``: the verdict of one check as validation will give it (wrong output included), and the
  message sent to the model: the compiler's or the program's words, cut to a size a prompt holds. (The
  evaluation's ``judge`` is another question: does a solution pass a task's hidden check.)
- ``EngineChecker``: checks through ``validation.checking.check_codes`` and the verdict cache, so
  validation later finds every final verdict already computed. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats, Engine, check_codes
from zigtune.validation.verdicts import ExecResult, Verdict, output_matches

_STATED_OUTPUT = re.compile(
    r"expected output\**\s*:?\**\s*\n+\s*(?P<fence>`{3,}|~{3,})[^\n]*\n(?P<body>.*?)\n?\s*(?P=fence)",
    re.IGNORECASE | re.DOTALL,
)
_EXPECT_CALL = re.compile(r"\bexpect\w*\s*\(")
_TEST_BLOCK = re.compile(r'^\s*test\s*(?:"[^"\n]*"|[A-Za-z_]\w*)?\s*\{', re.MULTILINE)
_STRING_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
#: Absolute paths to Zig files: the standard library's install place, or the checker's scratch directory.
_ZIG_PATH = re.compile(r"/[^\s:'\"]*/(?P<name>[\w.-]+\.zig)\b")
#: Feedback shown to the model: the start of the error (where the first problem is) is what matters.
MAX_FEEDBACK_CHARS = 1500

BehaviourCheck = str  # "tests" | "expected_output" | "none"
CodeChecker = Callable[[str, str], Awaitable[ExecResult]]


def stated_output(response: str) -> str | None:
    """The text of the ``Expected output:`` block after the code, or ``None``."""
    match = _STATED_OUTPUT.search(response)
    if match is None:
        return None
    body = match.group("body")
    return body if body.strip() else None


def _literal_text(code: str) -> str:
    return "\n".join(
        match.group(1).encode("utf-8").decode("unicode_escape", errors="ignore")
        for match in _STRING_LITERAL.finditer(code)
    )


def behaviour_check(code: str, mode: str, expected_output: str | None) -> BehaviourCheck:
    """How the code's behaviour is checked when it runs (see the module docstring)."""
    if mode == "test":
        return "tests" if _EXPECT_CALL.search(code) and _TEST_BLOCK.search(code) else "none"
    if mode == "run" and expected_output and expected_output.strip():
        literals = _literal_text(code)
        lines = [line.strip() for line in expected_output.strip().splitlines() if line.strip()]
        if all(line in literals for line in lines):
            return "none"  # the program prints what it claims verbatim: nothing is computed
        return "expected_output"
    return "none"


class CodeFeedback(NamedTuple):
    """One check as the repair loop sees it: the verdict, and the message to show the model ("" when it passed)."""

    verdict: Verdict
    message: str

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.OK


def _short_path(match: re.Match[str]) -> str:
    path = match.group(0)
    return "lib/std/" + path.split("/lib/std/", 1)[1] if "/lib/std/" in path else match.group("name")


def _cut(text: str) -> str:
    text = _ZIG_PATH.sub(_short_path, text.strip())
    return text if len(text) <= MAX_FEEDBACK_CHARS else text[:MAX_FEEDBACK_CHARS] + "\n[... cut]"


def code_feedback(result: ExecResult, mode: str, expected_output: str | None) -> CodeFeedback:
    """The verdict validation will give this result, and what to tell the model about it."""
    ran = result.verdict is Verdict.OK and mode == "run"
    if ran and expected_output is not None and not output_matches(expected_output, result.stdout, result.stderr):
        printed = (result.stdout + result.stderr).strip()
        return CodeFeedback(
            Verdict.WRONG_OUTPUT,
            _cut(f"The program printed:\n{printed}\n\nbut the expected output stated is:\n{expected_output.strip()}"),
        )
    if result.verdict is Verdict.OK:
        return CodeFeedback(Verdict.OK, "")
    return CodeFeedback(result.verdict, _cut(result.stderr or result.stdout or result.verdict.value))


class EngineChecker:
    """A ``CodeChecker`` over a Zig engine made on first use (a run whose LLM wrote no code needs none),
    checking through ``check_codes`` and the one verdict cache."""

    def __init__(self, create_engine: Callable[[], Engine], cache: ContentCache | None) -> None:
        self.create_engine = create_engine
        self.cache = cache
        self.stats = CheckStats()
        self.engine: Engine | None = None

    async def __call__(self, code: str, mode: str) -> ExecResult:
        if self.engine is None:
            self.engine = self.create_engine()
        results = await check_codes(self.engine, [(code, mode)], self.cache, self.stats)
        return results[code, mode]

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()

"""What happened when a piece of Zig code was checked: the verdict, and how to read it from output.

Both engines (the local sandbox and Codapi) answer with one :class:`ExecResult`. The local engine
knows which phase failed (compile or run) and how the process ended, so it classifies from facts;
Codapi returns only ``ok`` and the merged output, so its answers are classified from the text the
Zig compiler and runtime print. No dagster here.
"""

from __future__ import annotations

import re
import signal
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """How a check ended. Only ``ok`` passes; ``no_code`` and ``unchecked`` were never compiled."""

    OK = "ok"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    TEST_FAILURE = "test_failure"
    TIMEOUT = "timeout"
    KILLED = "killed"  # a resource limit (memory, file size, processes) stopped the program
    OUTPUT_TRUNCATED = "output_truncated"
    SANDBOX_ERROR = "sandbox_error"  # the engine failed, not the code: never cached
    WRONG_OUTPUT = "wrong_output"
    UNKNOWN_API = "unknown_api"  # the text names a Zig API (`std.mem.copy`, `@intToEnum`) that Zig 0.14.0 lacks
    NO_CODE = "no_code"  # a model's completion without code (evaluation)
    UNCHECKED = "unchecked"  # nothing could be checked: no code and no API name, or left out of a sample


@dataclass(frozen=True)
class ExecResult:
    """The one result shape of both engines."""

    verdict: Verdict
    duration_ms: float
    stdout: str
    stderr: str
    zig_version: str
    engine: str
    exit_code: int | None = None  # of the phase that decided the verdict; None when no process told
    compile_ms: float = 0.0
    run_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecResult:
        fields = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**{**fields, "verdict": Verdict(data["verdict"])})


#: ``main.zig:3:5: error: use of undeclared identifier 'x'`` — the compiler's diagnostic line.
COMPILE_DIAGNOSTIC = re.compile(r"^[^\n:]*\.zig:\d+:\d+: error: ", re.MULTILINE)
#: The compiler's own errors without a source location (a missing file, a bad flag, ``error: ... failed``).
COMPILER_ERROR = re.compile(r"^error: (the following command failed|.*(?:failed|unable to)\b)", re.MULTILINE)
#: The default test runner's summary when some test returned an error or leaked memory.
TESTS_FAILED = re.compile(r"\d+ passed; \d+ skipped; \d+ failed|\d+ tests? leaked memory|\d+ errors were logged")
#: What a Zig program prints when an allocation fails because of our address-space limit.
OUT_OF_MEMORY = re.compile(r"^error: OutOfMemory$", re.MULTILINE)


def classify_compile(exit_code: int, stderr: str) -> Verdict | None:
    """``None`` when the compiler succeeded; else why not (a diagnostic, a limit, or the engine)."""
    if exit_code == 0:
        return None
    if COMPILE_DIAGNOSTIC.search(stderr) or stderr.lstrip().startswith("error:"):
        return Verdict.COMPILE_ERROR
    if exit_code == -signal.SIGXCPU:  # the compile's CPU limit (an endless comptime loop)
        return Verdict.TIMEOUT
    if exit_code < 0:  # the compiler itself was killed by a signal
        return Verdict.KILLED
    return Verdict.SANDBOX_ERROR


def classify_run(mode: str, exit_code: int, stderr: str) -> Verdict:
    """Verdict of a compiled program or test binary from how it ended.

    ``exit_code`` is negative for a signal, as ``asyncio`` subprocesses report it.
    """
    if exit_code == 0:
        return Verdict.OK
    if exit_code < 0:
        received = -exit_code
        if received == signal.SIGXCPU:
            return Verdict.TIMEOUT
        if received in (signal.SIGXFSZ, signal.SIGKILL):
            return Verdict.KILLED
        return Verdict.RUNTIME_ERROR  # a panic aborts (SIGABRT); a segfault is the program's too
    if OUT_OF_MEMORY.search(stderr):
        return Verdict.KILLED
    if mode == "test" and TESTS_FAILED.search(stderr):
        return Verdict.TEST_FAILURE
    return Verdict.RUNTIME_ERROR


#: What Codapi puts in ``stderr`` when its step ran past the sandbox's timeout.
CODAPI_TIMEOUT = "code execution timeout"


def classify_codapi(mode: str, ok: bool, stderr: str) -> Verdict:
    """Verdict of a Codapi answer, which carries only ``ok`` and the (merged) output."""
    if ok:
        return Verdict.OK
    if CODAPI_TIMEOUT in stderr:
        return Verdict.TIMEOUT
    if COMPILE_DIAGNOSTIC.search(stderr):
        return Verdict.COMPILE_ERROR
    if OUT_OF_MEMORY.search(stderr) or "signal: killed" in stderr:
        return Verdict.KILLED
    if mode == "test" and TESTS_FAILED.search(stderr) and "panic: " not in stderr:
        return Verdict.TEST_FAILURE
    return Verdict.RUNTIME_ERROR


def _normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def output_matches(expected: str, stdout: str, stderr: str) -> bool:
    """Does the program print ``expected``, ignoring trailing whitespace?

    Zig examples print with ``std.debug.print`` (stderr) as often as to stdout, and published
    transcripts show both: what was printed on either stream, or both together, counts.
    """
    want = _normalize(expected)
    return want in {_normalize(stdout), _normalize(stderr), _normalize(stdout + stderr), _normalize(stderr + stdout)}


#: How the reference's annotations map to verdicts.
ANNOTATION_VERDICTS = {
    "pass": Verdict.OK,
    "compile_error": Verdict.COMPILE_ERROR,
    "runtime_failure": Verdict.RUNTIME_ERROR,
    "runtime_panic": Verdict.RUNTIME_ERROR,
    "test_failure": Verdict.TEST_FAILURE,
}


def disagreement(expect: str, error_text: str | None, result: ExecResult) -> str | None:
    """``None`` when ``result`` agrees with a reference annotation; else a one-line reason."""
    wanted = ANNOTATION_VERDICTS.get(expect)
    if wanted is None:
        return f"unknown annotation expect={expect!r}"
    if result.verdict is not wanted:
        first_line = next((line for line in result.stderr.splitlines() if line.strip()), "")
        return f"expected {wanted.value}, got {result.verdict.value}: {first_line[:160]}"
    if error_text and error_text not in result.stderr:
        return f"{wanted.value} as expected, but stderr lacks {error_text!r}"
    return None

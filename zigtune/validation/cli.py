"""``python -m zigtune.validation check FILE.zig [FILE.zig ...]``: check snippets the way validation does.

Prints one JSON line per file, in the order given: ``file``, ``verdict``, ``mode``, ``exit_code``,
``stdout`` and ``stderr`` (cut to 4,000 characters), ``compile_ms``, ``run_ms``, ``duration_ms``,
``zig_version``, ``engine``; a file that cannot be read gets ``verdict: "unreadable"`` and ``error``.
Exits 0 whatever the verdicts; 2 when the engine cannot start (with one line on stderr saying why).

All files go to the engine in one call of ``check_codes`` (every declaration analysed, as in
validation), so they share its concurrency and whatever batching it does. The engine is the ``zig``
resource's default: the local sandbox, or Codapi with ``ZIGTUNE_ZIG_ENGINE=codapi``. No dagster here
beyond building that resource.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from zigtune.validation.checking import CheckStats, Engine, cap_output, check_codes
from zigtune.validation.code_extraction import check_mode
from zigtune.validation.sandbox import BuildOptions, SandboxError
from zigtune.validation.verdicts import ExecResult, Verdict, output_matches

CHECK_MODES = ("auto", "run", "test", "build-obj")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zigtune.validation", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="compile (and run) Zig files in the sandbox; one JSON line per file")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE.zig")
    check.add_argument("--mode", choices=CHECK_MODES, default="auto", help="auto: test blocks -> test, main -> run")
    check.add_argument("--expect-output", default=None, metavar="TEXT", help="what a run must print")
    return parser


def report_line(file: str, mode: str, result: ExecResult, expected: str | None) -> dict[str, Any]:
    """The JSON object printed for one checked file."""
    verdict = result.verdict
    ran = verdict is Verdict.OK and mode == "run"
    if ran and expected is not None and not output_matches(expected, result.stdout, result.stderr):
        verdict = Verdict.WRONG_OUTPUT
    return {
        "file": file,
        "verdict": verdict.value,
        "mode": mode,
        "exit_code": result.exit_code,
        "stdout": cap_output(result.stdout),
        "stderr": cap_output(result.stderr),
        "compile_ms": result.compile_ms,
        "run_ms": result.run_ms,
        "duration_ms": result.duration_ms,
        "zig_version": result.zig_version,
        "engine": result.engine,
    }


async def check_files(engine: Engine, files: list[Path], mode: str, expected: str | None) -> list[dict[str, Any]]:
    """One report per file, in order; every readable file checked in one ``check_codes`` call."""
    lines: list[dict[str, Any] | None] = []
    jobs: list[tuple[int, str, str, str, BuildOptions]] = []
    for index, path in enumerate(files):
        try:
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            lines.append({"file": str(path), "verdict": "unreadable", "error": f"{type(error).__name__}: {error}"})
            continue
        lines.append(None)
        # The file's own name, so the compiler's diagnostics name it (main.zig when it is not a plain name).
        options = BuildOptions(file_name=path.name)
        jobs.append((index, str(path), code, check_mode(code) if mode == "auto" else mode, options))
    try:
        checks = [(code, chosen, options) for _, _, code, chosen, options in jobs]
        results = await check_codes(engine, checks, None, CheckStats())
    finally:
        await engine.close()
    for (index, name, _, chosen, _), check in zip(jobs, checks, strict=True):
        lines[index] = report_line(name, chosen, results[check], expected)
    return [line for line in lines if line is not None]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from zigtune.resources.codapi import CodapiError
    from zigtune.resources.zig import zig_from_env

    try:
        engine = zig_from_env().create_engine()
        reports = asyncio.run(check_files(engine, args.files, args.mode, args.expect_output))
    except (SandboxError, CodapiError, TimeoutError) as error:
        print(f"zigtune: the Zig engine cannot check anything: {error}", file=sys.stderr)
        return 2
    for report in reports:
        print(json.dumps(report, ensure_ascii=False))
    return 0

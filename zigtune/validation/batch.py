"""Checking many snippets at once: a plain LLVM check's verdict for each, at a fraction of the CPU.

A plain check (:meth:`LocalZigEngine.execute`) compiles each snippet alone with the LLVM backend:
~2.7 s of CPU on this machine, nearly all of it spent compiling the same parts of the standard library
(the test runner, formatting, stack traces) once more. The fast strategy (``check_jobs(...,
strategy="fast")``) gives each snippet the verdict the plain check gives, with far fewer compiles:

Both phases run in the local engine's jails (:mod:`zigtune.validation.jail`, no root): a batch's compile in
the compile jail of one per-check directory (the snippets' files under ``/work``, the shared cache, a plain
compile's limits and target), each snippet's run in a fresh run jail with copies of the binary and the
snippet's source only.

1. **Batches.** Snippets of one mode share a compile (up to ``MAX_BATCH``; the layout is in
   :mod:`zigtune.validation.batch_layout`). Snippets that could behave differently in a batch (build
   options or files beside the root, C, ``extern``/``export``, other imports, root declarations such as
   ``std_options``) and every mode but test/run/build-obj are checked the plain way.
2. **Compile errors from semantic analysis only.** The batch is first analysed with the plain check's
   flags and ``-fno-emit-bin``: errors come from AstGen and Sema, which are the same whatever the
   backend. Each error belongs to the snippet whose file (or root line) its locations name; that
   snippet's verdict is ``compile_error`` with its own errors, worded as a plain check words them. The
   others are analysed again (an error in one file can stop the analysis of the rest). An error that
   names no snippet (raised inside ``std``, such as a format string without its arguments) is found by
   trying the snippet its message quotes, else by halving the batch.
3. **The self-hosted x86_64 backend** (``-fno-llvm -fno-lld``, ~3x less CPU than LLVM) builds what
   analysed clean. Whatever it fails to build (an instruction it does not support, a crash, a
   linker error) is checked the plain way, with LLVM, so it cannot change a verdict.
4. **One process per snippet.** Each snippet runs from the shared binary in its own sandboxed process
   under the plain run's limits (tests with ``--zigtune-only``, programs with ``--zigtune-main``, both
   hidden from the snippet), so a panic, a timeout, a leak or a crash is that snippet's alone, and its
   output is its own. A run that may have ended the way it did because of the backend (a timeout, a
   resource limit, a signal other than a panic's abort: the self-hosted code is slower and its stack
   frames larger) is checked again the plain way.

5. **Output as a plain check words it.** What is stored (the verdict cache, the tables, a repair prompt) must not
   depend on the strategy: a run's output has the batch's names mapped back, its frames the plain binary's
   compile unit and source lines, and no "Unwind error" line of the self-hosted unwinder
   (:func:`~zigtune.validation.batch_layout.plain_run_output`, which says what still differs: frame
   addresses, ``__anon_N`` numbers, LLVM's last ``???`` frame); a compile error that the batch's own root or
   runner takes part in (a wrong return type of ``main``, a reference trace through the root) is checked
   again the plain way.

An anonymous type's name carries a number the whole compilation chooses (``main.main__struct_24240``): a
run whose output holds one is checked again the plain way, or a batch would store another number than the
plain build prints (an expected output recorded from one batch failed in the next).

One difference is left: in a test batch the snippet's type names carry a prefix. A test snippet that
fails and might read names (:func:`~zigtune.validation.batch_layout.names_may_matter`) is checked again
the plain way. ``duration_ms`` of a batched snippet is its share of the batch's compiles plus its run.
No dagster here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from zigtune.validation.batch_layout import (
    BatchCompile,
    BatchJob,
    BatchMember,
    attribute_errors,
    batch_compile,
    batches_of,
    compile_args,
    exported_names,
    likely_owner,
    names_batch_files,
    names_may_matter,
    names_zigtune_files,
    patch_test_runner,
    plain_reason,
    plain_run_output,
    run_args,
    runner_line_map,
)
from zigtune.validation.jail import setup_failure
from zigtune.validation.sandbox import BuildOptions, Finished, SandboxError, SandboxLimits, judge_run, zig_binary
from zigtune.validation.verdicts import ExecResult, Verdict

__all__ = ["STRATEGIES", "BatchJob", "Progress", "check_jobs"]

logger = logging.getLogger(__name__)

#: ``fast``: batches and the self-hosted backend, as above. ``plain``: one LLVM check per snippet.
STRATEGIES = ("fast", "plain")

#: Snippets per compile at most. A batch's compile costs about as much as one snippet's (1.3 s of CPU
#: for 128 test snippets against 1.0 s for one), so the cap only bounds the work an error repeats.
MAX_BATCH = 64

#: Compiler output kept for attributing a batch's errors (a plain check keeps 256 KiB per snippet).
BATCH_COMPILE_OUTPUT = 8 * 1024 * 1024


class BatchEngine(Protocol):
    """What the fast strategy needs from an engine (:class:`~zigtune.validation.sandbox.LocalZigEngine`)."""

    name: str
    root: Path
    limits: SandboxLimits
    concurrency: int

    async def version(self) -> str: ...

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult: ...

    def new_workdir(self) -> Path: ...

    async def compile_in(self, workdir: Path, args: list[str], output_bytes: int) -> Finished: ...

    async def run_binary(self, binary: Path, files: dict[str, str], args: list[str]) -> Finished: ...


def can_batch(engine: object) -> bool:
    return all(callable(getattr(engine, name, None)) for name in ("new_workdir", "compile_in", "run_binary"))


class Progress:
    """Logs how far a check has got, about every ``step`` of the total, with its rate and ETA."""

    def __init__(self, total: int, log: Callable[[str], None] | None, label: str = "checked", step: float = 0.1):
        self.total, self.log, self.label = total, log, label
        self.every = max(1, math.ceil(total * step))
        self.done = 0
        self.started = time.perf_counter()
        self._next = self.every

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.log is None or (self.done < self._next and self.done < self.total):
            return
        while self._next <= self.done:
            self._next += self.every
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        self.log(
            f"{self.label} {self.done}/{self.total} ({self.done / self.total:.0%}) in {elapsed:.0f} s: "
            f"{rate * 60:.0f} snippets/min, ETA {eta:.0f} s"
        )


#: The default panic handler's first line ("thread 42 panic: index out of bounds: ..."); in a test's output it
#: follows the runner's "1/1 name..." on the same line.
PANIC_LINE = re.compile(r"thread \d+ panic: ")


#: The name of an anonymous type as ``@typeName`` or a format placeholder prints it (``main.main__struct_24240``):
#: its number comes from the whole compilation, so a batch prints another number than the plain build would.
NUMBERED_TYPE_NAME = re.compile(r"__(?:struct|enum|union|opaque)_\d+")


def backend_may_matter(verdict: Verdict, ran: Finished) -> bool:
    """Could LLVM's code have ended otherwise? The self-hosted backend's code is slower and its stack
    frames larger, so a timeout, a resource limit or a signal other than a panic's abort (a stack
    overflow is a segfault) may be the backend's; a panic, an error return or a failed test is the
    code's (safety checks are inserted before any backend sees the code).

    One segfault is a panic's: a self-hosted static musl binary that has printed its panic and the whole
    trace ends with SIGSEGV instead of SIGABRT (Zig 0.14.0). That is the code's panic when nothing but
    the panic handler speaks of a crash (a stack overflow prints "Segmentation fault at address")."""
    if verdict in (Verdict.TIMEOUT, Verdict.KILLED):
        return True
    if verdict is not Verdict.RUNTIME_ERROR or ran.exit_code >= 0 or -ran.exit_code == signal.SIGABRT:
        return False
    panicked = PANIC_LINE.search(ran.stderr) is not None and "Segmentation fault" not in ran.stderr
    return not (-ran.exit_code == signal.SIGSEGV and panicked)


def batch_size(count: int, concurrency: int) -> int:
    """At least one batch per core, at most ``MAX_BATCH`` snippets in each, all about the same size."""
    batches = max(1, concurrency, math.ceil(count / MAX_BATCH))
    return max(1, math.ceil(count / batches))


async def check_jobs(
    engine: BatchEngine,
    jobs: Sequence[BatchJob],
    *,
    strategy: str = "fast",
    log: Callable[[str], None] | None = None,
    on_result: Callable[[int, ExecResult], None] | None = None,
) -> list[ExecResult]:
    """The result of each job, in order: the plain check's verdict whichever ``strategy`` (see above).

    ``log`` gets a progress line about every 10 %; ``on_result(index, result)`` is called as soon as a
    job's result is final (to cache it before the rest is done). Engines that cannot batch (Codapi)
    always check the plain way.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    results: list[ExecResult | None] = [None] * len(jobs)
    progress = Progress(len(jobs), log)

    def settle(index: int, result: ExecResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)
        progress.advance()

    # Beside batches, plain checks get half the slots: a batch's compile settles many snippets at once.
    plain_slots = asyncio.Semaphore(max(1, engine.concurrency // 2) if strategy == "fast" else len(jobs) or 1)

    async def plain(index: int) -> None:
        job = jobs[index]
        async with plain_slots:
            result = await engine.execute(job.code, job.mode, job.options)
        settle(index, result)

    if strategy == "plain" or not can_batch(engine):
        await asyncio.gather(*(plain(index) for index in range(len(jobs))))
    else:
        version = await engine.version()
        alone = [index for index, job in enumerate(jobs) if plain_reason(job) is not None]
        shared = [index for index, job in enumerate(jobs) if plain_reason(job) is None]
        batches: list[Batch] = []
        for mode in ("test", "run", "build-obj"):
            of_mode = [index for index in shared if jobs[index].mode == mode]
            size = batch_size(len(of_mode), engine.concurrency)
            exports = {index: exported_names(jobs[index].code) for index in of_mode}
            for chunk in batches_of(of_mode, size, exports):
                batches.append(Batch(engine, mode, chunk, [jobs[i] for i in chunk], version, settle))
        await asyncio.gather(*(batch.check() for batch in batches), *(plain(i) for i in alone))
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


class Batch:
    """Snippets of one mode checked together; :meth:`check` returns their results in order."""

    def __init__(
        self,
        engine: BatchEngine,
        mode: str,
        indices: list[int],
        jobs: list[BatchJob],
        version: str,
        settle: Callable[[int, ExecResult], None],
    ) -> None:
        self.engine, self.mode, self.jobs, self.version = engine, mode, jobs, version
        self.indices = indices  # where the jobs sit in the caller's list
        self.settle = settle  # gets (index in the caller's list, result) once per job
        nonce = secrets.token_hex(4)
        self.nonce = nonce
        self.members = [BatchMember(f"s{i}_{nonce}", job.options.source_name) for i, job in enumerate(jobs)]
        self.results: list[ExecResult | None] = [None] * len(jobs)
        self.compile_seconds = 0.0
        self._compiles = 0
        self.workdir: Path | None = None  # the engine's per-check directory; the batch's files are in its src/
        self.runner_lines: dict[int, int] = {}  # line of the patched test runner -> line of Zig's own

    @property
    def src(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "src"

    async def check(self) -> list[ExecResult]:
        try:
            self.workdir = self.engine.new_workdir()
            for member, job in zip(self.members, self.jobs, strict=True):
                (self.src / member.slug).mkdir()
                (self.src / member.path).write_text(job.code, encoding="utf-8")
            if self.mode == "test":
                runner = zig_binary().parent / "lib" / "compiler" / "test_runner.zig"
                original = runner.read_text(encoding="utf-8")
                patched = patch_test_runner(original)
                (self.src / self.runner_name).write_text(patched, encoding="utf-8")
                self.runner_lines = runner_line_map(original, patched)
            clean, _ = await self._analyse(list(range(len(self.jobs))))
            await self._build_and_run(clean)
        except (OSError, SandboxError) as error:  # the batch's files or jail, not the code: the rest goes plain
            logger.warning("%s batch %s failed (%s): checking the rest the plain way", self.mode, self.nonce, error)
            await asyncio.gather(*(self._plain(i) for i, result in enumerate(self.results) if result is None))
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
        assert all(result is not None for result in self.results)
        return self.results  # type: ignore[return-value]

    @property
    def runner_name(self) -> str:
        return f"runner_{self.nonce}.zig"

    # --- the phases -------------------------------------------------------------------------------

    async def _compile(self, indices: list[int], build: bool) -> tuple[Finished, BatchCompile, Path | None]:
        self._compiles += 1
        root_name = f"root_{self.nonce}_{self._compiles}.zig"
        compile = batch_compile(self.mode, self.members, indices, root_name)
        (self.src / root_name).write_text(compile.root_text, encoding="utf-8")
        output = self.src / f"bin_{self._compiles}" if build else None
        target = None if output is None else (f"{output.name}.o" if self.mode == "build-obj" else output.name)
        args = compile_args(compile, self.members, indices, target, self.runner_name)
        assert self.workdir is not None
        finished = await self.engine.compile_in(self.workdir, args, BATCH_COMPILE_OUTPUT)
        if problem := setup_failure(finished.exit_code, finished.stderr):
            raise SandboxError(problem)  # the jail's failure, not the code's
        elapsed = finished.seconds
        self.compile_seconds += elapsed
        logger.debug(
            "%s batch %s: %s of %d snippets, exit %s%s, %.2f s",
            self.mode,
            self.nonce,
            "build" if build else "analysis",
            len(indices),
            finished.exit_code,
            " (timed out)" if finished.timed_out else "",
            elapsed,
        )
        return finished, compile, output

    async def _analyse(self, indices: list[int], holds_unnamed: bool = False) -> tuple[list[int], bool]:
        """Sema rounds: the members without compile errors (the others get their verdicts), and whether
        some error named no member.

        ``holds_unnamed``: the caller knows these members hold such an error (it was not in the other
        half), so their compile as a whole is skipped and they are split at once. Every member still
        ends in a compile of its own part, so a wrong guess costs time, never a verdict.
        """
        clean: list[int] = []
        pending, unnamed_seen = indices, False
        while pending:
            if holds_unnamed and len(pending) > 1:
                unattributed: list[str] = []
            else:
                finished, compile, _ = await self._compile(pending, build=False)
                if finished.exit_code == 0 and not finished.timed_out:
                    return clean + pending, unnamed_seen
                if finished.timed_out:
                    await asyncio.gather(*(self._plain(index) for index in pending))
                    return clean, unnamed_seen
                attributed, unattributed = attribute_errors(finished.stderr, compile, self.members, pending)
                unnamed_seen = unnamed_seen or bool(unattributed)
                if attributed:
                    await asyncio.gather(*(self._compile_error(i, blocks) for i, blocks in attributed.items()))
                    pending = [index for index in pending if index not in attributed]
                    continue
                if len(pending) == 1:
                    # Alone, an error that names no snippet is the snippet's, unless it is in zigtune's
                    # files; a compiler that crashed or said nothing is left to a plain check.
                    named = any(names_zigtune_files(block, compile, self.runner_name) for block in unattributed)
                    if unattributed and not named and finished.exit_code > 0:
                        await self._compile_error(pending[0], unattributed)
                    else:
                        await self._plain(pending[0])
                    return clean, True
            guess = likely_owner(unattributed, {index: self.jobs[index].code for index in pending})
            if guess is not None:
                (alone, _), (rest, _) = await asyncio.gather(
                    self._analyse([guess]), self._analyse([index for index in pending if index != guess])
                )
                return clean + alone + rest, True
            # Halves one after the other: when the first holds no unnamed error, the second does.
            middle = len(pending) // 2
            first, first_unnamed = await self._analyse(pending[:middle])
            second, _ = await self._analyse(pending[middle:], holds_unnamed=not first_unnamed)
            return clean + first + second, True
        return clean, unnamed_seen

    async def _build_and_run(self, indices: list[int]) -> None:
        """Build the members with the self-hosted backend and run each; what it cannot build goes plain."""
        if not indices:
            return
        finished, compile, output = await self._compile(indices, build=True)
        if finished.timed_out:
            await asyncio.gather(*(self._plain(index) for index in indices))
            return
        if finished.exit_code != 0:
            attributed, _ = attribute_errors(finished.stderr, compile, self.members, indices)
            if not attributed and len(indices) > 1:
                middle = len(indices) // 2
                await asyncio.gather(self._build_and_run(indices[:middle]), self._build_and_run(indices[middle:]))
                return
            failed = set(attributed) or set(indices)
            rest = [index for index in indices if index not in failed]
            await asyncio.gather(*(self._plain(index) for index in failed), self._build_and_run(rest))
            return
        assert output is not None
        await asyncio.gather(*(self._run(index, output) for index in indices))

    # --- one member's verdict ---------------------------------------------------------------------

    def _settle(self, index: int, result: ExecResult) -> None:
        if self.results[index] is not None:  # only after a failed batch, when a late result meets the plain one
            return
        self.results[index] = result
        self.settle(self.indices[index], result)

    def _share_ms(self) -> float:
        return self.compile_seconds * 1000 / len(self.jobs)

    async def _plain(self, index: int) -> None:
        job = self.jobs[index]
        logger.debug("%s batch %s: snippet %d checked the plain way", self.mode, self.nonce, index)
        self._settle(index, await self.engine.execute(job.code, job.mode, job.options))

    async def _compile_error(self, index: int, blocks: list[str]) -> None:
        member, job = self.members[index], self.jobs[index]
        text = "".join(blocks)
        # An error the batch's own files take part in (a wrong return type of ``main`` is raised in the run
        # root; a reference trace through the root) is worded unlike a plain check's: the plain check words it.
        if (self.mode == "test" and names_may_matter(job.code, member.file_name)) or names_batch_files(
            text, self.nonce, self.runner_name
        ):
            await self._plain(index)
            return
        stderr = member.plain_text(text)
        self._settle(index, self._result(Verdict.COMPILE_ERROR, "", stderr, self._share_ms(), exit_code=1))

    async def _run(self, index: int, binary: Path) -> None:
        member, job = self.members[index], self.jobs[index]
        if self.mode == "build-obj":
            self._settle(index, self._result(Verdict.OK, "", "", self._share_ms(), exit_code=0))
            return
        ran = await self.engine.run_binary(binary, {member.file_name: job.code}, run_args(self.mode, member, index))
        verdict, stdout, stderr, exit_code = judge_run(self.mode, ran, self.engine.limits)
        names_matter = self.mode == "test" and names_may_matter(job.code, member.file_name)
        if verdict is not Verdict.OK and (names_matter or backend_may_matter(verdict, ran)):
            await self._plain(index)
            return
        if NUMBERED_TYPE_NAME.search(stdout) or NUMBERED_TYPE_NAME.search(stderr):
            await self._plain(index)  # a number the whole batch's compilation chose: the plain build's differs
            return
        stdout, stderr = (
            plain_run_output(text, member, self.mode, job.code, self.runner_name, self.runner_lines)
            for text in (stdout, stderr)
        )
        self._settle(index, self._result(verdict, stdout, stderr, self._share_ms(), ran.seconds * 1000, exit_code))

    def _result(
        self,
        verdict: Verdict,
        stdout: str,
        stderr: str,
        compile_ms: float,
        run_ms: float = 0.0,
        exit_code: int | None = None,
    ) -> ExecResult:
        return ExecResult(
            verdict,
            round(compile_ms + run_ms, 1),
            stdout,
            stderr,
            self.version,
            self.engine.name,
            exit_code=exit_code,
            compile_ms=round(compile_ms, 1),
            run_ms=round(run_ms, 1),
        )

"""The local Zig 0.14.0 engine: compile and run untrusted Zig code in a jail on this machine, without root.

Each check runs in two phases, each in its own jail (:mod:`zigtune.validation.jail`: user, mount, PID
and network namespaces from util-linux's ``unshare``; an ordinary user can build them):

1. **Compile** — the ``ziglang==0.14.0`` compiler, called directly (no Python start per compile). The
   jail holds the Zig installation (read-only, ``/zig``), the snippet's directory (``/work``) and the
   one shared compiler cache (``/cache``, so the standard library is compiled once, not per snippet),
   nothing else: ``@cImport``/``@cInclude`` and ``@embedFile`` cannot reach the host's files. Limits:
   CPU time, file size, and a wall-clock timeout that kills the jail. No address-space limit: the
   compiler reserves far more virtual memory than it uses.
2. **Run** — the built program or test binary in a fresh jail that holds only a size-limited tmpfs
   working directory with copies of the binary and its source (for stack traces) and an empty
   ``/tmp``: no compiler cache, no Zig installation, no host file. Limits on CPU time, address space,
   processes, file size, open files and output bytes; a wall-clock timeout kills the whole PID
   namespace. Whatever the program writes disappears with the jail.

Without root the program runs as the calling user, confined by the namespaces; the process limit
holds per jail because the kernel counts processes per user namespace. As root, the run phase first
switches to an unprivileged uid (``uid_base``), since the kernel never limits root's processes.
Where user namespaces are switched off, :meth:`LocalZigEngine.preflight` says which setting to change.

The fast strategy (:mod:`zigtune.validation.batch`) uses the same two jails through :meth:`LocalZigEngine.compile_in`
(one compile of many snippets in a per-check directory) and :meth:`LocalZigEngine.run_binary` (one run of the
shared binary per snippet, in a fresh run jail).

Binaries are built for ``native-native-musl`` unless the code asks for another target: static, so
they need no host library inside the jail, and ``link_libc`` links musl. No dagster here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zigtune.validation.jail import (
    JAIL_MARKER,
    SETUP_PATH,
    Bind,
    Jail,
    JailError,
    jail_argv,
    setup_failure,
    tool_paths,
)
from zigtune.validation.verdicts import ExecResult, Verdict, classify_compile, classify_run

#: The Zig release the whole project targets (the original write-up's Codapi runs Zig 0.14).
ZIG_VERSION = "0.14.0"

#: What ``check_mode`` and the reference examples may ask for. ``ast-check`` only parses and
#: checks names (the reference's "syntax" examples); ``build-obj`` only compiles.
MODES = ("test", "run", "build-obj", "ast-check")

KIB, MIB = 1024, 1024 * 1024

#: The target when the code names none: this machine's CPU and OS with musl, so binaries are static
#: (the run jail has no host library) and the compiler need not probe the host's libc (it reads
#: /usr/bin/env for that, which the compile jail does not have).
DEFAULT_TARGET = "native-native-musl"

#: Kept for callers that look for the sandbox's own failures in stderr.
SANDBOX_MARKER = JAIL_MARKER

#: Where things are inside the jails.
ZIG_MOUNT, WORK_MOUNT, CACHE_MOUNT = "/zig", "/work", "/cache"
BINARY = "main"


class SandboxError(RuntimeError):
    """The local engine cannot work on this machine (no namespaces, tools missing, no compiler)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one check. Defaults fit small teaching programs with plenty of headroom."""

    # A cold cache (the standard library; musl for link_libc, ~75 s of CPU) on 2 cores shared by busy
    # neighbours took up to ~4 min of wall time; the CPU limit is what ends an endless comptime loop.
    compile_timeout_s: float = 600.0
    compile_cpu_seconds: int = 240
    run_timeout_s: float = 10.0
    cpu_seconds: int = 10
    memory_bytes: int = 1024 * MIB  # address space of the program, not of the compiler
    processes: int = 64
    file_size_bytes: int = 16 * MIB
    open_files: int = 256
    output_bytes: int = 64 * KIB  # per stream; more is output_truncated
    compile_output_bytes: int = 256 * KIB  # compiler diagnostics beyond this are cut, not fatal
    scratch_bytes: int = 64 * MIB  # the program's working directory and /tmp: tmpfs of this size each


@dataclass(frozen=True)
class BuildOptions:
    """Compiler options beyond the mode: only the reference examples need them."""

    target: str | None = None
    optimize: str | None = None
    link_libc: bool = False
    extra_args: tuple[str, ...] = ()
    file_name: str = "main.zig"  # the root file's name: type names and @src() depend on it
    extra_files: tuple[tuple[str, str], ...] = ()
    """Files written beside the root file before compiling, as (name, content): what the root imports by name
    (an evaluation task's solution file and hidden tests). Plain file names only."""

    def __post_init__(self) -> None:
        for name, _ in self.extra_files:
            if not _plain_file_name(name) or name == self.source_name:
                raise ValueError(f"extra file name {name!r}: a plain file name other than the root's is needed")

    @classmethod
    def from_annotation(cls, options: str) -> BuildOptions:
        """Parse the reference's ``target=wasm32-wasi link_libc optimize=ReleaseFast additional_option=-fno-entry``."""
        values: dict[str, object] = {"extra_args": []}
        for token in options.split():
            key, _, value = token.partition("=")
            if key == "target":
                values["target"] = value
            elif key == "optimize":
                values["optimize"] = value
            elif key == "link_libc":
                values["link_libc"] = True
            elif key == "additional_option":
                values["extra_args"].append(value)  # type: ignore[union-attr]
            # disable_cache and verbose_cimport change what is printed, not whether the code compiles.
        return cls(**{**values, "extra_args": tuple(values["extra_args"])})  # type: ignore[arg-type]

    @property
    def source_name(self) -> str:
        """``file_name`` when it is a plain ``.zig`` file name, else ``main.zig``."""
        name = self.file_name
        safe = name.endswith(".zig") and "/" not in name and not name.startswith(".") and "\x00" not in name
        return name if safe else "main.zig"

    def compiler_args(self) -> list[str]:
        args = []
        if self.target:
            args += ["-target", self.target]
        if self.optimize:
            args += ["-O", self.optimize]
        if self.link_libc:
            args.append("-lc")
        return args + list(self.extra_args)

    @property
    def runs_here(self) -> bool:
        """Can a binary for this target run on this machine? Foreign targets are only built."""
        if not self.target or self.target == "native":
            return True
        arch, _, rest = self.target.partition("-")
        return arch == platform.machine() and rest.split("-")[0] == "linux"


def _plain_file_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") and "\x00" not in name


def zig_binary() -> Path:
    """The compiler inside the ``ziglang`` wheel."""
    try:
        import ziglang
    except ImportError as error:
        raise SandboxError("the ziglang package is missing: pip install ziglang==0.14.0") from error
    path = Path(ziglang.__file__).parent / "zig"
    if not path.exists():
        raise SandboxError(f"{path} not found: reinstall ziglang==0.14.0")
    return path


@dataclass
class Finished:
    """How one sandboxed process ended."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    seconds: float = 0.0  # wall time of the process


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def run_limited(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    output_bytes: int,
    kill_on_overflow: bool = True,
) -> Finished:
    """Run ``argv`` in its own process group; kill the group on timeout (or on too much output)."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    truncated = False
    buffers: list[bytearray] = [bytearray(), bytearray()]

    async def pump(stream: asyncio.StreamReader, buffer: bytearray) -> None:
        nonlocal truncated
        while chunk := await stream.read(64 * KIB):
            room = output_bytes - len(buffer)
            if len(chunk) > room:
                buffer += chunk[: max(room, 0)]
                truncated = True
                if kill_on_overflow:
                    _kill_group(process.pid)
                    return
                continue
            buffer += chunk

    timed_out = False
    try:
        assert process.stdout is not None and process.stderr is not None
        await asyncio.wait_for(
            asyncio.gather(pump(process.stdout, buffers[0]), pump(process.stderr, buffers[1]), process.wait()),
            timeout_s,
        )
    except TimeoutError:
        timed_out = True
    finally:
        if process.returncode is None:
            _kill_group(process.pid)
            await process.wait()
    return Finished(
        exit_code=process.returncode if process.returncode is not None else -signal.SIGKILL,
        stdout=buffers[0].decode("utf-8", "replace"),
        stderr=buffers[1].decode("utf-8", "replace"),
        timed_out=timed_out,
        truncated=truncated,
        seconds=time.perf_counter() - started,
    )


def judge_run(mode: str, ran: Finished, limits: SandboxLimits) -> tuple[Verdict, str, str, int | None]:
    """The verdict, stdout, stderr and exit code of a program or test binary that ran in the run jail."""
    if problem := setup_failure(ran.exit_code, ran.stderr):
        return Verdict.SANDBOX_ERROR, ran.stdout, problem, ran.exit_code
    if ran.timed_out:
        return Verdict.TIMEOUT, ran.stdout, ran.stderr + f"\n[killed after {limits.run_timeout_s:g} s]", None
    if ran.truncated:
        return Verdict.OUTPUT_TRUNCATED, ran.stdout, ran.stderr, None
    return classify_run(mode, ran.exit_code, ran.stderr), ran.stdout, ran.stderr, ran.exit_code


def _traversable_by_others(path: Path) -> bool:
    """Can another uid reach ``path`` (every directory on the way has o+x)?"""
    for directory in [path, *path.parents]:
        try:
            if not directory.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _probed_version(exit_code: int, stdout: str, stderr: str) -> str:
    """What a jailed ``zig version`` printed; a SandboxError that says why when it failed."""
    if exit_code != 0:
        problem = setup_failure(exit_code, stderr)
        raise SandboxError(problem or f"zig version failed in the sandbox: {stderr.strip()[:200]}")
    return stdout.strip()


@dataclass
class LocalZigEngine:
    """Compile and run Zig code in the jails described in the module docstring.

    ``root`` holds the shared compiler cache (``zig-cache/``) and the per-check directories
    (``runs/``). At most ``concurrency`` checks run at once. ``uid_base`` is the unprivileged uid
    the run phase switches to when the engine runs as root (unused otherwise).
    """

    root: Path
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    uid_base: int = 61000
    name: str = "local"

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._zig = zig_binary()
        self._tools: dict[str, str] | None = None
        self._version: str | None = None
        self._runs: Path | None = None
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @property
    def cache_dir(self) -> Path:
        return self.root / "zig-cache"

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def tools(self) -> dict[str, str]:
        if self._tools is None:
            try:
                self._tools = tool_paths()
            except JailError as error:
                raise SandboxError(str(error)) from None
        return self._tools

    def runs_dir(self) -> Path:
        """Where per-check directories go: under ``root``, or (as root, when ``uid_base`` could not
        reach ``root``) in a private directory under the system's temp dir."""
        if self._runs is None:
            runs = self.root / "runs"
            runs.mkdir(parents=True, exist_ok=True)
            if self.as_root and not _traversable_by_others(runs):
                runs = Path(tempfile.mkdtemp(prefix="zigtune-runs-"))
                runs.chmod(0o711)
                if not _traversable_by_others(runs):
                    raise SandboxError(
                        f"{runs} is not reachable by uid {self.uid_base}: set TMPDIR to a directory with o+x"
                    )
            self._runs = runs
        return self._runs

    # --- the two jails -------------------------------------------------------------------------

    def compile_jail(self, workdir: Path) -> Jail:
        """The compiler's jail: the Zig installation read-only, the snippet's directory and the cache."""
        return Jail(
            mountpoint=workdir / "jail",
            workdir=WORK_MOUNT,
            binds=(
                Bind(self._zig.parent, ZIG_MOUNT),
                Bind(workdir / "src", WORK_MOUNT, writable=True),
                Bind(self.cache_dir, CACHE_MOUNT, writable=True),
            ),
            scratch=(("/tmp", 16 * MIB),),
            env={"ZIG_GLOBAL_CACHE_DIR": CACHE_MOUNT, "ZIG_LOCAL_CACHE_DIR": CACHE_MOUNT, "HOME": WORK_MOUNT},
        )

    def run_jail(self, workdir: Path, source_name: str, *more_sources: str) -> Jail:
        """The program's jail: a tmpfs working directory with copies of the binary and its source(s)."""
        size = self.limits.scratch_bytes
        sources = tuple((workdir / "src" / name, f"{WORK_MOUNT}/{name}") for name in (source_name, *more_sources))
        return Jail(
            mountpoint=workdir / "jail",
            workdir=WORK_MOUNT,
            scratch=((WORK_MOUNT, size), ("/tmp", size)),
            copies=((workdir / "src" / BINARY, f"{WORK_MOUNT}/{BINARY}"), *sources),
            env={"PATH": "/bin", "HOME": "/tmp", "LANG": "C.UTF-8"},
            run_as=self.uid_base if self.as_root else None,
        )

    def compile_rlimits(self) -> list[str]:
        cpu = min(self.limits.compile_cpu_seconds, int(self.limits.compile_timeout_s) + 1)
        return [f"--cpu={cpu}", f"--fsize={1024 * MIB}", "--core=0"]

    def run_rlimits(self) -> list[str]:
        limits = self.limits
        return [
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_bytes}",
            f"--nproc={limits.processes}",
            f"--fsize={limits.file_size_bytes}",
            f"--nofile={limits.open_files}",
            "--core=0",
        ]

    def compile_command(self, mode: str, options: BuildOptions, source_name: str) -> list[str]:
        """The compiler's argv inside the compile jail (the source and the binary in ``/work``)."""
        zig = f"{ZIG_MOUNT}/zig"
        target = [] if options.target else ["-target", DEFAULT_TARGET]
        args = [*target, *options.compiler_args()]
        if mode == "ast-check":
            return [zig, "ast-check", source_name]
        if mode == "test":
            return [zig, "test", source_name, "--test-no-exec", f"-femit-bin={BINARY}", *args]
        if mode == "run":
            return [zig, "build-exe", source_name, f"-femit-bin={BINARY}", *args]
        if mode == "build-obj":
            return [zig, "build-obj", source_name, f"-femit-bin={BINARY}.o", *args]
        raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")

    async def _jailed(
        self,
        jail: Jail,
        command: list[str],
        rlimits: list[str],
        timeout_s: float,
        output_bytes: int,
        kill_on_overflow: bool = True,
    ) -> Finished:
        return await run_limited(
            jail_argv(jail, command, rlimits, self.tools),
            cwd=self.root,
            env={"PATH": SETUP_PATH},
            timeout_s=timeout_s,
            output_bytes=output_bytes,
            kill_on_overflow=kill_on_overflow,
        )

    # --- engine interface ------------------------------------------------------------------------

    def _new_workdir(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="check-", dir=self.runs_dir()))
        (workdir / "src").mkdir()
        (workdir / "jail").mkdir()
        return workdir

    def _probe_argv(self, workdir: Path) -> list[str]:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return jail_argv(
            self.compile_jail(workdir), [f"{ZIG_MOUNT}/zig", "version"], self.compile_rlimits(), self.tools
        )

    def preflight(self) -> None:
        """Build a compile jail once and ask the compiler its version there: fail early, in one line
        that says what to do, when this machine cannot host the sandbox."""
        self.root.mkdir(parents=True, exist_ok=True)
        workdir = self._new_workdir()
        try:
            finished = subprocess.run(
                self._probe_argv(workdir),
                cwd=self.root,
                env={"PATH": SETUP_PATH},
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise SandboxError("the local Zig sandbox did not answer within 120 s (zig version)") from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self._version = _probed_version(finished.returncode, finished.stdout, finished.stderr)

    async def close(self) -> None:
        """Every check cleans up after itself; only a private runs directory under the temp dir is left."""
        if self._runs is not None and self._runs != self.root / "runs":
            with contextlib.suppress(OSError):
                self._runs.rmdir()

    async def version(self) -> str:
        """What the compiler says it is, asked inside a jail (once)."""
        if self._version is None:
            self.root.mkdir(parents=True, exist_ok=True)
            workdir = self._new_workdir()
            try:
                finished = await run_limited(
                    self._probe_argv(workdir), cwd=self.root, env={"PATH": SETUP_PATH}, timeout_s=120, output_bytes=KIB
                )
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            self._version = _probed_version(finished.exit_code, finished.stdout, finished.stderr)
        return self._version

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.concurrency))
        return self._gate[1]

    async def _run_jailed(self, workdir: Path, sources: tuple[str, ...], args: list[str]) -> Finished:
        """``./main ARGS`` (``workdir/src/main``) in a fresh run jail with copies of ``sources``."""
        if self.as_root:
            names = [BINARY, *sources]
            for path in (workdir, workdir / "jail", workdir / "src", *(workdir / "src" / name for name in names)):
                os.chown(path, self.uid_base, self.uid_base)
        return await self._jailed(
            self.run_jail(workdir, *sources),
            [f"./{BINARY}", *args],
            self.run_rlimits(),
            self.limits.run_timeout_s,
            self.limits.output_bytes,
        )

    # --- for zigtune.validation.batch: one compile of many snippets, then one run per snippet ---

    def new_workdir(self) -> Path:
        """A fresh per-check directory: ``src/`` (the compile jail's ``/work``) and ``jail/``."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self._new_workdir()

    async def compile_in(self, workdir: Path, args: list[str], output_bytes: int) -> Finished:
        """``zig ARGS`` in the compile jail of ``workdir`` (from :meth:`new_workdir`; its ``src/`` is the
        working directory ``/work``): the jail, limits, cache and timeout of a plain check's compile, in
        one of the ``concurrency`` slots. Paths in ``args`` are relative to ``src/``."""
        async with self._semaphore():
            return await self._jailed(
                self.compile_jail(workdir),
                [f"{ZIG_MOUNT}/zig", *args],
                self.compile_rlimits(),
                self.limits.compile_timeout_s,
                output_bytes,
                kill_on_overflow=False,
            )

    async def run_binary(self, binary: Path, files: Mapping[str, str], args: list[str]) -> Finished:
        """``./main ARGS`` the way a check runs a program: a copy of ``binary`` and of ``files`` (plain names)
        in a fresh run jail, under the run limits, in one slot."""
        if not all(_plain_file_name(name) and name != BINARY for name in files):
            raise ValueError(f"run_binary: plain file names other than {BINARY!r} are needed, got {sorted(files)}")
        workdir = self.new_workdir()
        try:
            for name, text in files.items():
                (workdir / "src" / name).write_text(text, encoding="utf-8")
            shutil.copyfile(binary, workdir / "src" / BINARY)
            (workdir / "src" / BINARY).chmod(0o755)
            async with self._semaphore():
                return await self._run_jailed(workdir, tuple(files), args)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult:
        """Check ``code`` the way ``mode`` says; never raises for anything the code does."""
        options = options or BuildOptions()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        version = await self.version()
        async with self._semaphore():
            return await self._execute(code, mode, options, version)

    async def _execute(self, code: str, mode: str, options: BuildOptions, version: str) -> ExecResult:
        started = time.perf_counter()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        workdir = self._new_workdir()
        timings = {"compile_ms": 0.0, "run_ms": 0.0}

        def result(verdict: Verdict, stdout: str = "", stderr: str = "", exit_code: int | None = None) -> ExecResult:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecResult(
                verdict, round(elapsed, 1), stdout, stderr, version, self.name, exit_code=exit_code, **timings
            )

        try:
            source_name = options.source_name
            (workdir / "src" / source_name).write_text(code, encoding="utf-8")
            for name, content in options.extra_files:  # files the root imports (e.g. a task's solution)
                (workdir / "src" / name).write_text(content, encoding="utf-8")
            compiled = await self._jailed(
                self.compile_jail(workdir),
                self.compile_command(mode, options, source_name),
                self.compile_rlimits(),
                self.limits.compile_timeout_s,
                self.limits.compile_output_bytes,
                kill_on_overflow=False,
            )
            timings["compile_ms"] = round((time.perf_counter() - started) * 1000, 1)
            if compiled.timed_out:
                return result(Verdict.TIMEOUT, compiled.stdout, compiled.stderr + "\n[compile timed out]")
            if problem := setup_failure(compiled.exit_code, compiled.stderr):
                return result(Verdict.SANDBOX_ERROR, "", problem, compiled.exit_code)
            failed = classify_compile(compiled.exit_code, compiled.stderr)
            if failed is not None:
                return result(failed, compiled.stdout, compiled.stderr, compiled.exit_code)
            if mode in ("ast-check", "build-obj") or not options.runs_here:
                return result(Verdict.OK, compiled.stdout, compiled.stderr, compiled.exit_code)
            ran = await self._run_jailed(workdir, (source_name,), [])
            timings["run_ms"] = round(ran.seconds * 1000, 1)
            return result(*judge_run(mode, ran, self.limits))
        except (OSError, SandboxError) as error:
            return result(Verdict.SANDBOX_ERROR, "", f"{SANDBOX_MARKER} {error}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

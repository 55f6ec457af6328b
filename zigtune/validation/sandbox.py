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
   working directory with copies of the binary and its sources (for stack traces; with
   ``BuildOptions.solution_files``, only those: never the check's hidden files) and an empty
   ``/tmp``: no compiler cache, no Zig installation, no host file. Limits on CPU time, address space,
   processes, file size, open files and output bytes; a wall-clock timeout kills the whole PID
   namespace. Whatever the program writes disappears with the jail.

Without root the program runs as the calling user, confined by the namespaces; the process limit
holds per jail because the kernel counts processes per user namespace. As root, the run phase first
switches to an unprivileged uid (``uid_base``), since the kernel never limits root's processes.
Where user namespaces are switched off, :meth:`LocalZigEngine.preflight` says which setting to change.
A check that could not run (``sandbox_error``) is known from the jail's status file
(:func:`~zigtune.validation.jail.jail_outcome`), never from what the program printed or its exit status.

The fast strategy (:mod:`zigtune.validation.batch`) uses the same two jails through :meth:`LocalZigEngine.compile_in`
(one compile of many snippets in a per-check directory) and :meth:`LocalZigEngine.run_binary` (one run of the
shared binary per snippet, in a fresh run jail).

Binaries are built for ``native-native-musl`` unless the code asks for another target: static, so
they need no host library inside the jail, and ``link_libc`` links musl. No dagster here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import platform
import re
import secrets
import shutil
import signal
import stat
import struct
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
    jail_outcome,
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

#: Where things are inside the jails. ``/check``: the root and the files beside it, when the code under test is
#: compiled apart from them (``BuildOptions.solution_files``).
ZIG_MOUNT, WORK_MOUNT, CACHE_MOUNT, CHECK_MOUNT = "/zig", "/work", "/cache", "/check"
BINARY = "main"

#: zigtune's test runner: the default one, plus a summary signed with a nonce read from stdin before any test.
TEST_RUNNER_SOURCE = Path(__file__).with_name("test_runner.zig")
#: Its name in ``/check``: the digest of its source, so a changed runner changes the verdict cache's key.
TEST_RUNNER_NAME = f".zigtune-test-runner-{hashlib.sha256(TEST_RUNNER_SOURCE.read_bytes()).hexdigest()[:12]}.zig"
#: The runner's signed summary line.
SIGNED_SUMMARY = re.compile(
    r"^zigtune-test-summary (?P<nonce>[0-9a-f]+) passed=(?P<passed>\d+) skipped=(?P<skipped>\d+) "
    r"failed=(?P<failed>\d+) leaked=(?P<leaked>\d+) logged=(?P<logged>\d+) tests=(?P<tests>\d+)\n?",
    re.MULTILINE,
)
#: Appended to the root in the solution-module layout: every public declaration of each solution module analysed
#: (Zig analyses lazily: an unused ``pub const x = @embedFile(...)`` would otherwise never be looked at).
MODULE_REFERENCES = "\n// zigtune: every public declaration of the code under test analysed\ncomptime {{\n{lines}}}\n"


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
    (an evaluation task's hidden tests, and its solution). Plain file names only. A program (``run``) finds them
    all in its working directory too (data files); a test binary, only its ``solution_files``."""
    solution_files: tuple[str, ...] = ()
    """``test`` mode only: the names, among ``extra_files``, of the code under test and the files it may see. They
    go in a directory of their own (the working directory), apart from the root and the other files, and each
    ``.zig`` one is a module of its own that the root imports by its name: ``@import``/``@embedFile`` in them
    cannot reach the root's directory (a compile error in Zig 0.14), and their public declarations are all
    analysed. The test binary then runs under zigtune's signed test runner (``test_runner.zig``), and only its
    signed summary makes a pass: see :meth:`LocalZigEngine.execute`. Codapi has no such layout: it gets every
    file side by side."""

    def __post_init__(self) -> None:
        for name, _ in self.extra_files:
            if not _plain_file_name(name) or name == self.source_name:
                raise ValueError(f"extra file name {name!r}: a plain file name other than the root's is needed")
        beside = {name for name, _ in self.extra_files}
        for name in self.solution_files:
            if name not in beside:
                raise ValueError(f"solution file {name!r}: it must be one of the extra files")

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
        return args + list(self.extra_args) + self.module_args()

    @property
    def solution_modules(self) -> list[str]:
        """The ``solution_files`` that are Zig modules (the others are data beside them)."""
        return [name for name in self.solution_files if name.endswith(".zig")]

    def module_args(self) -> list[str]:
        """With ``solution_files``: the signed test runner, the root (in ``/check``) with a dependency on each
        solution module, and each solution module (in ``/work``) with a dependency on the others."""
        if not self.solution_files:
            return []
        modules = self.solution_modules
        args = ["--test-runner", f"{CHECK_MOUNT}/{TEST_RUNNER_NAME}"]
        args += [part for name in modules for part in ("--dep", name)] + [f"-Mroot={CHECK_MOUNT}/{self.source_name}"]
        for module in modules:
            args += [part for other in modules if other != module for part in ("--dep", other)]
            args.append(f"-M{module}={module}")
        return args

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
    setup_problem: str | None = None  # the jail's own failure, from its status file (never from the output)


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
    stdin: bytes | None = None,
) -> Finished:
    """Run ``argv`` in its own process group; kill the group on timeout (or on too much output).

    ``stdin``: bytes the process reads on its standard input, then end of file (none: ``/dev/null``)."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
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

    async def feed() -> None:
        if stdin is None or process.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(stdin)
            await process.stdin.drain()
        process.stdin.close()

    timed_out = False
    try:
        assert process.stdout is not None and process.stderr is not None
        await asyncio.wait_for(
            asyncio.gather(feed(), pump(process.stdout, buffers[0]), pump(process.stderr, buffers[1]), process.wait()),
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
    """The verdict, stdout, stderr and exit code of a program or test binary that ran in the run jail.

    Only the jail's status file (``ran.setup_problem``) makes a ``sandbox_error``: a program that prints the
    jail's marker and exits with its status is judged like any other failing program."""
    if ran.setup_problem is not None:
        return Verdict.SANDBOX_ERROR, ran.stdout, ran.setup_problem, ran.exit_code
    if ran.timed_out:
        return Verdict.TIMEOUT, ran.stdout, ran.stderr + f"\n[killed after {limits.run_timeout_s:g} s]", None
    if ran.truncated:
        return Verdict.OUTPUT_TRUNCATED, ran.stdout, ran.stderr, None
    return classify_run(mode, ran.exit_code, ran.stderr), ran.stdout, ran.stderr, ran.exit_code


def judge_signed_run(ran: Finished, nonce: str, limits: SandboxLimits) -> tuple[Verdict, str, str, int | None]:
    """:func:`judge_run` for a test binary under the signed runner: ``ok`` only when the summary line signed with
    ``nonce`` says every test passed, none skipped, nothing leaked or logged. The line is taken out of stderr;
    any other line that looks like it (the code under test cannot know the nonce) stays, as the program's."""
    verdict, stdout, stderr, exit_code = judge_run("test", ran, limits)
    signed = [found for found in SIGNED_SUMMARY.finditer(stderr) if found["nonce"] == nonce]
    if signed:
        stderr = stderr[: signed[-1].start()] + stderr[signed[-1].end() :]
    if verdict is not Verdict.OK:
        return verdict, stdout, stderr, exit_code
    summary = signed[-1] if len(signed) == 1 else None
    keys = ("passed", "skipped", "failed", "leaked", "logged", "tests")
    counts = {key: int(summary[key]) for key in keys} if summary else {}
    if not counts or counts["tests"] < 1 or counts["passed"] != counts["tests"] or counts["leaked"] or counts["logged"]:
        why = "its tests did not all run to the end" if not counts else f"not every test passed ({summary[0].strip()})"
        return Verdict.TEST_FAILURE, stdout, stderr + f"\n[zigtune's test runner: {why}]", exit_code
    return Verdict.OK, stdout, stderr, exit_code


#: ELF section types and names whose code runs before ``main`` (or after it, at exit).
_EARLY_SECTION_TYPES = {14: ".init_array", 15: ".fini_array", 16: ".preinit_array"}
_EARLY_SECTION_NAMES = {b".init", b".fini", b".ctors", b".dtors"}


def code_before_main(binary: Path) -> str | None:
    """The sections of a 64-bit little-endian ELF ``binary`` whose code runs outside ``main`` (``.init_array``,
    ``.ctors``, ...), comma-separated; ``None`` when there are none. Zig's test binaries have none of their own."""
    data = binary.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return "not a 64-bit little-endian ELF file"
    section_offset = struct.unpack_from("<Q", data, 0x28)[0]
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, section_offset + i * entry_size) for i in range(count)]
    names_at = headers[names_index][4] if names_index < count else 0
    found = []
    for name_offset, kind, _flags, _address, _offset, size in headers:
        name = data[names_at + name_offset : data.index(b"\0", names_at + name_offset)] if names_at else b""
        if size and (kind in _EARLY_SECTION_TYPES or name in _EARLY_SECTION_NAMES):
            found.append(name.decode("ascii", "replace") or _EARLY_SECTION_TYPES.get(kind, "?"))
    return ", ".join(found) or None


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
        """The compiler's jail: the Zig installation read-only, the snippet's directory and the cache (and the
        root's own directory, ``/check``, read-only, when the code under test is compiled apart from it)."""
        check = (Bind(workdir / "check", CHECK_MOUNT),) if (workdir / "check").is_dir() else ()
        return Jail(
            mountpoint=workdir / "jail",
            workdir=WORK_MOUNT,
            binds=(
                Bind(self._zig.parent, ZIG_MOUNT),
                Bind(workdir / "src", WORK_MOUNT, writable=True),
                Bind(self.cache_dir, CACHE_MOUNT, writable=True),
                *check,
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
        if options.solution_files:  # the root and its modules are named in ``args`` (``-Mroot=...``)
            if mode != "test":
                raise ValueError(f"solution_files are for test mode only, not {mode!r}")
            return [zig, "test", "--test-no-exec", f"-femit-bin={BINARY}", *args]
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
        stdin: bytes | None = None,
    ) -> Finished:
        """``command`` in ``jail``; ``setup_problem`` says (from the jail's status file) when the jail failed."""
        handle, name = tempfile.mkstemp(prefix="status-", dir=jail.mountpoint.parent)
        os.close(handle)
        status = Path(name)
        if jail.run_as is not None:
            os.chown(status, jail.run_as, jail.run_as)
        try:
            finished = await run_limited(
                jail_argv(dataclasses.replace(jail, status_file=status), command, rlimits, self.tools),
                cwd=self.root,
                env={"PATH": SETUP_PATH},
                timeout_s=timeout_s,
                output_bytes=output_bytes,
                kill_on_overflow=kill_on_overflow,
                stdin=stdin,
            )
            finished.setup_problem = jail_outcome(status, finished.stderr)
            return finished
        finally:
            status.unlink(missing_ok=True)

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

    async def _run_jailed(
        self, workdir: Path, sources: tuple[str, ...], args: list[str], stdin: bytes | None = None
    ) -> Finished:
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
            stdin=stdin,
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
        """Check ``code`` the way ``mode`` says; never raises for anything the code does.

        With ``options.solution_files`` (test mode): the root and the other extra files in ``/check``, the solution
        files in ``/work``, compiled as modules of their own; the test binary runs under the signed test runner
        with a fresh nonce on its stdin and copies of the solution files only (never the root or the hidden files).
        It passes only when the runner's signed summary says every test passed, none skipped, nothing leaked or
        logged: printing the default runner's ``All N tests passed.`` and exiting 0 is a ``test_failure``. A binary
        with code that runs before ``main`` (``.init_array`` and the like, where the nonce could be read first)
        is a ``runtime_error``."""
        options = options or BuildOptions()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        if options.solution_files and mode != "test":
            raise ValueError(f"solution_files are for test mode only, not {mode!r}")
        version = await self.version()
        async with self._semaphore():
            return await self._execute(code, mode, options, version)

    def _write_sources(self, workdir: Path, code: str, options: BuildOptions) -> tuple[str, ...]:
        """The files of a check in ``workdir``; answers the names the program's working directory gets copies of."""
        files = dict(options.extra_files)
        if not options.solution_files:
            for name, content in ((options.source_name, code), *files.items()):
                (workdir / "src" / name).write_text(content, encoding="utf-8")
            return (options.source_name, *files)
        check = workdir / "check"
        check.mkdir()
        references = "".join(
            f'    @import("std").testing.refAllDecls(@import("{name}"));\n' for name in options.solution_modules
        )
        root = code + ("" if code.endswith("\n") else "\n") + MODULE_REFERENCES.format(lines=references)
        (check / options.source_name).write_text(root, encoding="utf-8")
        shutil.copyfile(TEST_RUNNER_SOURCE, check / TEST_RUNNER_NAME)
        for name, content in files.items():
            folder = workdir / "src" if name in options.solution_files else check
            (folder / name).write_text(content, encoding="utf-8")
        return options.solution_files

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
            beside = self._write_sources(workdir, code, options)
            compiled = await self._jailed(
                self.compile_jail(workdir),
                self.compile_command(mode, options, source_name),
                self.compile_rlimits(),
                self.limits.compile_timeout_s,
                self.limits.compile_output_bytes,
                kill_on_overflow=False,
            )
            timings["compile_ms"] = round((time.perf_counter() - started) * 1000, 1)
            if compiled.setup_problem is not None:
                return result(Verdict.SANDBOX_ERROR, "", compiled.setup_problem, compiled.exit_code)
            if compiled.timed_out:
                return result(Verdict.TIMEOUT, compiled.stdout, compiled.stderr + "\n[compile timed out]")
            failed = classify_compile(compiled.exit_code, compiled.stderr)
            if failed is not None:
                return result(failed, compiled.stdout, compiled.stderr, compiled.exit_code)
            if mode in ("ast-check", "build-obj") or not options.runs_here:
                return result(Verdict.OK, compiled.stdout, compiled.stderr, compiled.exit_code)
            if not options.solution_files:
                ran = await self._run_jailed(workdir, beside, [])
                timings["run_ms"] = round(ran.seconds * 1000, 1)
                return result(*judge_run(mode, ran, self.limits))
            early = code_before_main(workdir / "src" / BINARY)
            if early:
                return result(Verdict.RUNTIME_ERROR, "", f"[the test binary runs code before main ({early}): refused]")
            nonce = secrets.token_hex(16)
            ran = await self._run_jailed(workdir, beside, [], stdin=f"{nonce}\n".encode())
            timings["run_ms"] = round(ran.seconds * 1000, 1)
            return result(*judge_signed_run(ran, nonce, self.limits))
        except (OSError, SandboxError) as error:
            return result(Verdict.SANDBOX_ERROR, "", f"{SANDBOX_MARKER} {error}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

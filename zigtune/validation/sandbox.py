"""The local Zig 0.14.0 engine: compile and run untrusted Zig code in a sandbox on this machine.

Each check runs in two phases, so each gets the limits it needs:

1. **Compile** — the ``ziglang==0.14.0`` compiler, called directly (no Python start per compile), in a
   fresh, empty network namespace, with CPU-time, file-size and wall-clock limits but no address-space
   limit (the compiler reserves far more virtual memory than it uses). It shares one global cache
   under the data directory, so the standard library is compiled once, not once per snippet.
   Comptime code cannot do I/O, so compiling is safe as the service user.
2. **Run** — the built binary (a program or a test binary) under tight limits: a new network, PID
   and mount namespace; ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run``, ``/root`` and ``/home``
   replaced by empty tmpfs; an unprivileged user id per concurrent slot (so the host's files are
   read-only to it, and the process limit applies — it does not to root); limits on CPU time,
   address space, processes, file size, open files and output bytes; and a wall-clock timeout that
   kills the whole process group. The PID namespace makes sure nothing outlives the run.

Needs root (for the namespaces and the user switch) and util-linux's ``unshare``, ``setpriv``,
``prlimit``. No dagster here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from zigtune.validation.verdicts import ExecResult, Verdict, classify_compile, classify_run

#: The Zig release the whole project targets (the original write-up's Codapi runs Zig 0.14).
ZIG_VERSION = "0.14.0"

#: What ``check_mode`` and the reference examples may ask for. ``ast-check`` only parses and
#: checks names (the reference's "syntax" examples); ``build-obj`` only compiles.
MODES = ("test", "run", "build-obj", "ast-check")

KIB, MIB = 1024, 1024 * 1024

#: The root file of a build-obj check (see ``_compile_argv``).
OBJECT_ROOT = "zigtune_object_root.zig"
#: ``std.testing.refAllDecls`` does nothing outside tests, hence the loop.
OBJECT_ROOT_TEMPLATE = """const checked = @import("SOURCE");
comptime {
    for (@typeInfo(checked).@"struct".decls) |declaration| _ = &@field(checked, declaration.name);
}
"""

#: Printed by the sandbox wrapper when it cannot set itself up; the run is then a sandbox_error.
SANDBOX_MARKER = "zigtune-sandbox:"

# Runs as root inside the new namespaces: hide writable and private places, then drop to the slot's
# user. The working directory is entered first, so an overmounted /tmp cannot hide it.
_RUN_SCRIPT = f"""
cd "$1" || {{ echo "{SANDBOX_MARKER} cannot enter $1" >&2; exit 125; }}
for d in /tmp /var/tmp /dev/shm /run /root /home; do
  [ -d "$d" ] || continue
  mount -t tmpfs -o size=16m,mode=1777,nosuid,nodev tmpfs "$d" \\
    || {{ echo "{SANDBOX_MARKER} mount $d failed" >&2; exit 125; }}
done
uid="$2"; shift 2
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs -- "$@"
"""


class SandboxError(RuntimeError):
    """The local engine cannot work on this machine (not root, tools missing, no compiler)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one check. Defaults fit small teaching programs with plenty of headroom."""

    compile_timeout_s: float = 240.0  # a cold cache on 2 busy cores takes ~10 s; leave room for load
    run_timeout_s: float = 10.0
    cpu_seconds: int = 10
    memory_bytes: int = 1024 * MIB  # address space of the program, not of the compiler
    processes: int = 64
    file_size_bytes: int = 16 * MIB
    open_files: int = 256
    output_bytes: int = 64 * KIB  # per stream; more is output_truncated
    compile_output_bytes: int = 256 * KIB  # compiler diagnostics beyond this are cut, not fatal


@dataclass(frozen=True)
class BuildOptions:
    """Compiler options beyond the mode: only the reference examples need them."""

    target: str | None = None
    optimize: str | None = None
    link_libc: bool = False
    extra_args: tuple[str, ...] = ()
    file_name: str = "main.zig"  # the root file's name: type names and @src() depend on it

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


def judge_run(mode: str, ran: Finished, limits: SandboxLimits) -> tuple[Verdict, str, str]:
    """The verdict, stdout and stderr of a program or test binary that ran in the sandbox."""
    if SANDBOX_MARKER in ran.stderr:
        return Verdict.SANDBOX_ERROR, ran.stdout, ran.stderr
    if ran.timed_out:
        return Verdict.TIMEOUT, ran.stdout, ran.stderr + f"\n[killed after {limits.run_timeout_s:g} s]"
    if ran.truncated:
        return Verdict.OUTPUT_TRUNCATED, ran.stdout, ran.stderr
    return classify_run(mode, ran.exit_code, ran.stderr), ran.stdout, ran.stderr


@dataclass
class LocalZigEngine:
    """Compile and run Zig code in the sandbox described in the module docstring.

    ``root`` holds the shared compiler cache (``zig-cache/``) and the per-run directories
    (``runs/``). At most ``concurrency`` checks run at once, each under its own user id.
    """

    root: Path
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    uid_base: int = 61000
    name: str = "local"

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._zig = zig_binary()
        self._version: str | None = None
        self._slots: asyncio.Queue[int] | None = None

    def preflight(self) -> None:
        """Fail early, with what to do, when this machine cannot host the sandbox."""
        if os.geteuid() != 0:
            raise SandboxError(
                "the local Zig sandbox needs root (namespaces, user switch): run as root or use engine=remote"
            )
        missing = [tool for tool in ("unshare", "setpriv", "prlimit", "sh", "mount") if shutil.which(tool) is None]
        if missing:
            raise SandboxError(f"the local Zig sandbox needs util-linux tools: {', '.join(missing)} not found")

    async def close(self) -> None:
        """Nothing to release: every run cleans up after itself."""

    @property
    def cache_dir(self) -> Path:
        return self.root / "zig-cache"

    def _compiler_env(self, workdir: Path) -> dict[str, str]:
        # Never the host's environment: it may hold API keys.
        cache = str(self.cache_dir)
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "ZIG_GLOBAL_CACHE_DIR": cache,
            "ZIG_LOCAL_CACHE_DIR": cache,
        }

    async def version(self) -> str:
        """What the compiler says it is (asked once)."""
        if self._version is None:
            self.root.mkdir(parents=True, exist_ok=True)
            finished = await run_limited(
                [str(self._zig), "version"],
                cwd=self.root,
                env={"PATH": "/usr/bin:/bin"},
                timeout_s=60,
                output_bytes=KIB,
            )
            if finished.exit_code != 0:
                raise SandboxError(f"{self._zig} version failed: {finished.stderr.strip()[:200]}")
            self._version = finished.stdout.strip()
        return self._version

    def _compile_argv(self, mode: str, options: BuildOptions, source: Path, output: Path) -> list[str]:
        zig = str(self._zig)
        if mode == "ast-check":
            command = [zig, "ast-check", source.name]
        elif mode == "test":
            command = [zig, "test", source.name, "--test-no-exec", f"-femit-bin={output}", *options.compiler_args()]
        elif mode == "run":
            command = [zig, "build-exe", source.name, f"-femit-bin={output}", *options.compiler_args()]
        elif mode == "build-obj":
            # Zig analyses lazily: a declaration nobody references is never type-checked. The root
            # file references every public declaration of the snippet, so they are all checked.
            root = source.with_name(OBJECT_ROOT)
            root.write_text(OBJECT_ROOT_TEMPLATE.replace("SOURCE", source.name), encoding="utf-8")
            command = [zig, "build-obj", root.name, f"-femit-bin={output}.o", *options.compiler_args()]
        else:
            raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        return self._compile_wrapper(command)

    def _compile_wrapper(self, command: list[str]) -> list[str]:
        limits = self.limits
        prlimit = ["prlimit", f"--cpu={int(limits.compile_timeout_s)}", f"--fsize={1024 * MIB}", "--core=0", "--"]
        return ["unshare", "--net", "--", *prlimit, *command]

    def _run_argv(self, workdir: Path, uid: int, binary: str) -> list[str]:
        limits = self.limits
        prlimit = [
            "prlimit",
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_bytes}",
            f"--nproc={limits.processes}",
            f"--fsize={limits.file_size_bytes}",
            f"--nofile={limits.open_files}",
            "--core=0",
            "--",
        ]
        wrapper = ["sh", "-c", _RUN_SCRIPT, "zigtune-sandbox", str(workdir), str(uid)]
        return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "--", *wrapper, *prlimit, binary]

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult:
        """Check ``code`` the way ``mode`` says; never raises for anything the code does."""
        options = options or BuildOptions()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        version = await self.version()
        async with self._slot() as uid:
            return await self._execute(code, mode, options, uid, version)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[int]:
        """One of ``concurrency`` slots, and its user id."""
        if self._slots is None:
            self._slots = asyncio.Queue()
            for slot in range(self.concurrency):
                self._slots.put_nowait(self.uid_base + slot)
        uid = await self._slots.get()
        try:
            yield uid
        finally:
            self._slots.put_nowait(uid)

    # --- for zigtune.validation.batch: one compile of many snippets, then one run per snippet ---

    async def compile_in(self, workdir: Path, args: list[str], output_bytes: int) -> Finished:
        """``zig ARGS`` in ``workdir`` the way a check compiles (no network, CPU and file-size limits,
        the shared cache, the compile timeout), in one slot."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        async with self._slot():
            return await run_limited(
                self._compile_wrapper([str(self._zig), *args]),
                cwd=workdir,
                env=self._compiler_env(workdir),
                timeout_s=self.limits.compile_timeout_s,
                output_bytes=output_bytes,
                kill_on_overflow=False,
            )

    async def run_binary(self, binary: Path, files: dict[str, str], args: list[str]) -> Finished:
        """``./main ARGS`` the way a check runs a program: ``binary`` as ``main`` in a fresh directory
        that also holds ``files``, in the run sandbox and under the run limits, in one slot."""
        runs = self.root / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        try:
            for name, text in files.items():
                (workdir / name).write_text(text, encoding="utf-8")
            os.link(binary, workdir / "main")
            async with self._slot() as uid:
                return await self._run(workdir, uid, args)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run(self, workdir: Path, uid: int, args: list[str]) -> Finished:
        os.chown(workdir, uid, uid)
        return await run_limited(
            [*self._run_argv(workdir, uid, "./main"), *args],
            cwd=self.root,
            env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"},
            timeout_s=self.limits.run_timeout_s,
            output_bytes=self.limits.output_bytes,
        )

    async def _execute(self, code: str, mode: str, options: BuildOptions, uid: int, version: str) -> ExecResult:
        started = time.perf_counter()
        runs = self.root / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="check-", dir=runs))

        def result(verdict: Verdict, stdout: str = "", stderr: str = "") -> ExecResult:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecResult(verdict, round(elapsed, 1), stdout, stderr, version, self.name)

        try:
            source = workdir / options.source_name
            source.write_text(code, encoding="utf-8")
            binary = workdir / "main"
            compiled = await run_limited(
                self._compile_argv(mode, options, source, binary),
                cwd=workdir,
                env=self._compiler_env(workdir),
                timeout_s=self.limits.compile_timeout_s,
                output_bytes=self.limits.compile_output_bytes,
                kill_on_overflow=False,
            )
            if compiled.timed_out:
                return result(Verdict.TIMEOUT, compiled.stdout, compiled.stderr + "\n[compile timed out]")
            failed = classify_compile(compiled.exit_code, compiled.stderr)
            if failed is not None:
                return result(failed, compiled.stdout, compiled.stderr)
            if mode in ("ast-check", "build-obj") or not options.runs_here:
                return result(Verdict.OK, compiled.stdout, compiled.stderr)
            ran = await self._run(workdir, uid, [])
            return result(*judge_run(mode, ran, self.limits))
        except OSError as error:
            return result(Verdict.SANDBOX_ERROR, "", f"{SANDBOX_MARKER} {error}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

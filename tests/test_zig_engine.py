"""The local sandboxed Zig engine with the real Zig 0.14.0 compiler: verdicts, and hostile code.

All programs are checked in one batch (two at a time on two cores) by a module fixture; each test
then asserts one program's verdict and that the host is unharmed.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from zigtune.validation.sandbox import BuildOptions, LocalZigEngine, SandboxLimits
from zigtune.validation.verdicts import Verdict

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the local Zig sandbox needs root")

STD = 'const std = @import("std");\n'
UID_BASE = 61000
HOME = Path("/root")


def _program(body: str) -> str:
    return STD + "pub fn main() !void {\n" + body + "\n}\n"


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that hostile code tries to reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    yield server
    server.close()


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host directory outside the sandbox that hostile code tries to write into."""
    return tmp_path_factory.mktemp("victim")


@pytest.fixture(scope="module")
def checks(zig_sandbox_root: Path, listener: socket.socket, victim: Path) -> dict[str, object]:
    port = listener.getsockname()[1]
    programs: dict[str, tuple[str, str]] = {
        "hello": (_program('try std.io.getStdOut().writer().writeAll("hello\\n");'), "run"),
        "test_pass": (STD + 'test "adds" {\n    try std.testing.expect(1 + 1 == 2);\n}\n', "test"),
        "test_fail": (STD + 'test "wrong" {\n    try std.testing.expectEqual(3, 1 + 1);\n}\n', "test"),
        "test_panic": (STD + 'test "overflow" {\n    var x: u8 = 255;\n    x += 1;\n    _ = &x;\n}\n', "test"),
        "compile_error": (_program("undefined_name = 1;"), "run"),
        "needs_main": ('const x = 5;\nstd.debug.print("{}\\n", .{x});\n', "build-obj"),
        "unreferenced_type_error": ('pub fn add(a: i32, b: i32) i32 {\n    return a + b + "x";\n}\n', "build-obj"),
        "declarations_only": ("pub fn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n", "build-obj"),
        "runtime_error": (_program("return error.Boom;"), "run"),
        "infinite_loop": (_program("while (true) {}"), "run"),
        "fork_bomb": (_program("while (true) {\n    _ = std.posix.fork() catch continue;\n}"), "run"),
        "allocate_10gb": (
            _program("const m = try std.heap.page_allocator.alloc(u8, 10 << 30);\n@memset(m, 1);"),
            "run",
        ),
        "print_100mb": (
            _program(
                "const out = std.io.getStdOut().writer();\nvar i: usize = 0;\n"
                'while (i < 1_000_000) : (i += 1) try out.writeAll("x" ** 99 ++ "\\n");'
            ),
            "run",
        ),
        "network": (
            _program(
                f'const a = try std.net.Address.parseIp4("127.0.0.1", {port});\n'
                "const s = try std.net.tcpConnectToAddress(a);\ns.close();"
            ),
            "run",
        ),
        "write_outside": (
            _program(
                f'if (std.fs.createFileAbsolute("{victim}/pwned", .{{}})) |f| f.close() else |_| {{}}\n'
                f'if (std.fs.createFileAbsolute("{HOME}/zigtune-pwned", .{{}})) |f| f.close() else |_| {{}}\n'
                'const f = try std.fs.createFileAbsolute("/etc/zigtune-pwned", .{});\nf.close();'
            ),
            "run",
        ),
        "write_inside": (
            _program('const f = try std.fs.cwd().createFile("scratch.txt", .{});\ntry f.writeAll("ok");\nf.close();'),
            "run",
        ),
        "read_home": (
            _program(
                f'var dir = try std.fs.openDirAbsolute("{HOME}", .{{ .iterate = true }});\n'
                "defer dir.close();\nvar it = dir.iterate();\nconst out = std.io.getStdOut().writer();\n"
                'while (try it.next()) |entry| try out.print("{s}\\n", .{entry.name});'
            ),
            "run",
        ),
    }
    engine = LocalZigEngine(zig_sandbox_root, limits=SandboxLimits(run_timeout_s=5, cpu_seconds=5))
    engine.preflight()

    async def run_all() -> list[object]:
        return await asyncio.gather(*(engine.execute(code, mode) for code, mode in programs.values()))

    return dict(zip(programs, asyncio.run(run_all()), strict=True))


def _leftover_processes() -> list[int]:
    """Processes still running under the sandbox's user ids."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
            except FileNotFoundError:
                continue
            if UID_BASE <= uid < UID_BASE + 64:
                pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("hello", Verdict.OK),
        ("test_pass", Verdict.OK),
        ("test_fail", Verdict.TEST_FAILURE),
        ("test_panic", Verdict.RUNTIME_ERROR),
        ("compile_error", Verdict.COMPILE_ERROR),
        ("needs_main", Verdict.COMPILE_ERROR),
        ("declarations_only", Verdict.OK),
        ("unreferenced_type_error", Verdict.COMPILE_ERROR),  # build-obj checks every public declaration
        ("runtime_error", Verdict.RUNTIME_ERROR),
        ("write_inside", Verdict.OK),
    ],
)
def test_verdicts_of_ordinary_code(checks: dict, name: str, verdict: Verdict) -> None:
    result = checks[name]
    assert result.verdict is verdict, result.stderr[:500]
    assert result.zig_version == "0.14.0"
    assert result.engine == "local"


def test_output_and_compiler_words_are_kept(checks: dict) -> None:
    assert checks["hello"].stdout == "hello\n"
    assert "use of undeclared identifier 'undefined_name'" in checks["compile_error"].stderr
    assert "expected 3, found 2" in checks["test_fail"].stderr
    assert "integer overflow" in checks["test_panic"].stderr
    assert "error: Boom" in checks["runtime_error"].stderr


def test_infinite_loop_times_out_and_is_killed(checks: dict) -> None:
    assert checks["infinite_loop"].verdict is Verdict.TIMEOUT
    assert _leftover_processes() == []


def test_fork_bomb_is_contained(checks: dict) -> None:
    assert checks["fork_bomb"].verdict is Verdict.TIMEOUT
    assert _leftover_processes() == []


def test_allocating_10gb_hits_the_memory_limit(checks: dict) -> None:
    result = checks["allocate_10gb"]
    assert result.verdict is Verdict.KILLED
    assert "OutOfMemory" in result.stderr


def test_printing_100mb_is_truncated(checks: dict) -> None:
    result = checks["print_100mb"]
    assert result.verdict is Verdict.OUTPUT_TRUNCATED
    assert len(result.stdout) <= SandboxLimits().output_bytes


def test_network_is_unreachable(checks: dict, listener: socket.socket) -> None:
    assert checks["network"].verdict is Verdict.RUNTIME_ERROR
    assert "NetworkUnreachable" in checks["network"].stderr or "ConnectionRefused" in checks["network"].stderr
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever connected to the host


def test_writing_outside_the_temp_dir_fails_and_leaves_no_file(checks: dict, victim: Path) -> None:
    result = checks["write_outside"]
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert "AccessDenied" in result.stderr
    assert not (victim / "pwned").exists()
    assert not (HOME / "zigtune-pwned").exists()
    assert not Path("/etc/zigtune-pwned").exists()


def test_home_directory_is_hidden(checks: dict) -> None:
    result = checks["read_home"]
    assert result.verdict is Verdict.OK
    assert result.stdout == ""  # the home directory is an empty tmpfs inside the sandbox
    assert os.listdir(HOME)  # ... while the host's is not empty


def test_foreign_targets_are_built_not_run(zig_sandbox_root: Path) -> None:
    engine = LocalZigEngine(zig_sandbox_root)
    code = _program('try std.io.getStdOut().writer().writeAll("hi\\n");')
    result = asyncio.run(engine.execute(code, "run", BuildOptions.from_annotation("target=wasm32-wasi")))
    assert result.verdict is Verdict.OK
    assert result.stdout == ""


def test_build_options_from_annotations() -> None:
    options = BuildOptions.from_annotation(
        "target=wasm32-freestanding additional_option=-fno-entry additional_option=--export=add"
    )
    assert options.compiler_args() == ["-target", "wasm32-freestanding", "-fno-entry", "--export=add"]
    assert not options.runs_here
    assert BuildOptions.from_annotation("link_libc optimize=ReleaseFast").compiler_args() == [
        "-O",
        "ReleaseFast",
        "-lc",
    ]
    assert BuildOptions.from_annotation("target=x86_64-linux").runs_here == (os.uname().machine == "x86_64")


def test_unknown_mode_is_a_clear_error(zig_sandbox_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown mode 'exe'"):
        asyncio.run(LocalZigEngine(zig_sandbox_root).execute("", "exe"))

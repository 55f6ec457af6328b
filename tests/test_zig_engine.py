"""The local Zig sandbox with the real Zig 0.14.0 compiler: verdicts, every declaration analysed, hostile code.

The programs are checked in one batch per identity: as the user running the tests and, when that user
is root (as in CI), again as an unprivileged user that the tests create, through ``sandbox_driver.py``
run by ``/usr/bin/python3`` with a copy of only the modules the engine needs. Each test then asserts,
for each identity, one program's verdict and that the host is unharmed. A secret planted on the host
(a world-readable file and an environment variable) must appear in no output.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import SECRET_ENV
from tests.sandbox_driver import check_programs
from zigtune.validation.declarations import DeclarationLister
from zigtune.validation.jail import JAIL_MARKER, jail_argv, jail_outcome, setup_failure
from zigtune.validation.sandbox import BuildOptions, LocalZigEngine, SandboxLimits, run_limited
from zigtune.validation.verdicts import ExecResult, Verdict

REPO = Path(__file__).resolve().parents[1]
STD = 'const std = @import("std");\n'
UNPRIVILEGED_USER = "zigtune-sandbox-test"
SYSTEM_PYTHON = Path("/usr/bin/python3")
#: The modules the unprivileged driver needs, and nothing else of the repository.
ENGINE_FILES = (
    "__init__.py",
    "sandbox.py",
    "jail.py",
    "verdicts.py",
    "declarations.py",
    "decl_lister.zig",
    "test_runner.zig",
)
IDENTITIES = ["caller", "unprivileged"] if os.geteuid() == 0 else ["caller"]
#: As root, the programs of this test session run as this uid, no other session's.
SESSION_UID = 62000 + os.getpid() % 3000


def _program(body: str) -> str:
    return STD + "pub fn main() !void {\n" + body + "\n}\n"


def _try_paths(paths: list[str], action: str) -> str:
    """A program that tries ``action`` (open or create) on each path and prints ``path: outcome``."""
    listed = ", ".join(json.dumps(path) for path in paths)
    call = "std.fs.openFileAbsolute(path, .{})" if action == "open" else "std.fs.createFileAbsolute(path, .{})"
    if action == "open_relative":
        call = "std.fs.cwd().openFile(path, .{})"
    return _program(
        "const out = std.io.getStdOut().writer();\n"
        f"for ([_][]const u8{{ {listed} }}) |path| {{\n"
        f"    if ({call}) |file| {{\n"
        "        var buffer: [256]u8 = undefined;\n"
        "        const n = file.readAll(&buffer) catch 0;\n"
        '        try out.print("{s}: opened {s}\\n", .{ path, buffer[0..n] });\n'
        "        file.close();\n"
        '    } else |err| try out.print("{s}: {s}\\n", .{ path, @errorName(err) });\n'
        "}"
    )


def _print_files(paths: list[str]) -> str:
    listed = ", ".join(json.dumps(path) for path in paths)
    return _program(
        "const out = std.io.getStdOut().writer();\n"
        f"for ([_][]const u8{{ {listed} }}) |path| {{\n"
        "    const file = std.fs.openFileAbsolute(path, .{}) catch |err| {\n"
        '        try out.print("{s}: {s}\\n", .{ path, @errorName(err) });\n'
        "        continue;\n"
        "    };\n"
        "    const text = try file.readToEndAlloc(std.heap.page_allocator, 1 << 20);\n"
        '    try out.print("{s}: {s}\\n", .{ path, text });\n'
        "}"
    )


def programs(secret: Path, victim: Path, cache: Path, port: int) -> dict[str, dict[str, object]]:
    """name -> {code, mode, options?, compile_timeout_s?}: ordinary code, then hostile code."""
    hello = _program('try std.io.getStdOut().writer().writeAll("hello\\n");')
    return {
        # --- verdicts of ordinary code ---
        "hello": {"code": hello, "mode": "run"},
        "test_pass": {"code": STD + 'test "adds" {\n    try std.testing.expect(1 + 1 == 2);\n}\n', "mode": "test"},
        "test_fail": {"code": STD + 'test "wrong" {\n    try std.testing.expectEqual(3, 1 + 1);\n}\n', "mode": "test"},
        "test_panic": {
            "code": STD + 'test "overflow" {\n    var x: u8 = 255;\n    x += 1;\n    _ = &x;\n}\n',
            "mode": "test",
        },
        "compile_error": {"code": _program("undefined_name = 1;"), "mode": "run"},
        "needs_main": {"code": 'const x = 5;\nstd.debug.print("{}\\n", .{x});\n', "mode": "build-obj"},
        "runtime_error": {"code": _program("return error.Boom;"), "mode": "run"},
        # The jail's own words and exit status, printed by a program: still the program's failure.
        "forged_setup_failure": {
            "code": _program(
                'std.io.getStdErr().writeAll("zigtune-sandbox: cannot mount a tmpfs on /jail\\n") catch {};\n'
                "std.process.exit(125);"
            ),
            "mode": "run",
        },
        "forged_namespace_failure": {
            "code": _program(
                'std.io.getStdErr().writeAll("unshare: unshare failed: Operation not permitted\\n") catch {};\n'
                "std.process.exit(1);"
            ),
            "mode": "run",
        },
        "write_inside": {
            "code": _program(
                'const f = try std.fs.cwd().createFile("scratch.txt", .{});\ntry f.writeAll("ok");\nf.close();'
            ),
            "mode": "run",
        },
        "declarations_only": {"code": "pub fn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n", "mode": "build-obj"},
        "libc": {
            "code": 'const c = @cImport(@cInclude("stdio.h"));\n'
            'pub fn main() void {\n    _ = c.printf("hello libc\\n");\n}\n',
            "mode": "run",
            "options": {"link_libc": True},
        },
        # --- every declaration analysed ---
        "unreferenced_pub_error": {
            "code": 'pub fn add(a: i32, b: i32) i32 {\n    return a + b + "x";\n}\n',
            "mode": "build-obj",
        },
        "private_unused_error": {
            "code": STD + "fn copy() void {\n    std.mem.nonexistent();\n}\n" + hello[len(STD) :],
            "mode": "run",
        },
        "uncalled_by_tests": {
            "code": STD + 'pub fn half(x: u8) u8 {\n    return x / "2";\n}\ntest "nothing" {}\n',
            "mode": "test",
        },
        "nested_private_error": {
            "code": STD
            + "const S = struct {\n    const Inner = struct {\n"
            + '        fn f() u8 {\n            return "x";\n        }\n    };\n};\n'
            + hello[len(STD) :],
            "mode": "run",
        },
        "decoys": {
            "code": STD + '// fn commented() void { nope(); }\nconst text = "fn inString() void { nope(); }";\n'
            "const multiline =\n    \\\\fn inMultiline() void { nope(); }\n;\n"
            'fn @"odd name"() u8 {\n    return 1;\n}\nextern fn neverLinked() void;\n' + hello[len(STD) :],
            "mode": "run",
        },
        "generic_unanalysed": {
            "code": STD
            + 'fn twice(comptime T: type, x: T) T {\n    return x + "never checked";\n}\n'
            + hello[len(STD) :],
            "mode": "run",
        },
        # --- hostile code: limits ---
        "infinite_loop": {"code": _program("while (true) {}"), "mode": "run"},
        "fork_bomb": {"code": _program("while (true) {\n    _ = std.posix.fork() catch continue;\n}"), "mode": "run"},
        "allocate_10gb": {
            "code": _program("const m = try std.heap.page_allocator.alloc(u8, 10 << 30);\n@memset(m, 1);"),
            "mode": "run",
        },
        "print_100mb": {
            "code": _program(
                "const out = std.io.getStdOut().writer();\nvar i: usize = 0;\n"
                'while (i < 1_000_000) : (i += 1) try out.writeAll("x" ** 99 ++ "\\n");'
            ),
            "mode": "run",
        },
        "comptime_forever": {
            "code": "comptime {\n    @setEvalBranchQuota(4294967295);\n    var i: u64 = 0;\n"
            "    while (true) i +%= 1;\n}\npub fn main() void {}\n",
            "mode": "run",
            "compile_timeout_s": 8,
        },
        # --- hostile code: reaching the host ---
        "network": {
            "code": _program(
                f'const a = try std.net.Address.parseIp4("127.0.0.1", {port});\n'
                "const s = try std.net.tcpConnectToAddress(a);\ns.close();"
            ),
            "mode": "run",
        },
        "read_host_files": {
            "code": _try_paths(
                [str(secret), "/etc/passwd", "/etc/hostname", str(REPO / "README.md"), "/root", "/home"], "open"
            ),
            "mode": "run",
        },
        "read_relative": {
            "code": _try_paths(
                ["../../../../../../../../" + str(secret).lstrip("/"), "../../../etc/passwd"], "open_relative"
            ),
            "mode": "run",
        },
        "write_outside": {
            "code": _try_paths(
                [
                    f"{victim}/pwned",
                    "/etc/zigtune-pwned",
                    f"{cache}/zigtune-poison",
                    "/cache/zigtune-poison",
                    "/zig/zigtune-poison",
                    "/zigtune-pwned",
                ],
                "create",
            ),
            "mode": "run",
        },
        "list_root": {
            "code": _program(
                'var dir = try std.fs.openDirAbsolute("/", .{ .iterate = true });\ndefer dir.close();\n'
                "var it = dir.iterate();\nconst out = std.io.getStdOut().writer();\n"
                'while (try it.next()) |entry| try out.print("{s}\\n", .{entry.name});'
            ),
            "mode": "run",
        },
        "environ": {"code": _print_files(["/proc/self/environ", "/proc/1/environ", "/proc/1/cmdline"]), "mode": "run"},
        "symlink_out": {
            "code": _program(
                f'try std.fs.cwd().symLink("{secret}", "link", .{{}});\n'
                'try std.fs.cwd().symLink("/proc/1/root/etc/passwd", "link2", .{});\n'
                "const out = std.io.getStdOut().writer();\n"
                'for ([_][]const u8{ "link", "link2" }) |name| {\n'
                '    if (std.fs.cwd().openFile(name, .{})) |_| try out.print("{s}: opened\\n", .{name})\n'
                '    else |err| try out.print("{s}: {s}\\n", .{ name, @errorName(err) });\n}'
            ),
            "mode": "run",
        },
        "escape": {
            "code": _program(
                "const linux = std.os.linux;\nconst out = std.io.getStdOut().writer();\n"
                'try out.print("unshare {s}\\n", .{@tagName(linux.E.init(linux.unshare(linux.CLONE.NEWUSER)))});\n'
                'try out.print("chroot {s}\\n", .{@tagName(linux.E.init(linux.chroot("/tmp")))});\n'
                'try out.print("mount {s}\\n", .{@tagName(linux.E.init(linux.mount("none", "/work", "tmpfs", 0, 0)))});'
            ),
            "mode": "run",
        },
        "cimport_secret": {
            "code": f'const c = @cImport(@cInclude("{secret}"));\npub fn main() void {{\n    _ = c;\n}}\n',
            "mode": "run",
        },
        "cimport_secret_libc": {
            "code": f'const c = @cImport(@cInclude("{secret}"));\npub fn main() void {{\n    _ = c;\n}}\n',
            "mode": "run",
            "options": {"link_libc": True},
        },
        "cimport_etc": {
            "code": 'const c = @cImport(@cInclude("/etc/passwd"));\npub fn main() void {\n    _ = c;\n}\n',
            "mode": "build-obj",
        },
        "embed_absolute": {
            "code": STD
            + f'const s = @embedFile("{secret}");\n'
            + _program('std.debug.print("{s}", .{s});')[len(STD) :],
            "mode": "run",
        },
        "embed_relative": {
            "code": STD
            + f'const s = @embedFile("../../../../../../../..{secret}");\n'
            + _program('std.debug.print("{s}", .{s});')[len(STD) :],
            "mode": "run",
        },
    }


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
def victim() -> Path:
    """A host directory anyone may write to: only the sandbox keeps hostile code out of it."""
    directory = Path(tempfile.mkdtemp(prefix="zigtune-victim-"))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _unprivileged_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                UNPRIVILEGED_USER,
            ],
            check=True,
        )
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return entry.pw_uid, entry.pw_gid


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for directory, names, files in os.walk(path):
        for name in names + files:
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)


def _build_kit(kit: Path, warm_cache: Path, uid: int, gid: int) -> None:
    """What the unprivileged user runs: the engine's modules, the driver, ziglang, its own sandbox root."""
    import ziglang

    package = kit / "zigtune" / "validation"
    package.mkdir(parents=True)
    shutil.copy(REPO / "zigtune" / "__init__.py", kit / "zigtune")
    for name in ENGINE_FILES:
        shutil.copy(REPO / "zigtune" / "validation" / name, package)
    shutil.copy(REPO / "tests" / "sandbox_driver.py", kit)
    source = Path(ziglang.__file__).parent
    try:  # hard links: instant, and readable wherever the original lives
        shutil.copytree(source, kit / "ziglang", copy_function=os.link)
    except OSError:
        shutil.rmtree(kit / "ziglang", ignore_errors=True)
        shutil.copytree(source, kit / "ziglang")
    # Its own sandbox root and tools dir, seeded with the caller's warm compiler cache and lister.
    (kit / "sandbox").mkdir()
    shutil.copytree(warm_cache, kit / "sandbox" / "zig-cache", symlinks=True)
    lister = DeclarationLister()
    (kit / "tools").mkdir()
    if lister.binary.exists():
        shutil.copy(lister.binary, kit / "tools" / lister.binary.name)
    _chown_tree(kit / "sandbox", uid, gid)
    _chown_tree(kit / "tools", uid, gid)


def _run_unprivileged(spec: dict[str, object], warm_cache: Path) -> dict[str, dict[str, object]]:
    if not SYSTEM_PYTHON.exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: the unprivileged sandbox test needs a system python3")
    uid, gid = _unprivileged_user()
    kit = Path(tempfile.mkdtemp(prefix="zigtune-kit-"))
    kit.chmod(0o755)
    try:
        _build_kit(kit, warm_cache, uid, gid)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(kit / "sandbox"),
            "ZIGTUNE_TOOLS_DIR": str(kit / "tools"),
            "PYTHONDONTWRITEBYTECODE": "1",
            SECRET_ENV: os.environ[SECRET_ENV],  # the driver has the secret too; the engine must not pass it on
        }
        argv = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--init-groups",
            "--",
            str(SYSTEM_PYTHON),
            "sandbox_driver.py",
        ]
        spec = {**spec, "root": str(kit / "sandbox")}
        finished = subprocess.run(
            argv, input=json.dumps(spec), capture_output=True, text=True, env=env, cwd=kit, timeout=1500, check=False
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        return json.loads(finished.stdout)
    finally:
        shutil.rmtree(kit, ignore_errors=True)


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                continue
    return pids


@pytest.fixture(scope="module", params=IDENTITIES)
def checks(
    request, zig_sandbox_root: Path, listener: socket.socket, victim: Path, planted_secret
) -> dict[str, ExecResult]:
    """Every program's result, checked as ``request.param``: the test process's user, or an unprivileged one."""
    secret, _ = planted_secret
    engine = LocalZigEngine(zig_sandbox_root)
    batch = programs(secret, victim, engine.cache_dir, listener.getsockname()[1])
    if request.param == "caller":
        # A uid of this session's own: other runs on this machine (as root) use the engine's default uid.
        sandbox_uid = SESSION_UID if os.geteuid() == 0 else None
        answers = asyncio.run(check_programs(zig_sandbox_root, batch, sandbox_uid))
    else:
        answers = _run_unprivileged({"programs": batch}, engine.cache_dir)
        sandbox_uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    if sandbox_uid is not None:
        assert _processes_of(sandbox_uid) == []  # nothing outlived its jail
    return {name: ExecResult.from_dict(answer) for name, answer in answers.items()}


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
        ("runtime_error", Verdict.RUNTIME_ERROR),
        ("forged_setup_failure", Verdict.RUNTIME_ERROR),
        ("forged_namespace_failure", Verdict.RUNTIME_ERROR),
        ("write_inside", Verdict.OK),
        ("libc", Verdict.OK),
    ],
)
def test_verdicts_of_ordinary_code(checks: dict, name: str, verdict: Verdict) -> None:
    result = checks[name]
    assert result.verdict is verdict, result.stderr[:500]
    assert result.zig_version == "0.14.0"
    assert result.engine == "local"


def test_output_and_compiler_words_are_kept(checks: dict) -> None:
    assert checks["hello"].stdout == "hello\n" and checks["hello"].exit_code == 0
    assert "use of undeclared identifier 'undefined_name'" in checks["compile_error"].stderr
    assert "expected 3, found 2" in checks["test_fail"].stderr
    assert "integer overflow" in checks["test_panic"].stderr
    assert "error: Boom" in checks["runtime_error"].stderr and checks["runtime_error"].exit_code == 1
    assert checks["libc"].stdout == "hello libc\n"  # link_libc honoured: a static musl binary
    assert checks["hello"].compile_ms > 0 and checks["hello"].run_ms > 0
    forged = checks["forged_setup_failure"]  # kept as the program wrote it, exit status included
    assert forged.exit_code == 125 and forged.stderr == "zigtune-sandbox: cannot mount a tmpfs on /jail\n"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("unreferenced_pub_error", "incompatible types: 'i32'"),
        ("private_unused_error", "has no member named 'nonexistent'"),
        ("uncalled_by_tests", "incompatible types: 'u8'"),
        ("nested_private_error", "expected type 'u8'"),
    ],
)
def test_every_declaration_is_analysed(checks: dict, name: str, words: str) -> None:
    """A broken function nothing calls is a compile error (Zig alone would compile it without a word)."""
    assert checks[name].verdict is Verdict.COMPILE_ERROR
    assert words in checks[name].stderr


def test_strings_comments_and_extern_declarations_do_not_confuse_the_analysis(checks: dict) -> None:
    assert checks["decoys"].verdict is Verdict.OK, checks["decoys"].stderr[:500]
    assert checks["decoys"].stdout == "hello\n"


def test_generic_functions_are_not_analysed_without_a_call(checks: dict) -> None:
    """The documented limit: a generic function is only analysed for the arguments it is called with."""
    assert checks["generic_unanalysed"].verdict is Verdict.OK


def test_infinite_loop_times_out(checks: dict) -> None:
    assert checks["infinite_loop"].verdict is Verdict.TIMEOUT


def test_fork_bomb_is_contained(checks: dict) -> None:
    assert checks["fork_bomb"].verdict is Verdict.TIMEOUT


def test_endless_comptime_loop_hits_the_compile_timeout(checks: dict) -> None:
    result = checks["comptime_forever"]
    assert result.verdict is Verdict.TIMEOUT
    assert result.compile_ms < 60_000


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


def _outcomes(result: ExecResult) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_host_files_do_not_exist_inside(checks: dict, planted_secret) -> None:
    secret, _ = planted_secret
    outcomes = _outcomes(checks["read_host_files"])
    assert set(outcomes.values()) == {"FileNotFound"}, outcomes
    assert str(secret) in outcomes and str(REPO / "README.md") in outcomes
    assert set(_outcomes(checks["read_relative"]).values()) == {"FileNotFound"}


def test_the_jail_root_holds_only_what_the_program_needs(checks: dict) -> None:
    assert sorted(checks["list_root"].stdout.split()) == ["dev", "proc", "tmp", "work"]


def test_writing_outside_fails_and_leaves_no_file(checks: dict, victim: Path, zig_sandbox_root: Path) -> None:
    outcomes = _outcomes(checks["write_outside"])
    assert len(outcomes) == 6 and not any(outcome.startswith("opened") for outcome in outcomes.values()), outcomes
    # The jail's root is a read-only tmpfs (EROFS, which Zig 0.14 reports as Unexpected); the rest is not there.
    assert outcomes.pop("/zigtune-pwned") in {"ReadOnlyFileSystem", "Unexpected"}
    assert set(outcomes.values()) == {"FileNotFound"}, outcomes
    assert list(victim.iterdir()) == []
    assert not Path("/etc/zigtune-pwned").exists()
    assert not any("zigtune-poison" in path.name for path in zig_sandbox_root.rglob("*"))


def test_no_way_back_out(checks: dict) -> None:
    assert checks["escape"].stdout.splitlines() == ["unshare PERM", "chroot PERM", "mount PERM"]
    outcomes = _outcomes(checks["symlink_out"])
    assert outcomes == {"link": "FileNotFound", "link2": "FileNotFound"}


def test_environment_holds_nothing_of_the_host(checks: dict) -> None:
    text = checks["environ"].stdout
    own = next(line for line in text.splitlines() if line.startswith("/proc/self/environ: "))
    assert own.split(": ", 1)[1].split("\0")[:3] == ["PATH=/bin", "HOME=/tmp", "LANG=C.UTF-8"]


@pytest.mark.parametrize(
    "name", ["cimport_secret", "cimport_secret_libc", "cimport_etc", "embed_absolute", "embed_relative"]
)
def test_the_compiler_cannot_read_host_files(checks: dict, name: str) -> None:
    result = checks[name]
    assert result.verdict is Verdict.COMPILE_ERROR, result.stderr[:500]
    assert "file not found" in result.stderr or "outside package path" in result.stderr
    assert "root:x:0:0" not in result.stdout + result.stderr  # no line of /etc/passwd


def test_the_planted_secret_is_in_no_output(checks: dict, planted_secret) -> None:
    secret, value = planted_secret
    everything = json.dumps([result.to_dict() for result in checks.values()])
    assert value not in everything
    assert secret.read_text(encoding="utf-8").strip() == value  # the secret was there to be read


def test_the_cache_still_works_after_the_hostile_batch(zig_sandbox_root: Path) -> None:
    hello = _program('try std.io.getStdOut().writer().writeAll("still fine\\n");')
    result = asyncio.run(LocalZigEngine(zig_sandbox_root).execute(hello, "run"))
    assert (result.verdict, result.stdout) == (Verdict.OK, "still fine\n")


def test_a_symlink_planted_in_the_snippet_directory_leads_nowhere(zig_sandbox_root: Path, planted_secret) -> None:
    """The compile jail resolves links inside itself: a link to a host file finds nothing there."""
    secret, value = planted_secret
    engine = LocalZigEngine(zig_sandbox_root)
    engine.preflight()
    workdir = Path(tempfile.mkdtemp(dir=engine.runs_dir()))
    try:
        (workdir / "src").mkdir()
        (workdir / "jail").mkdir()
        (workdir / "src" / "main.zig").write_text('pub const s = @embedFile("planted.txt");\ncomptime { _ = s; }\n')
        (workdir / "src" / "planted.txt").symlink_to(secret)
        command = engine.compile_command("build-obj", BuildOptions(), "main.zig")
        finished = asyncio.run(
            run_limited(
                jail_argv(engine.compile_jail(workdir), command, engine.compile_rlimits()),
                cwd=workdir,
                env={"PATH": "/usr/bin:/bin"},
                timeout_s=240,
                output_bytes=64 * 1024,
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert finished.exit_code != 0 and JAIL_MARKER not in finished.stderr
    assert "FileNotFound" in finished.stderr or "unable to open" in finished.stderr, finished.stderr
    assert value not in finished.stdout + finished.stderr


def test_foreign_targets_are_built_not_run(zig_sandbox_root: Path) -> None:
    engine = LocalZigEngine(zig_sandbox_root)
    code = _program('try std.io.getStdOut().writer().writeAll("hi\\n");')
    result = asyncio.run(engine.execute(code, "run", BuildOptions.from_annotation("target=wasm32-wasi")))
    assert result.verdict is Verdict.OK
    assert result.stdout == "" and result.run_ms == 0


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


def test_switched_off_user_namespaces_are_one_line_naming_the_setting(tmp_path: Path) -> None:
    """In a namespace whose ``user.max_user_namespaces`` is 0, as some distributions set it, the
    preflight fails with one line that names the sysctl and the remote engine."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom zigtune.validation.sandbox import LocalZigEngine, SandboxError\n"
        "try:\n    LocalZigEngine(Path(sys.argv[1])).preflight()\nexcept SandboxError as error:\n"
        "    print(error)\n    sys.exit(3)\n"
    )
    shell = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"'
    finished = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c", shell, sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert finished.returncode == 3, finished.stderr[-2000:]
    message = finished.stdout.strip()
    assert "\n" not in message
    assert "user.max_user_namespaces" in message and "ZIGTUNE_ZIG_ENGINE=codapi" in message


def test_the_jail_reports_its_own_failure_through_its_status_file(zig_sandbox_root: Path) -> None:
    """A jail that cannot be built says why in its status file (a host file the program never sees): a
    ``sandbox_error`` with that reason. A program that started is never one, whatever it prints."""
    engine = LocalZigEngine(zig_sandbox_root)
    engine.preflight()
    workdir = engine.new_workdir()
    version = ["/zig/zig", "version"]
    try:  # no snippet directory to bind: the setup fails before anything runs
        (workdir / "src").rmdir()
        failed = asyncio.run(engine._jailed(engine.compile_jail(workdir), version, engine.compile_rlimits(), 60, 4096))
        assert failed.exit_code == 125
        assert failed.setup_problem is not None and failed.setup_problem.startswith(f"{JAIL_MARKER} cannot bind /work")
        (workdir / "src").mkdir()
        ran = asyncio.run(engine._jailed(engine.compile_jail(workdir), version, engine.compile_rlimits(), 60, 4096))
        assert ran.exit_code == 0 and ran.setup_problem is None and ran.stdout == "0.14.0\n"
        assert not [path.name for path in workdir.iterdir() if path.name.startswith("status-")]  # cleaned up
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    status = zig_sandbox_root / "status-for-test"
    status.write_text("ready\n")
    assert jail_outcome(status, f"{JAIL_MARKER} cannot mount a tmpfs\nunshare: failed\n") is None
    status.write_text("cannot mount a /proc for the jail\n")
    assert jail_outcome(status, "mount: /x/proc: permission denied.\n") == (
        f"{JAIL_MARKER} cannot mount a /proc for the jail (mount: /x/proc: permission denied.)"
    )
    status.write_text("")  # never written: unshare failed before the setup ran
    assert "ZIGTUNE_ZIG_ENGINE=codapi" in jail_outcome(status, "unshare: unshare failed: Operation not permitted\n")


def test_the_jails_own_failures_are_one_line_apart_from_the_programs() -> None:
    mount_said = "mount: /x/proc: permission denied.\n       dmesg(1) may have more information.\n"
    assert setup_failure(125, mount_said + f"{JAIL_MARKER} cannot mount a /proc for the jail\n") == (
        f"{JAIL_MARKER} cannot mount a /proc for the jail (mount: /x/proc: permission denied.)"
    )
    assert "ZIGTUNE_ZIG_ENGINE=codapi" in setup_failure(1, "unshare: unshare failed: Operation not permitted\n")
    assert setup_failure(1, "error: Boom\n") is None  # the program's own failure
    assert setup_failure(125, "exit status 125 without the marker\n") is None

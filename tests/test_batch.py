"""The fast checking strategy: its plain logic, and its verdicts against the plain strategy's with the real Zig.

The real-compiler tests check one mixed batch (each snippet's verdict must be its own: a failing
snippet is never hidden by the ones that pass beside it) and a seeded sample of the corpus of
``tests/snippet_corpus.py`` with both strategies (identical verdicts). The whole corpus is compared by
``benchmarks/bench_validation.py``.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.snippet_corpus import BACKEND_GAP, FAULTS, break_code, corpus
from zigtune.validation.batch import MAX_BATCH, Progress, backend_may_matter, batch_size, check_jobs
from zigtune.validation.batch_layout import (
    BatchJob,
    BatchMember,
    RunnerPatchError,
    attribute_errors,
    batch_compile,
    batches_of,
    compile_args,
    error_blocks,
    exported_names,
    likely_owner,
    names_may_matter,
    patch_test_runner,
    plain_reason,
    plain_run_output,
    runner_line_map,
    without_comments,
)
from zigtune.validation.checking import analysable_codes
from zigtune.validation.sandbox import DEFAULT_TARGET, BuildOptions, Finished, LocalZigEngine, zig_binary
from zigtune.validation.verdicts import Verdict

STD = 'const std = @import("std");\n'
NONCE = "0a1b2c3d"


def _members(count: int, file_name: str = "main.zig") -> list[BatchMember]:
    return [BatchMember(f"s{index}_{NONCE}", file_name) for index in range(count)]


# --- which snippets may share a compile ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "mode", "options", "reason"),
    [
        (STD + 'test "a" {}\n', "test", BuildOptions(), None),
        (STD + 'test "a" {}\n', "test", BuildOptions(file_name="named.zig"), None),
        (STD + 'test "a" {}\n', "test", BuildOptions(link_libc=True), "build options"),
        (STD + 'test "a" {}\n', "test", BuildOptions(target="wasm32-wasi"), "build options"),
        (
            'const t = @import("t.zig");\ntest {}\n',
            "test",
            BuildOptions(extra_files=(("t.zig", "pub const a = 1;\n"),)),
            "files beside the root",
        ),
        ("pub fn main() void {}\n", "ast-check", BuildOptions(), "mode ast-check"),
        ('const c = @cImport(@cInclude("stdio.h"));\n', "build-obj", BuildOptions(), "@cImport"),
        ("const S = extern struct { a: u8 };\ntest {}\n", "test", BuildOptions(), None),
        ('extern "c" fn puts(s: [*:0]const u8) c_int;\n', "build-obj", BuildOptions(), 'extern "" fn'),
        ("export fn add(a: i32) i32 { return a; }\n", "build-obj", BuildOptions(), None),
        ("pub export fn main() void {}\n", "build-obj", BuildOptions(), "export fn main"),
        ("// extern fn f() void; asm and @cImport in a comment\ntest {}\n", "test", BuildOptions(), None),
        ('const s = "@cImport // extern fn";\ntest {}\n', "test", BuildOptions(), None),
        ('const other = @import("other.zig");\n', "build-obj", BuildOptions(), '@import("other.zig")'),
        ('const b = @import("builtin");\ntest {}\n', "test", BuildOptions(), None),
        ("pub const std_options = .{};\npub fn main() void {}\n", "run", BuildOptions(), "pub const std_options"),
        ("pub fn panic() noreturn {}\n", "build-obj", BuildOptions(), "pub fn panic"),
        ("test { _ = @src(); }\n", "test", BuildOptions(), "@src"),
        ("test { _ = @intFromError(error.A); }\n", "test", BuildOptions(), "@intFromError"),
        ('test { asm volatile ("nop"); }\n', "test", BuildOptions(), "asm"),
    ],
)
def test_plain_reason(code: str, mode: str, options: BuildOptions, reason: str | None) -> None:
    assert plain_reason(BatchJob(code, mode, options)) == reason


def test_comments_and_strings_do_not_count_as_code() -> None:
    code = 'const url = "http://x"; // export fn a() void {}\nconst q = \'"\'; export fn b() void {}\n'
    assert without_comments(code) == 'const url = ""; \nconst q = \'"\'; export fn b() void {}\n'
    assert exported_names(code) == {"b"}
    assert exported_names('export fn @"A name."() void {}\n') == {'@"A name."'}


def test_batches_keep_exported_names_apart_and_respect_the_size() -> None:
    exports = {0: {"add"}, 1: {"add"}, 2: set(), 3: {"sub"}, 4: {"add", "sub"}}
    assert batches_of([0, 1, 2, 3, 4], 3, exports) == [[0, 2, 3], [1], [4]]
    assert batches_of(list(range(5)), 2, {}) == [[0, 1], [2, 3], [4]]
    assert batch_size(128, 2) == MAX_BATCH and batch_size(1000, 2) == 63 and batch_size(260, 2) == 52
    assert batch_size(10, 2) == 5 and batch_size(0, 2) == 1


def test_names_may_matter() -> None:
    assert names_may_matter('test { try expect(std.mem.eql(u8, @typeName(P), "main.P")); }', "main.zig")
    assert names_may_matter('test { try expectFmt("x", "{}", .{p}); }', "main.zig")
    assert names_may_matter('test { _ = "{any}"; }', "main.zig")
    assert names_may_matter('test { _ = "named.P"; }', "named.zig")
    assert not names_may_matter('test { std.debug.print("{d} {s}\\n", .{ 1, "x" }); }', "main.zig")


def test_which_run_endings_are_checked_again_with_llvm() -> None:
    """A panic is the code's whichever backend built it: the self-hosted static binary that printed its
    panic and whole trace and then segfaulted (as Zig 0.14.0's does) too. A bare segfault, one that names
    itself (a stack overflow: larger frames), a timeout or another signal may be the backend's."""
    panic = "1/1 s3_ab.main.test.oob...thread 7 panic: index out of bounds: index 5, len 3\n/w/main.zig:6:6: 0x1\n"
    overflow = "Segmentation fault at address 0x7ffd1\n/w/main.zig:2:5: 0x1 in recurse\n"
    ended = {
        "abort": (Verdict.RUNTIME_ERROR, Finished(-6, "", panic)),
        "panic then segfault": (Verdict.RUNTIME_ERROR, Finished(-11, "", panic)),
        "error return": (Verdict.RUNTIME_ERROR, Finished(1, "", "error: NotFound\n")),
        "failed test": (Verdict.TEST_FAILURE, Finished(1, "", "1 passed; 1 failed.\n")),
    }
    again = {
        "stack overflow": (Verdict.RUNTIME_ERROR, Finished(-11, "", overflow)),
        "panic and overflow": (Verdict.RUNTIME_ERROR, Finished(-11, "", panic + overflow)),
        "bare segfault": (Verdict.RUNTIME_ERROR, Finished(-11, "", "")),
        "illegal instruction after a panic": (Verdict.RUNTIME_ERROR, Finished(-4, "", panic)),
        "timeout": (Verdict.TIMEOUT, Finished(-9, "", panic, timed_out=True)),
        "killed": (Verdict.KILLED, Finished(-9, "", "")),
    }
    assert [name for name, (verdict, ran) in ended.items() if backend_may_matter(verdict, ran)] == []
    assert [name for name, (verdict, ran) in again.items() if not backend_may_matter(verdict, ran)] == []


# --- the files of one compile, and whose error is whose ---------------------------------------------


def test_roots_give_each_member_its_lines() -> None:
    members = _members(3)
    test_root = batch_compile("test", members, [0, 2], "root.zig")
    assert test_root.root_text.splitlines() == [
        f'comptime {{ _ = @import("s0_{NONCE}/main.zig"); }}',
        f'comptime {{ _ = @import("s2_{NONCE}/main.zig"); }}',
    ]
    assert test_root.line_owner == {1: 0, 2: 2}
    run_root = batch_compile("run", members, [1, 2], "root.zig")
    lines = run_root.root_text.splitlines()
    assert {lines[line - 1].strip() for line in run_root.line_owner} == {
        f'1 => return zigtuneCallMain(@import("s1_{NONCE}")),',
        f'2 => return zigtuneCallMain(@import("s2_{NONCE}")),',
    }
    args = compile_args(run_root, members, [1, 2], "out", "runner.zig")
    assert args[:7] == ["build-exe", "-target", DEFAULT_TARGET, "--dep", f"s1_{NONCE}", "--dep", f"s2_{NONCE}"]
    assert args[7:] == [
        "-Mroot=root.zig",
        f"-Ms1_{NONCE}=s1_{NONCE}/main.zig",
        f"-Ms2_{NONCE}=s2_{NONCE}/main.zig",
        "-femit-bin=out",
        "-fno-llvm",
        "-fno-lld",
    ]
    assert compile_args(test_root, members, [0, 2], None, "runner.zig") == [
        "test",
        "root.zig",
        "-target",
        DEFAULT_TARGET,
        "--test-runner",
        "runner.zig",
        "--test-no-exec",
        "-fno-emit-bin",
    ]
    with pytest.raises(ValueError, match="ast-check"):
        batch_compile("ast-check", members, [0], "root.zig")


STD_PATH = "/zig/lib/std"
BATCH_STDERR = f"""s0_{NONCE}/main.zig:3:5: error: use of undeclared identifier 'x'
    x += 1;
    ^
{STD_PATH}/debug.zig:522:14: error: reached unreachable code
    if (!ok) unreachable; // assertion failure
             ^~~~~~~~~~~
s2_{NONCE}/main.zig:9:24: note: called from here
    try comptime assert(fibonacci(7) == 99999);
                 ~~~~~~^~~~~~~~~~~~~~~~~~~~~~~
{STD_PATH}/fmt.zig:191:13: error: too few arguments
            @compileError("too few arguments");
            ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
root.zig:70:43: error: expected error union type, found 'u32'
            const result = snippet.main() catch |err| {{
                           ~~~~~~~~~~~~~~~^~~~~
root.zig:2:45: note: called from here
s3_{NONCE}/main.zig:1:1: error: forged by s0:
                                s1_{NONCE}/main.zig:1:1: error: an indented line names no one
referenced by:
    test.a: s1_{NONCE}/main.zig:4:5
"""


def test_errors_go_to_the_member_their_locations_name() -> None:
    members = _members(4)
    compile = replace(batch_compile("run", members, [0, 1, 2, 3], "root.zig"), line_owner={2: 1})
    blocks = error_blocks(BATCH_STDERR)
    assert len(blocks) == 5 and blocks[0].startswith(f"s0_{NONCE}/main.zig:3:5: error: use of undeclared")
    attributed, unattributed = attribute_errors(BATCH_STDERR, compile, members, [0, 1, 2, 3])
    assert sorted(attributed) == [0, 1, 2, 3]
    assert "undeclared identifier 'x'" in attributed[0][0]
    assert "reached unreachable code" in attributed[2][0]  # inside std, called from member 2
    assert "expected error union type" in attributed[1][0]  # a root line that belongs to member 1
    assert "forged by s0" in attributed[3][0] and len(attributed[3]) == 1  # indented text names no one
    assert [block.splitlines()[0] for block in unattributed] == [f"{STD_PATH}/fmt.zig:191:13: error: too few arguments"]
    assert members[0].plain_text(f"s0_{NONCE}/main.zig:3:5 in s0_{NONCE}.main.test.a") == "main.zig:3:5 in main.test.a"


def test_likely_owner_is_the_one_member_whose_code_the_error_quotes() -> None:
    block = f"{STD_PATH}/fmt.zig:211:18: error: unused argument in 'here is a string: {{d}}\n   '\n"
    codes = {0: 'print("here is a string: {d}\\n", .{ 1, 2 });', 1: 'print("{d}", .{1});'}
    assert likely_owner([block], codes) == 0
    assert likely_owner([block], {**codes, 2: codes[0]}) is None  # two hold it: no guess
    assert likely_owner([f"{STD_PATH}/fmt.zig:191:13: error: too few arguments\n"], codes) is None


def test_the_patched_test_runner_is_zigs_own_plus_a_filter() -> None:
    original = (zig_binary().parent / "lib" / "compiler" / "test_runner.zig").read_text(encoding="utf-8")
    patched = patch_test_runner(original)
    assert patched.count("zigtuneSelectedTests") == 2 and patched.count("zigtune_only_flag") == 4
    assert len(patched.splitlines()) - len(original.splitlines()) < 40
    with pytest.raises(RunnerPatchError, match=r"Zig 0\.14\.0"):
        patch_test_runner("pub fn main() void {}\n")


def test_progress_logs_about_every_tenth_with_rate_and_eta() -> None:
    lines: list[str] = []
    progress = Progress(25, lines.append)
    for _ in range(25):
        progress.advance()
    assert len(lines) == 9  # every 3 of 25 (10 %, rounded up), and the end
    assert lines[0].startswith("checked 3/25 (12%) in ") and "snippets/min, ETA " in lines[0]
    assert lines[-1].startswith("checked 25/25 (100%)")
    Progress(5, None).advance(5)  # no log, no error


def test_an_unknown_strategy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown strategy 'quick'"):
        asyncio.run(check_jobs(LocalZigEngine(tmp_path), [], strategy="quick"))


# --- with the real compiler -------------------------------------------------------------------------

#: Both strategies compile everything in these tests: with a cold compiler cache on two busy cores, minutes.
#: The code is compiled as check_codes compiles it: with every declaration referenced.


def _analysable(jobs: list[BatchJob]) -> list[BatchJob]:
    compiled = asyncio.run(analysable_codes([job.code for job in jobs if job.mode != "ast-check"]))
    return [replace(job, code=compiled.get(job.code, job.code)) for job in jobs]


def _test(body: str, name: str = "t") -> str:
    return STD + f'test "{name}" {{\n{body}\n}}\n'


MIXED = {
    "passes": (_test("try std.testing.expect(1 + 1 == 2);"), "test"),
    "fails": (_test("try std.testing.expectEqual(3, 1 + 1);"), "test"),
    "panics": (_test("var x: u8 = 255;\n_ = &x;\nx += 1;"), "test"),
    "leaks": (_test("_ = try std.testing.allocator.alloc(u8, 8);"), "test"),
    "logs_an_error": (_test('std.log.err("bad", .{});'), "test"),
    "passes_too": (_test("try std.testing.expect(true);", "same name"), "test"),
    "passes_three": (_test("try std.testing.expect(true);", "same name"), "test"),
    "undeclared": (_test("x += 1;"), "test"),
    "sema_error": (_test("const y: u8 = 300;\n_ = y;"), "test"),
    "format_error": (_test('std.debug.print("{s}\\n", .{});'), "test"),
    "backend_gap": (STD + BACKEND_GAP, "test"),
    "prints_names": (
        STD
        + "const Point = struct { x: i32 };\npub fn main() !void {\n"
        + '    try std.io.getStdOut().writer().print("{} {s} {d}\\n", .{ Point{ .x = 1 }, @typeName(Point), '
        + "std.os.argv.len });\n}\n",
        "run",
    ),
    "anonymous_type": (
        STD + 'pub fn main() void {\n    std.debug.print("{s}\\n", .{@typeName(struct { x: i32 })});\n}\n',
        "run",
    ),
    "returns_an_error": (STD + "pub fn main() !void {\n    return error.Boom;\n}\n", "run"),
    "exit_code": (STD + "pub fn main() u8 {\n    return 3;\n}\n", "run"),
    "bad_main": (STD + "pub fn main() u32 {\n    return 0;\n}\n", "run"),
    "writes_outside": (
        STD + 'pub fn main() !void {\n    _ = try std.fs.cwd().createFile("/var/zigtune-victim", .{});\n}\n',
        "run",
    ),
    "declarations": ("pub fn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n", "build-obj"),
    "bad_declaration": ('pub fn add(a: i32, b: i32) i32 {\n    return a + b + "x";\n}\n', "build-obj"),
}
EXPECTED = {
    "passes": Verdict.OK,
    "fails": Verdict.TEST_FAILURE,
    "panics": Verdict.RUNTIME_ERROR,
    "leaks": Verdict.TEST_FAILURE,
    "logs_an_error": Verdict.TEST_FAILURE,
    "passes_too": Verdict.OK,
    "passes_three": Verdict.OK,
    "undeclared": Verdict.COMPILE_ERROR,
    "sema_error": Verdict.COMPILE_ERROR,
    "format_error": Verdict.COMPILE_ERROR,
    "backend_gap": Verdict.OK,
    "prints_names": Verdict.OK,
    "anonymous_type": Verdict.OK,
    "returns_an_error": Verdict.RUNTIME_ERROR,
    "exit_code": Verdict.RUNTIME_ERROR,
    "bad_main": Verdict.COMPILE_ERROR,
    "writes_outside": Verdict.RUNTIME_ERROR,
    "declarations": Verdict.OK,
    "bad_declaration": Verdict.COMPILE_ERROR,
}


@pytest.fixture(scope="module")
def mixed(zig_sandbox_root: Path) -> dict[str, object]:
    engine = LocalZigEngine(zig_sandbox_root)
    jobs = _analysable([BatchJob(code, mode) for code, mode in MIXED.values()])
    lines: list[str] = []
    fast = asyncio.run(check_jobs(engine, jobs, strategy="fast", log=lines.append))
    plain = asyncio.run(check_jobs(engine, jobs, strategy="plain"))
    return {"fast": dict(zip(MIXED, fast, strict=True)), "plain": dict(zip(MIXED, plain, strict=True)), "log": lines}


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_each_snippet_of_a_batch_gets_its_own_verdict(mixed: dict) -> None:
    assert {name: result.verdict for name, result in mixed["fast"].items()} == EXPECTED
    assert {name: result.verdict for name, result in mixed["plain"].items()} == EXPECTED
    assert not Path("/var/zigtune-victim").exists()


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_a_batched_snippet_reads_like_a_plain_check(mixed: dict) -> None:
    fast, plain = mixed["fast"], mixed["plain"]
    # programs are modules: type names, argv (the selector is hidden) and output are a plain run's
    assert fast["prints_names"].stdout == plain["prints_names"].stdout == "main.Point{ .x = 1 } main.Point 1\n"
    # the test runner prints the plain test names, and each snippet's summary is its own
    first_lines = "1/1 main.test.t...expected 3, found 2\nFAIL (TestExpectedEqual)\n"
    assert fast["fails"].stderr.startswith(first_lines) and plain["fails"].stderr.startswith(first_lines)
    assert "0 passed; 0 skipped; 1 failed." in fast["fails"].stderr
    assert "1 tests leaked memory" in fast["leaks"].stderr and "1 errors were logged" in fast["logs_an_error"].stderr
    assert "All 1 tests passed." in fast["passes_too"].stderr
    assert "integer overflow" in fast["panics"].stderr
    # compile errors are the snippet's own, worded with its own file name
    assert fast["undeclared"].stderr.startswith("main.zig:3:1: error: use of undeclared identifier 'x'")
    assert NONCE not in fast["undeclared"].stderr and "s7_" not in fast["undeclared"].stderr
    assert "too few arguments" in fast["format_error"].stderr
    assert "expected return type of main to be" in fast["bad_main"].stderr
    assert "error: Boom" in fast["returns_an_error"].stderr
    assert mixed["log"][-1].startswith(f"checked {len(MIXED)}/{len(MIXED)} (100%)")


def comparable(output: str) -> str:
    """Output with what differs between two binaries taken out (see ``plain_run_output``): addresses (of frames,
    and of a leaked allocation, which differs between any two runs), ``__anon_N`` numbers and LLVM's last ``???``
    frame."""
    output = re.sub(r"\b0x[0-9a-f]+\b", "0x?", output)
    output = re.sub(r"__anon_\d+", "__anon_N", output)
    return output.replace("???:?:?: 0x? in ??? (???)\n", "")


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_the_stored_output_does_not_depend_on_the_strategy(mixed: dict) -> None:
    fast, plain = mixed["fast"], mixed["plain"]
    differ = {
        name: (fast[name].stderr, plain[name].stderr)
        for name in MIXED
        if comparable(fast[name].stderr) != comparable(plain[name].stderr) or fast[name].stdout != plain[name].stdout
    }
    assert not differ
    assert "Unwind error" not in fast["panics"].stderr and "root_" not in fast["bad_main"].stderr
    assert "x += 1;\n  ^\n" in fast["panics"].stderr  # the source line under its frame, as a plain run prints it


def test_a_batched_trace_is_worded_as_a_plain_runs() -> None:
    member = BatchMember(f"s0_{NONCE}", "main.zig")
    code = STD + 'test "t" {\nvar x: u8 = 255;\n_ = &x;\nx += 1;\n}\n'
    runner = f"runner_{NONCE}.zig"
    fast = (
        "1/1 main.test.t...thread 1 panic: integer overflow\n"
        "Unwind error at address `exe:0x10683e7` (error.AddressOutOfRange), trace may be incomplete\n\n"
        f"/work/s0_{NONCE}/main.zig:5:3: 0x11bdc60 in test.t (root_{NONCE}_2.zig)\n"
        f"/work/{runner}:215:25: 0x11770b8 in mainTerminal ({runner})\n"
        "/zig/lib/std/start.zig:647:22: 0x1166e04 in posixCallMainAndExit (std.zig)\n"
    )
    lines = {215: 214}
    assert plain_run_output(fast, member, "test", code, runner, lines) == (
        "1/1 main.test.t...thread 1 panic: integer overflow\n"
        "/work/main.zig:5:3: 0x11bdc60 in test.t (test)\n"
        "x += 1;\n"
        "  ^\n"
        "/zig/lib/compiler/test_runner.zig:214:25: 0x11770b8 in mainTerminal (test)\n"
        "/zig/lib/std/start.zig:647:22: 0x1166e04 in posixCallMainAndExit (test)\n"
    )
    program = f"/work/s0_{NONCE}/main.zig:3:5: 0x1150db3 in main (main.zig)\n"
    assert plain_run_output(
        program, member, "run", STD + "pub fn main() !void {\n    return error.Boom;\n}\n", runner, {}
    ) == ("/work/main.zig:3:5: 0x1150db3 in main (main)\n    return error.Boom;\n    ^\n")
    original = "a\nb\nc\nd\n"
    assert runner_line_map(original, "a\nb\ninserted\nc\nd\n") == {1: 1, 2: 2, 4: 3, 5: 4}


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_fast_and_plain_agree_on_a_sample_of_the_corpus(zig_sandbox_root: Path) -> None:
    rng = random.Random(19)
    snippets = [s for s in corpus() if s.fault != "infinite_loop"]  # a timeout costs 10 s in each strategy
    faults = sorted({snippet.fault for snippet in snippets})
    sample = [rng.choice([s for s in snippets if s.fault == fault]) for fault in faults]
    sample += rng.sample([s for s in snippets if s.fault == "none"], 3)
    assert len(faults) >= 12  # the dataset's code and every kind of breakage
    engine = LocalZigEngine(zig_sandbox_root)
    jobs = _analysable([BatchJob(snippet.code, snippet.mode) for snippet in sample])
    fast = asyncio.run(check_jobs(engine, jobs, strategy="fast"))
    plain = asyncio.run(check_jobs(engine, jobs, strategy="plain"))
    differ = {
        s.name: (f.verdict.value, p.verdict.value)
        for s, f, p in zip(sample, fast, plain, strict=True)
        if f.verdict != p.verdict
    }
    assert not differ
    assert len({result.verdict for result in plain}) >= 4


def test_every_fault_of_the_corpus_fits_some_code() -> None:
    code = STD + 'test "a" {\n    try std.testing.expect(true);\n}\n'
    for fault in FAULTS:
        broken = break_code(code, fault)
        assert broken is not None and broken != code and 'test "a" {\n    ' in broken
    assert break_code(code, "bad_declaration") is None  # only for declarations

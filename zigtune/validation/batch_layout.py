"""How many snippets share one compile: which may, the files and flags of that compile, and whose error is whose.

Pure logic for :mod:`zigtune.validation.batch` (no processes, no dagster). A batch holds snippets of one
mode; snippet ``n`` lives in its own directory ``s<n>_<nonce>/`` under its own file name, so nothing of it
collides with another snippet, and the random nonce means a snippet cannot name another one in the
compiler's output:

- **test**: the snippets are files of one ``zig test`` root (tests are only collected from the root
  module), built with a copy of Zig's own test runner that runs only the tests whose name starts with
  ``--zigtune-only=PREFIX`` (see :func:`patch_test_runner`);
- **run**: each snippet is a module (so ``@typeName`` and ``@src().file`` say what a plain build says); one
  program calls the ``main`` of the snippet chosen by ``--zigtune-main=N``, the way ``std.start`` does;
- **build-obj**: each snippet is a module one object imports, so what a plain ``build-obj`` of the file
  analyses (its ``comptime`` blocks and exports, among them the block that references every declaration,
  appended by :mod:`zigtune.validation.declarations` before either strategy sees the code) is analysed.

Both flags are taken out of ``std.os.argv`` before the snippet's code runs, so it sees the arguments of a
plain run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from zigtune.validation.sandbox import DEFAULT_TARGET, BuildOptions, SandboxError

#: The self-hosted x86_64 backend and linker: ~3x less CPU than LLVM for the same code.
FAST_BACKEND = ("-fno-llvm", "-fno-lld")

#: What a snippet must not contain (outside comments and strings) to share a compile. Each would make a
#: batch behave unlike a plain check: C and libc, symbols that need linking or are named at comptime,
#: other files, inline assembly, compile logs (printed apart from the error that names their snippet),
#: the module name ``@src()`` reports, and error numbers (numbered across the whole compilation, so
#: ``@intFromError`` values, and the order in which messages list an error set, depend on the others).
#: ``export`` is fine: snippets whose exported names meet are put in different batches.
SHARING_BREAKERS = re.compile(
    r"@cImport|@cInclude|@embedFile|@compileLog|@src\b|@export\b|@extern\b|\basm\b|\blinksection\b"
    r"|\bextern\s+(?:\"[^\"]*\"\s+)?(?:fn|var|const|threadlocal)\b|@errorFromInt|@intFromError|@errorCast"
)
#: An exported symbol: ``export fn name``, ``export var name``, ``export const @"name"``.
EXPORT = re.compile(r'\bexport\s+(?:fn|var|const)\s+(@"(?:[^"\\\n]|\\.)*"|\w+)')
#: Names the start code or the C runtime may define: exporting them takes the plain path.
RESERVED_EXPORTS = {"main", "_start", "memcpy", "memset", "memmove", "memcmp", "strlen", "abort", "exit"}
#: Declarations ``std`` looks up in the root file (std.start, std.debug, std.options): in a batch the
#: root is zigtune's, so a snippet that declares one of them takes the plain path.
ROOT_DECLARATIONS = re.compile(
    r"\bpub\s+(?:const|var|fn)\s+(?:std_options|panic|Panic|os|_start|WinMain|wWinMain|WinMainCRTStartup"
    r"|wWinMainCRTStartup|DllMain|_DllMainCRTStartup|EfiMain|mainCRTStartup)\b"
)
IMPORT = re.compile(r'@import\(\s*"((?:[^"\\\n]|\\.)*)"\s*\)')
SHAREABLE_IMPORTS = {"std", "builtin"}

#: Zig string literals (quoted, and the lines of ``\\`` multiline strings).
STRING_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"|\\\\[^\n]*')
#: A comment or a literal, whichever starts first: a ``//`` inside a string is not a comment.
COMMENT_OR_LITERAL = re.compile(r'\\\\[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|//[^\n]*')
#: A format placeholder that prints a value with its type's name: ``{}``, ``{any}``, ``{?}``, ``{!}``,
#: ``{*}``, with an optional argument and options (a struct prints as ``main.Point{ .x = 1 }``).
NAMED_VALUE_PLACEHOLDER = re.compile(r"\{(?:\[\w+\]|\d+)?(?:any|\?|!|\*)?(?::[^{}]*)?\}")


@dataclass(frozen=True)
class BatchJob:
    """One piece of code to check, how, and with which build options."""

    code: str
    mode: str
    options: BuildOptions = field(default_factory=BuildOptions)


def plain_reason(job: BatchJob) -> str | None:
    """Why ``job`` must be checked on its own with the LLVM backend; ``None`` when it may share a batch."""
    if job.mode not in ("test", "run", "build-obj"):
        return f"mode {job.mode}"
    if job.options.compiler_args():
        return "build options"
    if job.options.extra_files:
        return "files beside the root"
    code = without_comments(job.code)
    found = SHARING_BREAKERS.search(code) or ROOT_DECLARATIONS.search(code)
    if found:
        return found.group(0)
    reserved = exported_names(job.code) & RESERVED_EXPORTS
    if reserved:
        return f"export fn {sorted(reserved)[0]}"
    for match in IMPORT.finditer(strip_comments(job.code)):
        if match.group(1) not in SHAREABLE_IMPORTS:
            return f'@import("{match.group(1)}")'
    return None


def strip_comments(code: str) -> str:
    """``code`` without its ``//`` comments (string and character literals kept as they are)."""
    return COMMENT_OR_LITERAL.sub(lambda match: "" if match.group(0).startswith("//") else match.group(0), code)


def without_comments(code: str) -> str:
    """``code`` without its comments, its string literals emptied (for keyword searches)."""

    def blank(match: re.Match[str]) -> str:
        text = match.group(0)
        return "" if text.startswith("//") else '""' if text.startswith(('"', "\\\\")) else text

    return COMMENT_OR_LITERAL.sub(blank, code)


def exported_names(code: str) -> set[str]:
    """The symbols ``code`` exports with ``export`` (``@"..."`` names keep their quotes). Text inside
    strings may add a name that is not exported: harmless, it only keeps two snippets apart."""
    return set(EXPORT.findall(strip_comments(code)))


def batches_of(indices: list[int], size: int, exports: dict[int, set[str]]) -> list[list[int]]:
    """``indices`` cut into batches of at most ``size``, in order, no two members exporting one name."""
    batches: list[list[int]] = []
    taken: list[set[str]] = []
    for index in indices:
        names = exports.get(index, set())
        for batch, used in zip(batches, taken, strict=True):
            if len(batch) < size and not names & used:
                batch.append(index)
                used |= names
                break
        else:
            batches.append([index])
            taken.append(set(names))
    return batches


def names_may_matter(code: str, file_name: str) -> bool:
    """Could a test snippet's outcome depend on its type names, which a test batch changes?

    In a test batch, ``main.Point`` is ``s3_<nonce>.main.Point``: longer, and not equal to the plain
    name. Only a snippet that reads names (``@typeName``, a placeholder that prints a struct, enum or
    pointer with its type's name, or the plain name spelled out) can fail there and pass alone.
    """
    stem = file_name.removesuffix(".zig")
    if "@typeName" in code or f'"{stem}.' in code:
        return True
    return any(NAMED_VALUE_PLACEHOLDER.search(literal.group(0)) for literal in STRING_LITERAL.finditer(code))


@dataclass(frozen=True)
class BatchMember:
    """One snippet of a batch: where it lives and how its names look there."""

    slug: str  # s<n>_<nonce>: its directory, and (run, build-obj) its module name
    file_name: str

    @property
    def path(self) -> str:
        return f"{self.slug}/{self.file_name}"

    @property
    def test_prefix(self) -> str:
        """The start of the fully qualified names of its tests (``s3_<nonce>.main.test.adds``)."""
        return f"{self.slug}."

    def plain_text(self, text: str) -> str:
        """Compiler or program output as a plain check of this snippet would word it."""
        return text.replace(f"{self.slug}/", "").replace(f"{self.slug}.", "")


@dataclass(frozen=True)
class BatchCompile:
    """The root file of one compile of some members, and which root lines belong to which member."""

    mode: str
    root_name: str
    root_text: str
    line_owner: dict[int, int]  # 1-based line of the root file -> member index


BAD_MAIN_RETURN = "expected return type of main to be 'void', '!void', 'noreturn', 'u8', or '!u8'"

#: The program of a run batch: ``main`` calls the chosen snippet's ``main`` as ``std.start.callMain`` does.
RUN_ROOT_HEAD = """const std = @import("std");
pub fn main() u8 {
    const chosen = zigtuneChosen();
    switch (chosen) {
"""
RUN_ROOT_TAIL = """        else => @panic("zigtune: no snippet with that number"),
    }
}

/// The N of --zigtune-main=N, taken out of std.os.argv so the snippet sees a plain run's arguments.
fn zigtuneChosen() usize {
    const flag = "--zigtune-main=";
    var chosen: ?usize = null;
    var kept: usize = 0;
    for (std.os.argv) |argument| {
        const text = std.mem.span(argument);
        if (chosen == null and std.mem.startsWith(u8, text, flag)) {
            chosen = std.fmt.parseInt(usize, text[flag.len..], 10) catch @panic("zigtune: bad --zigtune-main");
        } else {
            std.os.argv[kept] = argument;
            kept += 1;
        }
    }
    std.os.argv = std.os.argv[0..kept];
    return chosen orelse @panic("zigtune: --zigtune-main=N missing");
}

inline fn zigtuneCallMain(comptime snippet: type) u8 {
    const ReturnType = @typeInfo(@TypeOf(snippet.main)).@"fn".return_type.?;
    switch (ReturnType) {
        void => {
            snippet.main();
            return 0;
        },
        noreturn, u8 => return snippet.main(),
        else => {
            if (@typeInfo(ReturnType) != .error_union) @compileError("BAD_MAIN_RETURN");
            const result = snippet.main() catch |err| {
                std.log.err("{s}", .{@errorName(err)});
                if (@errorReturnTrace()) |trace| {
                    std.debug.dumpStackTrace(trace.*);
                }
                return 1;
            };
            return switch (@TypeOf(result)) {
                void => 0,
                u8 => result,
                else => @compileError("BAD_MAIN_RETURN"),
            };
        },
    }
}
""".replace("BAD_MAIN_RETURN", BAD_MAIN_RETURN)


def batch_compile(mode: str, members: list[BatchMember], indices: list[int], root_name: str) -> BatchCompile:
    """The root file that makes one compile of the members at ``indices``."""
    lines: list[str] = []
    owner: dict[int, int] = {}

    def add(line: str, index: int | None = None) -> None:
        lines.append(line)
        if index is not None:
            owner[len(lines)] = index

    if mode == "test":
        for index in indices:
            add(f'comptime {{ _ = @import("{members[index].path}"); }}', index)
    elif mode == "run":
        for line in RUN_ROOT_HEAD.splitlines():
            add(line)
        for index in indices:
            add(f'        {index} => return zigtuneCallMain(@import("{members[index].slug}")),', index)
        for line in RUN_ROOT_TAIL.splitlines():
            add(line)
    elif mode == "build-obj":
        for index in indices:  # like a plain build-obj of the file: its comptime blocks and exports
            add(f'comptime {{ _ = @import("{members[index].slug}"); }}', index)
    else:
        raise ValueError(f"mode {mode!r} cannot be batched")
    return BatchCompile(mode, root_name, "\n".join(lines) + "\n", owner)


def compile_args(
    compile: BatchCompile, members: list[BatchMember], indices: list[int], output: str | None, runner: str
) -> list[str]:
    """``zig`` arguments: Sema only (``output`` None, LLVM flags as a plain check) or a build with the
    self-hosted backend into ``output``."""
    emit = ["-fno-emit-bin"] if output is None else [f"-femit-bin={output}", *FAST_BACKEND]
    target = ["-target", DEFAULT_TARGET]  # a plain check's target (batches only hold default options)
    if compile.mode == "test":
        return ["test", compile.root_name, *target, "--test-runner", runner, "--test-no-exec", *emit]
    modules = [f"-M{members[i].slug}={members[i].path}" for i in indices]
    dependencies = [argument for i in indices for argument in ("--dep", members[i].slug)]
    command = "build-exe" if compile.mode == "run" else "build-obj"
    return [command, *target, *dependencies, f"-Mroot={compile.root_name}", *modules, *emit]


def run_args(mode: str, member: BatchMember, index: int) -> list[str]:
    """The arguments of one snippet's run of the batch binary."""
    return [f"--zigtune-only={member.test_prefix}"] if mode == "test" else [f"--zigtune-main={index}"]


#: The start of a compiler message: ``path:line:col: error: ...`` or a bare ``error: ...``.
MESSAGE_START = re.compile(r"^(?:[^\s:][^:\n]*:\d+:\d+: )?error: ", re.MULTILINE)
#: A location the compiler names, at the start of a line (an error or a note; never a source excerpt or
#: a continuation of a message, which the compiler indents).
LOCATION = re.compile(r"^([^\s:][^:\n]*):(\d+):\d+: (?:error|note): ", re.MULTILINE)


def error_blocks(stderr: str) -> list[str]:
    """The compiler's output cut into one block per error (its notes and reference trace included)."""
    starts = [match.start() for match in MESSAGE_START.finditer(stderr)]
    return [stderr[start:end] for start, end in zip(starts, [*starts[1:], len(stderr)], strict=True)]


def attribute_errors(
    stderr: str, compile: BatchCompile, members: list[BatchMember], indices: list[int]
) -> tuple[dict[int, list[str]], list[str]]:
    """Each member's errors, and the errors that name no member or several.

    An error is a member's when every member-bound location of its block (its own file, or a root line
    that belongs to it) is that member's: an error inside ``std`` counts for the snippet whose call its
    "called from here" note shows.
    """
    by_path = {members[i].path: i for i in indices}
    attributed: dict[int, list[str]] = {}
    unattributed: list[str] = []
    for block in error_blocks(stderr):
        owners = set()
        for match in LOCATION.finditer(block):
            path, line = match.group(1), int(match.group(2))
            if path in by_path:
                owners.add(by_path[path])
            elif path == compile.root_name and line in compile.line_owner:
                owners.add(compile.line_owner[line])
        if len(owners) == 1:
            attributed.setdefault(owners.pop(), []).append(block)
        else:
            unattributed.append(block)
    return attributed, unattributed


def names_zigtune_files(block: str, compile: BatchCompile, runner: str) -> bool:
    """Does an error point into the batch's own root or test runner (not into a snippet or ``std``)?"""
    return any(match.group(1) in (compile.root_name, runner) for match in LOCATION.finditer(block))


def likely_owner(blocks: list[str], codes: dict[int, str]) -> int | None:
    """The one member whose code holds text that the errors quote, if exactly one does.

    An error raised inside ``std`` (a format string that does not fit its arguments) may name no
    snippet, while its message quotes the snippet's own text. A guess to try first, never a verdict.
    """
    owners = set()
    for block in blocks:
        message = "\n".join(block.splitlines()[:2])
        for fragment in message.split("'")[1::2]:
            fragment = fragment.strip()
            holders = [index for index, code in codes.items() if len(fragment) >= 6 and fragment in code]
            if len(holders) == 1:
                owners.add(holders[0])
    return owners.pop() if len(owners) == 1 else None


TEST_RUNNER_PATCHES = (
    (
        '        } else {\n            @panic("unrecognized command line argument");',
        "        } else if (std.mem.startsWith(u8, arg, zigtune_only_flag)) {\n"
        '        } else {\n            @panic("unrecognized command line argument");',
    ),
    (
        "    const test_fn_list = builtin.test_functions;",
        "    const test_fn_list = zigtuneSelectedTests();",
    ),
)
TEST_RUNNER_ADDITION = """
// zigtune: run only the tests whose name starts with --zigtune-only=PREFIX (one snippet of a batch),
// and take the flag out of std.os.argv so the tests see the arguments of a plain run.
const zigtune_only_flag = "--zigtune-only=";

fn zigtuneSelectedTests() []const std.builtin.TestFn {
    var prefix: ?[]const u8 = null;
    var kept: usize = 0;
    for (std.os.argv) |argument| {
        const text = std.mem.span(argument);
        if (std.mem.startsWith(u8, text, zigtune_only_flag)) {
            prefix = text[zigtune_only_flag.len..];
        } else {
            std.os.argv[kept] = argument;
            kept += 1;
        }
    }
    std.os.argv = std.os.argv[0..kept];
    const wanted = prefix orelse return builtin.test_functions;
    const zigtune_selected = std.heap.page_allocator.alloc(std.builtin.TestFn, builtin.test_functions.len) catch
        @panic("zigtune: out of memory selecting tests");
    var count: usize = 0;
    for (builtin.test_functions) |test_fn| {
        if (std.mem.startsWith(u8, test_fn.name, wanted)) {
            zigtune_selected[count] = test_fn;
            count += 1;
        }
    }
    return zigtune_selected[0..count];
}
"""


class RunnerPatchError(SandboxError):
    """The installed Zig's test runner is not the one the patch was written for."""


def patch_test_runner(source: str) -> str:
    """Zig 0.14.0's default test runner, changed only to run the tests of one snippet when asked.

    Everything else (the per-test leak check, counting error logs, the summary lines, the exit code)
    is Zig's own, so a snippet's tests end the way they end under ``zig test`` of that snippet alone.
    """
    for old, new in TEST_RUNNER_PATCHES:
        if source.count(old) != 1:
            raise RunnerPatchError(f"the Zig test runner lacks {old.strip()!r}: is this Zig 0.14.0?")
        source = source.replace(old, new)
    return source + TEST_RUNNER_ADDITION


# --- output as a plain check words it ------------------------------------------------------------------------

#: A stack-trace frame as ``std.debug`` prints it: ``/work/main.zig:5:3: 0x11bdc60 in test.t (root_x_2.zig)``.
FRAME = re.compile(
    r"^(?P<path>[^\n:]+):(?P<line>\d+):(?P<column>\d+): "
    r"(?P<address>0x[0-9a-f]+) in (?P<function>.*) \((?P<unit>[^()\n]*)\)$"
)
#: What the self-hosted backend's unwinder adds to a panic's trace (LLVM's code unwinds without it), and the
#: empty line after it.
UNWIND_ERROR = re.compile(r"^Unwind error at address `[^`\n]*` \([^)\n]*\), trace may be incomplete\n\n?", re.MULTILINE)
#: Where a plain test run finds the test runner (``zig test`` builds Zig's own).
PLAIN_TEST_RUNNER = "/zig/lib/compiler/test_runner.zig"
#: Where a plain run finds the snippet's source: the jail's working directory.
RUN_DIRECTORY = "/work"


def runner_line_map(original: str, patched: str) -> dict[int, int]:
    """1-based line of the patched test runner -> the same line of Zig's own (lines the patch left alone)."""
    matcher = difflib.SequenceMatcher(None, original.splitlines(), patched.splitlines(), autojunk=False)
    lines: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            lines[block.b + offset + 1] = block.a + offset + 1
    return lines


def plain_run_output(
    text: str, member: BatchMember, mode: str, code: str, runner_name: str, runner_lines: dict[int, int]
) -> str:
    """A batched run's stdout or stderr as the plain run of the snippet words it.

    The batch's names go (the snippet's directory and module prefix, the root file and the patched runner,
    whose frames point at Zig's own runner again); a frame's compile unit is the plain binary's (``test``, or
    the program's name); the self-hosted unwinder's "Unwind error ... trace may be incomplete" line goes; and
    a frame in the snippet's own file gets the source line and caret a plain run prints below it (the batch
    binary's debug information names the file where the batch compiled it, which its run jail does not hold).
    What stays different: addresses (of frames, another binary's; of a leaked allocation, which differs between
    any two runs), the numbers of ``__anon_N`` functions (another binary), and
    the last ``???:?:?: 0x0 in ??? (???)`` frame that LLVM's code adds to a test panic's trace.
    """
    text = member.plain_text(UNWIND_ERROR.sub("", text))
    unit = "test" if mode == "test" else PurePosixPath(member.file_name).stem
    own_file, runner = f"{RUN_DIRECTORY}/{member.file_name}", f"{RUN_DIRECTORY}/{runner_name}"
    source = code.splitlines()
    lines = []
    for line in text.split("\n"):
        frame = FRAME.match(line)
        if frame is None:
            lines.append(line)
            continue
        path, number, column = frame["path"], int(frame["line"]), int(frame["column"])
        if path == runner:
            path, number = PLAIN_TEST_RUNNER, runner_lines.get(number, number)
        lines.append(f"{path}:{number}:{column}: {frame['address']} in {frame['function']} ({unit})")
        if path == own_file and 1 <= number <= len(source):
            lines.append(source[number - 1].replace("\t", " "))
            if column > 0:
                lines.append(" " * (column - 1) + "^")
    return "\n".join(lines)


def names_batch_files(text: str, nonce: str, runner_name: str) -> bool:
    """Does compiler output name the batch's own root files or runner anywhere (a reference trace too)?"""
    return f"root_{nonce}_" in text or runner_name in text

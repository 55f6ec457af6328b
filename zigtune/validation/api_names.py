"""Zig API names in prose (`std.mem.copy`, `@intToEnum`, `std.ArrayList.append`), checked against the compiler.

An answer that explains Zig in words can still be wrong in a checkable way: it can name a function
or builtin that Zig 0.14.0 does not have (an older release's, or an invented one). Every such name
in an inline code span of the prose (fenced code is checked by compiling it) is looked up by the
compiler itself:

- builtins: one ``ast-check`` of a file with one ``@name()`` call per line; the compiler says
  "invalid builtin function" for a builtin it does not know (any other complaint, such as a wrong
  argument count, means it exists);
- ``std`` paths: one ``build-obj`` of a file with one ``comptime`` block per name that walks the
  path with ``@hasDecl``/``@hasField``, through values (their type), pointers, optionals, error
  unions and functions (their return type). A generic type function (``ArrayList``) is
  instantiated with ``u8`` for each of its ``type`` parameters; one with other parameters
  (``BoundedArray``'s capacity), or one that rejects ``u8`` (``EnumArray``), leaves the rest of
  the path ``unverifiable``, not unknown. Each failure names its block, so one compile checks many
  names; an error that names none (a failing instantiation deep in std) splits the batch in halves.

Answers per name are cached by name and Zig version. Only ``std``-rooted paths and builtins are
checked: ``mem.copy`` or ``ArrayList.append`` without ``std.`` could be anything. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from zigtune.storage.cache import ContentCache, cache_key
from zigtune.validation.code_extraction import FENCED_BLOCK
from zigtune.validation.sandbox import BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict

#: Markdown inline code: a run of backticks, text, the same run (fenced blocks are removed first).
INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
BUILTIN = re.compile(r"(?<![\w@.])@([A-Za-z_]\w*)")
STD_PATH = re.compile(r"(?<![\w.])std((?:\.[A-Za-z_]\w*(?:\([^()]*\))?)+)")
CALL = re.compile(r"\([^()]*\)")
#: A span quoting the compiler or a panic reports an error; the names in it are not claims.
QUOTED_ERROR = re.compile(r"\berror:|\bpanic:|\bnote:")

MAX_BATCH = 200


class ApiStatus(StrEnum):
    KNOWN = "known"
    UNKNOWN = "unknown"
    UNVERIFIABLE = "unverifiable"  # the compiler could not settle it (a generic it cannot instantiate)


@dataclass(frozen=True)
class ApiAnswer:
    status: ApiStatus
    detail: str = ""  # the compiler's words for unknown and unverifiable names


class Executes(Protocol):
    name: str

    async def version(self) -> str: ...

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult: ...


def prose_of(text: str | None) -> str:
    """``text`` without its fenced code blocks."""
    return FENCED_BLOCK.sub("", text or "")


def api_names(text: str | None) -> list[str]:
    """The Zig API names that the prose of ``text`` puts in inline code, in order, once each.

    ``std.ArrayList(u8).init`` is the path ``std.ArrayList.init``; builtins keep their ``@``.
    """
    names: list[str] = []
    for match in INLINE_CODE.finditer(prose_of(text)):
        span = match.group(2)
        if QUOTED_ERROR.search(span):
            continue
        names += [f"@{builtin}" for builtin in BUILTIN.findall(span)]
        names += ["std" + CALL.sub("", path) for path in STD_PATH.findall(span)]
    return list(dict.fromkeys(names))


# --- the check files ------------------------------------------------------------------------------

_WALKER = """const std = @import("std");

fn zigtuneContainer(comptime value: anytype, comptime id: []const u8) type {
    return zigtuneUnwrap(if (@TypeOf(value) == type) value else @TypeOf(value), value, id);
}

fn zigtuneUnwrap(comptime T: type, comptime value: anytype, comptime id: []const u8) type {
    switch (@typeInfo(T)) {
        .@"struct", .@"union", .@"enum", .@"opaque" => return T,
        .pointer => |info| return zigtuneUnwrap(info.child, {}, id),
        .optional => |info| return zigtuneUnwrap(info.child, {}, id),
        .error_union => |info| return zigtuneUnwrap(info.payload, {}, id),
        .@"fn" => |info| {
            const R = info.return_type orelse @compileError("zigtune-unverifiable-api " ++ id);
            if (R != type) return zigtuneUnwrap(R, {}, id);
            if (@TypeOf(value) == void) @compileError("zigtune-unverifiable-api " ++ id);
            inline for (info.params) |param| {
                if (param.type != type) @compileError("zigtune-unverifiable-api " ++ id);
            }
            return zigtuneUnwrap(switch (info.params.len) {
                1 => value(u8),
                2 => value(u8, u8),
                3 => value(u8, u8, u8),
                else => @compileError("zigtune-unverifiable-api " ++ id),
            }, {}, id);
        },
        else => @compileError("zigtune-unverifiable-api " ++ id),
    }
}

fn zigtuneWalk(comptime value: anytype, comptime path: []const []const u8, comptime id: []const u8) void {
    if (path.len == 0) return;
    const C = zigtuneContainer(value, id);
    if (@hasDecl(C, path[0])) return zigtuneWalk(@field(C, path[0]), path[1..], id);
    if (@hasField(C, path[0])) {
        if (@typeInfo(C) == .@"enum") return zigtuneWalk(@field(C, path[0]), path[1..], id);
        return zigtuneWalk(@FieldType(C, path[0]), path[1..], id);
    }
    @compileError("zigtune-unknown-api " ++ id);
}
"""

_MARKER = re.compile(r"zigtune-(unknown|unverifiable)-api (\d+)")
_DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:]+\.zig):(?P<line>\d+):\d+: (?P<kind>error|note): (?P<message>.*)$")
_INVALID_BUILTIN = "invalid builtin function"
SOURCE_NAME = "main.zig"


def std_check_file(names: list[str]) -> tuple[str, dict[int, str]]:
    """The build-obj file that walks each ``std`` path, and which line checks which name."""
    lines = _WALKER.splitlines()
    by_line = {}
    for index, name in enumerate(names):
        parts = ", ".join(f'"{part}"' for part in name.split(".")[1:])
        lines.append(f'comptime {{ zigtuneWalk(std, &.{{ {parts} }}, "{index}"); }}')
        by_line[len(lines)] = name
    return "\n".join(lines) + "\n", by_line


def builtin_check_file(names: list[str]) -> tuple[str, dict[int, str]]:
    """The ast-check file with one call per builtin, and which line checks which name."""
    return "".join(f"comptime {{ _ = {name}(); }}\n" for name in names), {i + 1: n for i, n in enumerate(names)}


def _error_blocks(stderr: str) -> list[list[tuple[int | None, str, str]]]:
    """The compiler's diagnostics as blocks (an error and its notes): (line in our file or None, kind, message)."""
    blocks: list[list[tuple[int | None, str, str]]] = []
    for text in stderr.splitlines():
        found = _DIAGNOSTIC.match(text)
        if found is None:
            continue
        line = int(found["line"]) if found["file"] == SOURCE_NAME else None
        if found["kind"] == "error":
            blocks.append([])
        if blocks:
            blocks[-1].append((line, found["kind"], found["message"]))
    return blocks


def attribute_std_errors(stderr: str, names: list[str], by_line: dict[int, str]) -> dict[str, ApiAnswer]:
    """The answers the diagnostics settle: marked failures, and errors whose notes lead to a name's line.

    An error that leads to no line (a failed instantiation deep in std) settles nothing.
    """
    answers: dict[str, ApiAnswer] = {}
    for block in _error_blocks(stderr):
        message = block[0][2]
        marker = _MARKER.search(message)
        if marker:
            name = names[int(marker.group(2))]
            status = ApiStatus.UNKNOWN if marker.group(1) == "unknown" else ApiStatus.UNVERIFIABLE
            answers[name] = ApiAnswer(status, _describe(name, status))
            continue
        owner = next((by_line[line] for line, _, _ in block if line in by_line), None)
        if owner is not None and owner not in answers:
            answers[owner] = ApiAnswer(ApiStatus.UNVERIFIABLE, f"{owner}: the compiler stopped at: {message[:200]}")
    return answers


def _describe(name: str, status: ApiStatus) -> str:
    if status is ApiStatus.UNKNOWN:
        return f"{name}: Zig 0.14.0 has no such declaration"
    return f"{name}: a generic type on the way cannot be instantiated to look inside"


def attribute_builtin_errors(stderr: str, by_line: dict[int, str]) -> dict[str, ApiAnswer]:
    answers = {}
    for block in _error_blocks(stderr):
        line, _, message = block[0]
        if line in by_line and _INVALID_BUILTIN in message:
            answers[by_line[line]] = ApiAnswer(ApiStatus.UNKNOWN, f"{by_line[line]}: {message}")
    return answers


# --- checking --------------------------------------------------------------------------------------


def api_key(name: str, zig_version: str) -> str:
    return cache_key("zig-api-name/v1", name, zig_version)


class ApiCheckError(RuntimeError):
    """The engine failed (not the names): the answers would mean nothing."""


async def _check_builtins(engine: Executes, names: list[str]) -> tuple[dict[str, ApiAnswer], int]:
    code, by_line = builtin_check_file(names)
    result = await engine.execute(code, "ast-check", BuildOptions())
    if result.verdict in (Verdict.SANDBOX_ERROR, Verdict.TIMEOUT, Verdict.KILLED):
        raise ApiCheckError(f"checking builtins failed: {result.verdict.value}: {result.stderr[:200]}")
    unknown = attribute_builtin_errors(result.stderr, by_line)
    return {name: unknown.get(name, ApiAnswer(ApiStatus.KNOWN)) for name in names}, 1


async def _check_std_paths(engine: Executes, names: list[str]) -> tuple[dict[str, ApiAnswer], int]:
    answers: dict[str, ApiAnswer] = {}
    compiles = 0
    groups = [names[start : start + MAX_BATCH] for start in range(0, len(names), MAX_BATCH)]
    while groups:
        group = groups.pop()
        code, by_line = std_check_file(group)
        result = await engine.execute(code, "build-obj", BuildOptions())
        compiles += 1
        if result.verdict in (Verdict.SANDBOX_ERROR, Verdict.TIMEOUT, Verdict.KILLED):
            raise ApiCheckError(f"checking std names failed: {result.verdict.value}: {result.stderr[:200]}")
        if result.verdict is Verdict.OK:
            answers.update({name: ApiAnswer(ApiStatus.KNOWN) for name in group})
            continue
        settled = attribute_std_errors(result.stderr, group, by_line)
        answers.update(settled)
        rest = [name for name in group if name not in settled]
        if not rest:
            continue
        if settled:
            groups.append(rest)  # progress: the rest again, without the names that failed
        elif len(rest) == 1:
            first = next((line for line in result.stderr.splitlines() if "error:" in line), "")
            answers[rest[0]] = ApiAnswer(ApiStatus.UNVERIFIABLE, f"{rest[0]}: {first[:200]}")
        else:
            half = len(rest) // 2
            groups += [rest[:half], rest[half:]]  # an error that no name owns: split to find it
    return answers, compiles


async def check_api_names(
    engine: Executes, names: Iterable[str], cache: ContentCache | None
) -> tuple[dict[str, ApiAnswer], int, int]:
    """Each name's answer; also how many compiles it took and how many names came from the cache."""
    version = await engine.version()
    answers: dict[str, ApiAnswer] = {}
    missing = []
    for name in dict.fromkeys(names):
        stored = cache.get(api_key(name, version)) if cache is not None else None
        if stored is not None:
            answers[name] = ApiAnswer(ApiStatus(stored["status"]), stored["detail"])
        else:
            missing.append(name)
    cached = len(answers)
    builtins = [name for name in missing if name.startswith("@")]
    paths = [name for name in missing if name.startswith("std.")]
    compiles = 0
    if builtins:
        found, used = await _check_builtins(engine, builtins)
        answers.update(found)
        compiles += used
    if paths:
        found, used = await _check_std_paths(engine, paths)
        answers.update(found)
        compiles += used
    if cache is not None:
        for name in missing:
            answer = answers[name]
            cache.put(api_key(name, version), {"status": answer.status.value, "detail": answer.detail})
    return answers, compiles, cached

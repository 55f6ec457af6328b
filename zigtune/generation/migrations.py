"""A catalogue of real breaking changes between Zig releases, runnable in reverse.

Each `MigrationRule` names one change (the release it happened in and a one-sentence summary) and
carries `regress`, which turns working Zig 0.14 code back into the form the change broke. The pairs
(old form, current form) are what a migration-repair example is made of: the old form fails to
compile under Zig 0.14 (with the message matched by `expected_error`) and the current form passes.

Regressions only touch code: string literals, character literals, `\\\\` multiline string lines and
`//` comments are masked before matching (`SourceView`), so offsets found in the mask are offsets
in the original text and edits are spliced into the original. A rule returns None when it does not
apply. Where an old form needs information the new form leaves to inference (two-argument casts
took the result type), the rule only applies where that type is written next to the call.

Pure Python 3.11 standard library; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from zigtune.validation.zig_syntax import CLOSERS, OPENERS, SourceView, matching_close, view_source

# ---------------------------------------------------------------------------------------------
# Spans and edits (the masking is `zig_syntax.view_source`)
# ---------------------------------------------------------------------------------------------

Edit = tuple[int, int, str]


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Replace each (start, end) span by its new text; spans must not overlap."""
    result: list[str] = []
    position = 0
    for start, end, new in sorted(edits):
        if start < position:
            raise ValueError(f"overlapping edits at offset {start}")
        result.append(text[position:start])
        result.append(new)
        position = end
    result.append(text[position:])
    return "".join(result)


def _finish(text: str, edits: list[Edit]) -> str | None:
    if not edits:
        return None
    changed = apply_edits(text, edits)
    return changed if changed != text else None


def split_arguments(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the comma-separated items between `start` and `end` at bracket depth 0.

    Spans are trimmed of surrounding whitespace; an empty trailing item (trailing comma) is dropped.
    """
    spans: list[tuple[int, int]] = []
    depth = 0
    item_start = start
    for k in range(start, end + 1):
        ch = masked[k] if k < end else ","
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
        elif ch == "," and depth == 0:
            a, b = item_start, k
            while a < b and masked[a].isspace():
                a += 1
            while b > a and masked[b - 1].isspace():
                b -= 1
            spans.append((a, b))
            item_start = k + 1
    if spans and spans[-1][0] == spans[-1][1]:
        spans.pop()
    return spans


@dataclass(frozen=True)
class Call:
    """A call `name(args)`: offsets of the name's start, the open and close parentheses."""

    start: int
    open: int
    close: int
    args: tuple[tuple[int, int], ...]


def find_calls(masked: str, name_pattern: str) -> Iterator[Call]:
    """Calls whose callee matches `name_pattern` (a regex matched right before the parenthesis)."""
    for match in re.finditer(rf"(?:{name_pattern})\s*\(", masked):
        open_index = match.end() - 1
        close = matching_close(masked, open_index)
        if close == -1:
            continue
        yield Call(match.start(), open_index, close, tuple(split_arguments(masked, open_index + 1, close)))


def calls_with(masked: str, name_pattern: str, arguments: int) -> Iterator[Call]:
    """The calls `find_calls` finds that have exactly `arguments` arguments."""
    return (call for call in find_calls(masked, name_pattern) if len(call.args) == arguments)


def brace_kinds(masked: str) -> list[str]:
    """For each offset, the kind of the innermost enclosing brace.

    Kinds: "top" (file level), "container" (struct/enum/union/opaque body), "init" (a `T{...}` or
    `.{...}` literal), "errorset", "block" (function bodies and every other statement block).
    """
    kinds = ["top"] * (len(masked) + 1)
    stack: list[str] = []
    for k, ch in enumerate(masked):
        kinds[k] = stack[-1] if stack else "top"
        if ch == "{":
            stack.append(classify_brace(masked, k))
        elif ch == "}" and stack:
            stack.pop()
    kinds[len(masked)] = "top"
    return kinds


_CONTAINER_BEFORE_BRACE = re.compile(r"\b(?:struct|enum|union|opaque)\s*(?:\((?:[^()]|\([^()]*\))*\))?\s*$")


def classify_brace(masked: str, index: int) -> str:
    before = masked[max(0, index - 200) : index]
    if _CONTAINER_BEFORE_BRACE.search(before):
        return "container"
    if re.search(r"\berror\s*$", before):
        return "errorset"
    if before and (before[-1].isalnum() or before[-1] in "_.)]"):
        return "init"
    return "block"


def line_span(text: str, index: int) -> tuple[int, int]:
    """Span of the whole line holding `index`, including its newline."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return start, (len(text) if end == -1 else end + 1)


def _token_replace(code: str, pattern: str, replacement: str | Callable[[re.Match[str]], str]) -> str | None:
    """Replace every match of `pattern` found in code (outside strings and comments)."""
    view = view_source(code)
    edits: list[Edit] = []
    for match in re.finditer(pattern, view.masked):
        new = replacement if isinstance(replacement, str) else replacement(match)
        edits.append((match.start(), match.end(), match.expand(new) if isinstance(replacement, str) else new))
    return _finish(code, edits)


# ---------------------------------------------------------------------------------------------
# Result types written next to a call
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypedCall:
    """A builtin call whose result type is evident from its surroundings.

    `replace_start`/`replace_end` cover the text to rewrite: the call itself, or the whole
    `@as(T, call)` wrapper when the type came from `@as`.
    """

    call: Call
    type_text: str
    replace_start: int
    replace_end: int


_DECLARATION_BEFORE = re.compile(r"(?:^|[;{}\n])\s*(?:pub\s+)?(?:const|var)\s+[A-Za-z_]\w*\s*:\s*([^=;]+?)\s*=\s*$")


def typed_calls(view: SourceView, builtin: str) -> list[TypedCall]:
    """Calls of `builtin` (e.g. "@intCast") whose result type is written right next to them.

    Recognised: `@as(T, @b(...))` and declarations `const x: T = @b(...);` (also `var`).
    """
    masked = view.masked
    found: list[TypedCall] = []
    for call in find_calls(masked, re.escape(builtin) + r"\b"):
        wrapper = _enclosing_as(masked, call)
        if wrapper is not None:
            as_call, type_span = wrapper
            type_text = view.text[type_span[0] : type_span[1]]
            found.append(TypedCall(call, type_text, as_call.start, as_call.close + 1))
            continue
        after = masked[call.close + 1 :].lstrip(" \t")
        declaration = _DECLARATION_BEFORE.search(masked[max(0, call.start - 300) : call.start])
        if declaration and after.startswith(";"):
            offset = max(0, call.start - 300)
            type_text = view.text[offset + declaration.start(1) : offset + declaration.end(1)]
            found.append(TypedCall(call, type_text.strip(), call.start, call.close + 1))
    return found


def _enclosing_as(masked: str, call: Call) -> tuple[Call, tuple[int, int]] | None:
    if not masked[: call.start].rstrip().endswith(","):
        return None
    for as_call in find_calls(masked, r"@as\b"):
        if len(as_call.args) == 2 and as_call.args[1] == (call.start, call.close + 1):
            return as_call, as_call.args[0]
    return None


def _retype(view: SourceView, builtin: str, old_name: str, argument: Callable[[str], str | None]) -> str | None:
    """Rewrite typed calls `builtin(args)` as `old_name(argument(T), args)`."""
    edits: list[Edit] = []
    for typed in typed_calls(view, builtin):
        extra = argument(typed.type_text)
        if extra is None:
            continue
        args_text = view.text[typed.call.open + 1 : typed.call.close]
        edits.append((typed.replace_start, typed.replace_end, f"{old_name}({extra}, {args_text.strip()})"))
    return _finish(view.text, edits)


def _same_type(type_text: str) -> str:
    return type_text


def _vector_type(code: str, type_text: str) -> tuple[str, str] | None:
    """Length and element type of `@Vector(n, T)` written directly or through `const V = @Vector(...)`."""
    text = type_text.strip()
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        definition = re.search(rf"\bconst\s+{text}\s*=\s*(@Vector\s*\([^;]*\))\s*;", code)
        if definition is None:
            return None
        text = definition.group(1)
    vector = re.fullmatch(r"@Vector\s*\(\s*([^,]+?)\s*,\s*(.+?)\s*\)", text, re.S)
    return (vector.group(1), vector.group(2)) if vector else None


def _pointee(type_text: str) -> str | None:
    match = re.fullmatch(r"\*\s*(?:const\s+)?([A-Za-z_][\w.]*)", type_text.strip())
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------
# The rule type
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationRule:
    """One breaking change between Zig releases, applicable in reverse to Zig 0.14 code.

    `release` is the Zig release that made the change; `summary` is the one sentence naming it;
    `regress` turns current code into the old form (None when the rule does not apply);
    `expected_error` is a regex for the Zig 0.14 compiler message the old form produces.
    """

    name: str
    release: str
    summary: str
    regress: Callable[[str], str | None]
    expected_error: str


# ---------------------------------------------------------------------------------------------
# Regressions
# ---------------------------------------------------------------------------------------------


def _rename(new: str, old: str) -> Callable[[str], str | None]:
    """Rename a builtin or a dotted name; `new` must match as a whole token."""
    pattern = re.escape(new) + r"(?![\w])"
    if new[0].isalpha():
        pattern = r"(?<![\w.@])" + pattern

    def regress(code: str) -> str | None:
        return _token_replace(code, pattern, old.replace("\\", "\\\\"))

    return regress


def _std_member(path: str, old_path: str) -> Callable[[str], str | None]:
    """Rename `std.<path>` (also `@import("std").<path>`) to `std.<old_path>`."""
    pattern = _STD_PREFIX + re.escape(path).replace(r"\.", r"\s*\.\s*") + r"(?!\w)"

    def regress(code: str) -> str | None:
        view = view_source(code)
        edits: list[Edit] = []
        for match in _std_matches(view, pattern):
            edits.append((match.start("path"), match.end(), old_path))
        return _finish(code, edits)

    return regress


_STD_PREFIX = r"(?<![\w.])(?P<std>std|@import\(\s*\"\s*\"\s*\))\s*\.\s*(?P<path>)"


#: Zig 0.12 moved these std members.
regress_std_random = _std_member("Random", "rand")
regress_child_process = _std_member("process.Child", "ChildProcess")
regress_std_posix = _std_member("posix", "os")
regress_mem_copy = _std_member("mem.copyForwards", "mem.copy")


def _std_matches(view: SourceView, pattern: str) -> Iterator[re.Match[str]]:
    """Matches of a pattern starting with `_STD_PREFIX` whose prefix really names the std library."""
    for match in re.finditer(pattern, view.masked):
        prefix = re.sub(r"\s", "", view.text[match.start("std") : match.end("std")])
        if prefix in ("std", '@import("std")'):
            yield match


def regress_print_tuple(code: str) -> str | None:
    """`print(fmt, .{ a, b })` -> `print(fmt, a, b)`: the var-args form before Zig 0.6."""
    view = view_source(code)
    edits: list[Edit] = []
    for call in calls_with(view.masked, r"(?<![\w@])print", 2):
        tuple_start, tuple_end = call.args[1]
        if not view.masked.startswith(".{", tuple_start) or view.masked[tuple_end - 1] != "}":
            continue
        if matching_close(view.masked, tuple_start + 1) != tuple_end - 1:
            continue
        elements = split_arguments(view.masked, tuple_start + 2, tuple_end - 1)
        if elements:
            edits.append((tuple_start, tuple_end, ", ".join(code[a:b] for a, b in elements)))
        else:
            edits.append((call.args[0][1], tuple_end, ""))
    return _finish(code, edits)


def regress_anytype(code: str) -> str | None:
    """Parameters typed `anytype` -> `var`, the spelling before Zig 0.7."""
    return _token_replace(code, r"(?<=:)(\s*)anytype\b", r"\1var")


def regress_testing_try(code: str) -> str | None:
    """`try expect(...)` -> `expect(...)`: std.testing functions returned void before Zig 0.8."""
    view = view_source(code)
    aliases = set(re.findall(r"\bconst\s+(\w+)\s*=\s*[\w.@()\" ]*testing\s*\.\s*expect\w*\s*;", view.masked))
    edits: list[Edit] = []
    callee = r"\btry(\s+)(?:comptime\s+)?((?:[A-Za-z_]\w*\s*\.\s*)*)([A-Za-z_]\w*)\s*\("
    for match in re.finditer(callee, view.masked):
        prefix, name = re.sub(r"\s", "", match.group(2)), match.group(3)
        through_testing = prefix.endswith("testing.") and name.startswith("expect")
        if through_testing or (not prefix and name in aliases):
            edits.append((match.start(), match.end(1), ""))
    return _finish(code, edits)


def regress_format_s(code: str) -> str | None:
    """`{s}` -> `{}` in format strings: before Zig 0.8 `{}` printed byte slices as text."""
    view = view_source(code)
    edits: list[Edit] = []
    for call in find_calls(view.masked, r"(?<![\w@])(?:print|bufPrint|allocPrint|comptimePrint|expectFmt)"):
        if not call.args:
            continue
        first_start, first_end = call.args[-2] if call.args and _is_expect_fmt(view, call) else call.args[0]
        for start, end in view.strings:
            if first_start <= start and end <= first_end:
                for match in re.finditer(r"\{(\??)s\}", code[start:end]):
                    edits.append((start + match.start(), start + match.end(), "{" + match.group(1) + "}"))
    return _finish(code, edits)


def _is_expect_fmt(view: SourceView, call: Call) -> bool:
    return view.masked.startswith("expectFmt", call.start) and len(call.args) == 3


def regress_unused_discard(code: str) -> str | None:
    """Delete `_ = name;` lines: unused locals and parameters compiled before Zig 0.9."""
    return _delete_lines(code, r"^[ \t]*_\s*=\s*[A-Za-z_]\w*\s*;[ \t]*$")


def regress_pointer_discard(code: str) -> str | None:
    """Drop `_ = &name;`: a never-mutated `var` compiled before Zig 0.12.

    The line is deleted when the variable is used elsewhere; otherwise it becomes `_ = name;`,
    the plain discard that old code used (deleting it would only trade for an unused-variable error).
    """
    view = view_source(code)
    edits: list[Edit] = []
    for match in re.finditer(r"^[ \t]*_\s*=\s*(&\s*)([A-Za-z_]\w*)\s*;[ \t]*$", view.masked, re.M):
        uses = len(re.findall(rf"(?<![\w.@]){match.group(2)}\b", view.masked))
        if uses > 2:
            start, end = line_span(code, match.start())
            edits.append((start, end, ""))
        else:
            edits.append((match.start(1), match.end(1), ""))
    return _finish(code, edits)


def _delete_lines(code: str, line_pattern: str) -> str | None:
    view = view_source(code)
    edits: list[Edit] = []
    for match in re.finditer(line_pattern, view.masked, re.M):
        edits.append(line_span(code, match.start()))
    return _finish(code, [(start, end, "") for start, end in edits])


def regress_allocator_method(code: str) -> str | None:
    """`gpa.allocator()` -> `&gpa.allocator`: the allocator was a field before Zig 0.9."""
    return _token_replace(code, r"(?<![\w.])([a-z_]\w*)\.allocator\(\)", r"&\1.allocator")


def regress_vector_builtin(code: str) -> str | None:
    """`@Vector(n, T)` -> `std.meta.Vector(n, T)`, the spelling before Zig 0.10."""
    view = view_source(code)
    has_std = re.search(r"^(?:pub\s+)?const\s+std\s*=\s*@import\(", view.masked, re.M) is not None
    replacement = "std.meta.Vector" if has_std else '@import("std").meta.Vector'
    edits = [(m.start(), m.end(), replacement) for m in re.finditer(r"@Vector\b", view.masked)]
    return _finish(code, edits)


def _for_loops(masked: str, operands: int, capture: str) -> Iterator[Call]:
    """`for (...)` headers with `operands` operands whose capture list starts with `capture`."""
    for call in calls_with(masked, r"\bfor", operands):
        if masked[call.close + 1 :].lstrip().startswith(capture):
            yield call


def regress_for_index(code: str) -> str | None:
    """`for (xs, 0..) |x, i|` -> `for (xs) |x, i|`: the index capture before Zig 0.11."""
    masked = view_source(code).masked
    edits: list[Edit] = []
    for call in _for_loops(masked, 2, "|"):
        (_first_start, first_end), (range_start, range_end) = call.args
        if re.fullmatch(r"0\s*\.\.", masked[range_start:range_end]):
            edits.append((first_end, range_end, ""))
    return _finish(code, edits)


def regress_for_address(code: str) -> str | None:
    """`for (&array) |*x|` -> `for (array) |*x|`: arrays were iterated by reference before Zig 0.11."""
    masked = view_source(code).masked
    operands = (call.args[0] for call in _for_loops(masked, 1, "|*"))
    return _finish(code, [(start, start + 1, "") for start, end in operands if _ADDRESS.fullmatch(masked[start:end])])


_ADDRESS = re.compile(r"&\s*[A-Za-z_]\w*")


def _typed_builtin(builtin: str, old_name: str) -> Callable[[str], str | None]:
    def regress(code: str) -> str | None:
        return _retype(view_source(code), builtin, old_name, _same_type)

    return regress


def regress_splat(code: str) -> str | None:
    """`const v: @Vector(4, T) = @splat(x);` -> `@splat(4, x)`: the length argument before Zig 0.11.

    A literal scalar is wrapped in `@as(T, x)`, since the old @splat took its element type from it.
    """
    view = view_source(code)
    edits: list[Edit] = []
    for typed in typed_calls(view, "@splat"):
        vector = _vector_type(code, typed.type_text)
        if vector is None or len(typed.call.args) != 1:
            continue
        length, element = vector
        scalar = code[typed.call.args[0][0] : typed.call.args[0][1]]
        if re.fullmatch(r"-?[\d.]+|'.*'", scalar):
            scalar = f"@as({element}, {scalar})"
        edits.append((typed.replace_start, typed.replace_end, f"@splat({length}, {scalar})"))
    return _finish(code, edits)


def regress_field_parent_ptr(code: str) -> str | None:
    """`const p: *T = @fieldParentPtr("f", ptr);` -> `@fieldParentPtr(T, "f", ptr)` (before Zig 0.12)."""
    return _retype(view_source(code), "@fieldParentPtr", "@fieldParentPtr", _pointee)


def regress_memcpy(code: str) -> str | None:
    """`@memcpy(dest, src)` -> `@memcpy(dest.ptr, src.ptr, src.len)`, the form before Zig 0.11."""
    view = view_source(code)
    edits: list[Edit] = []
    for call in calls_with(view.masked, r"@memcpy\b", 2):
        dest, source = (re.sub(r"\s+", "", view.masked[a:b]) for a, b in call.args)
        if not all(_SIMPLE_OPERAND.fullmatch(operand) for operand in (dest, source)):
            continue
        edits.append((call.open + 1, call.close, f"{dest}.ptr, {source}.ptr, {source}.len"))
    return _finish(code, edits)


_SIMPLE_OPERAND = re.compile(r"[A-Za-z_][\w.]*(?:\[[\w.+\-*]*\.\.[\w.+\-*]*\])?")


def regress_const_to_var(code: str) -> str | None:
    """One local `const` that is never mutated -> `var`: allowed before Zig 0.12."""
    view = view_source(code)
    kinds = brace_kinds(view.masked)
    declaration = re.compile(r"^[ \t]*const\s+([A-Za-z_]\w*)\s*(?::\s*([^=;]+?))?\s*=\s*([^;]*);", re.M)
    candidates: list[tuple[int, int]] = []
    for match in declaration.finditer(view.masked):
        name, annotation, value = match.group(1), match.group(2), match.group(3).strip()
        if kinds[match.start(1)] != "block" or name == "_":
            continue
        if _may_be_mutated(name, view.masked[match.end() :]):
            continue
        rank = _runtime_rank(annotation, value)
        if rank is not None:
            candidates.append((rank, match.start()))
    if not candidates:
        return None
    _, start = min(candidates)
    keyword = view.masked.index("const", start)
    return apply_edits(code, [(keyword, keyword + len("const"), "var")])


def _may_be_mutated(name: str, rest: str) -> bool:
    """Whether Zig would count a later use of `name` as a possible mutation (so `var` stays legal).

    Taking the address, calling a method on it and slicing it all reference the variable itself.
    """
    pattern = rf"&\s*{name}\b|(?<![\w.]){name}\s*\.\s*\w+\s*\(|(?<![\w.]){name}\s*\[[^\]]*\.\."
    return re.search(pattern, rest) is not None


_COMPTIME_ONLY_TYPES = {"type", "comptime_int", "comptime_float", "anytype", "@TypeOf(null)", "@TypeOf(undefined)"}
_PRIMITIVE_TYPE = re.compile(r"(?:[iu]\d+|f(?:16|32|64|80|128)|bool|void|usize|isize|anyerror|anyopaque|c_\w+)")
_TYPE_BUILTIN = re.compile(r"@(?:import|This|TypeOf|Type|Frame|cImport|typeInfo)\b|@Vector\s*\([^()]*\)\s*$")


def _runtime_rank(annotation: str | None, value: str) -> int | None:
    """How likely `const` -> `var` keeps a runtime-typed local (lower is likelier); None to skip.

    0: annotated with a runtime type; 1: a call or operator expression; 2: anything else that does
    not look like a type, a comptime number or an enum/anonymous literal.
    """
    if annotation is not None:
        typ = annotation.strip()
        return None if typ in _COMPTIME_ONLY_TYPES or typ.startswith("fn") else 0
    if re.match(r"-?[\d']|\.[A-Za-z_@{]|(?:struct|enum|union|opaque|error|fn|null|undefined)\b", value):
        return None
    if _TYPE_BUILTIN.match(value) or _PRIMITIVE_TYPE.fullmatch(value):
        return None
    if re.fullmatch(r"[\[?*].*", value, re.S) and not value.endswith("}"):
        return None
    if re.fullmatch(r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:\(.*\))?", value, re.S):
        return None
    return 1 if re.search(r"[(+\-*/%<>=!&|^]", value) else 2


def regress_meta_tag(code: str) -> str | None:
    """`std.meta.Tag(T)` -> `@TagType(T)`, the builtin removed in Zig 0.8."""
    view = view_source(code)
    matches = _std_matches(view, _STD_PREFIX + r"meta\s*\.\s*Tag\s*\(")
    return _finish(code, [(m.start(), m.end(), "@TagType(") for m in matches])


def regress_debug_print(code: str) -> str | None:
    """`std.debug.print` -> `std.debug.warn`, the name before Zig 0.7."""
    return _token_replace(code, r"(?<=\bdebug)(\s*\.\s*)print\b", r"\1warn")


def regress_writer(code: str) -> str | None:
    """`.writer()`/`.reader()` -> `.outStream()`/`.inStream()`, the names before Zig 0.7."""
    view = view_source(code)
    edits = [
        (m.start(), m.end(), ".outStream()" if m.group(1) == "writer" else ".inStream()")
        for m in re.finditer(r"\.(writer|reader)\(\)", view.masked)
    ]
    return _finish(code, edits)


def regress_builtin_module(code: str) -> str | None:
    """`std.builtin.T` -> `builtin.T`: `@import("builtin")` re-exported std.builtin before Zig 0.8."""
    view = view_source(code)
    module = '@import("builtin")'
    for alias in re.finditer(r"^const\s+(\w+)\s*=\s*@import\(\s*\"\s*\"\s*\)\s*;", view.masked, re.M):
        if re.sub(r"\s", "", code[alias.start() : alias.end()]).endswith('@import("builtin");'):
            module = alias.group(1)
    pattern = _STD_PREFIX + r"builtin\s*\.\s*(?=[A-Z])"
    return _finish(code, [(m.start(), m.end(), module + ".") for m in _std_matches(view, pattern)])


def _tag_edits(masked: str, old_names: dict[str, str], start: int, end: int) -> list[Edit]:
    """Rename each enum literal `.tag` (a key of `old_names`) in `masked[start:end]` to its old name."""
    literal = re.compile(r"(?<![\w)\]])\.(" + "|".join(old_names) + r")\b")
    return [(m.start(1), m.end(1), old_names[m.group(1)]) for m in literal.finditer(masked, start, end)]


_ENDIAN_NAMES = {"big": "Big", "little": "Little"}


def regress_endian(code: str) -> str | None:
    """`.big`/`.little` -> `.Big`/`.Little`: std.builtin.Endian tags before Zig 0.12."""
    masked = view_source(code).masked
    if not re.search(r"endian", masked, re.I):
        return None
    return _finish(code, _tag_edits(masked, _ENDIAN_NAMES, 0, len(masked)))


_ATOMIC_ORDERS = {
    "unordered": "Unordered",
    "monotonic": "Monotonic",
    "acquire": "Acquire",
    "release": "Release",
    "acq_rel": "AcqRel",
    "seq_cst": "SeqCst",
}


def regress_atomic_order(code: str) -> str | None:
    """`.seq_cst`, `.acquire`, ... -> `.SeqCst`, `.Acquire`, ...: AtomicOrder tags before Zig 0.12."""
    masked = view_source(code).masked
    edits: list[Edit] = []
    for call in find_calls(masked, r"@(?:atomicLoad|atomicStore|atomicRmw|cmpxchgStrong|cmpxchgWeak|fence)\b"):
        edits += _tag_edits(masked, _ATOMIC_ORDERS, call.open, call.close)
    return _finish(code, edits)


_TYPE_TAGS = {
    "type": "Type",
    "void": "Void",
    "bool": "Bool",
    "noreturn": "NoReturn",
    "int": "Int",
    "float": "Float",
    "pointer": "Pointer",
    "array": "Array",
    '@"struct"': "Struct",
    "comptime_float": "ComptimeFloat",
    "comptime_int": "ComptimeInt",
    "undefined": "Undefined",
    "null": "Null",
    "optional": "Optional",
    "error_union": "ErrorUnion",
    "error_set": "ErrorSet",
    '@"enum"': "Enum",
    '@"union"': "Union",
    '@"fn"': "Fn",
    '@"opaque"': "Opaque",
    "frame": "Frame",
    '@"anyframe"': "AnyFrame",
    "vector": "Vector",
    "enum_literal": "EnumLiteral",
}
_TAG_PATTERN = "|".join(re.escape(tag) for tag in sorted(_TYPE_TAGS, key=len, reverse=True))


def regress_type_info_tags(code: str) -> str | None:
    """`@typeInfo(T).@"struct"`, `.int`, ... -> `.Struct`, `.Int`, ...: std.builtin.Type tags before Zig 0.14."""
    view = view_source(code)
    masked = _unmask_quoted_identifiers(view)
    edits: list[Edit] = []

    def tag_edit(offset: int, match: re.Match[str]) -> None:
        edits.append((offset + match.start("tag"), offset + match.end("tag"), _TYPE_TAGS[match.group("tag")]))

    for call in find_calls(masked, r"@typeInfo\b"):
        rest = masked[call.close + 1 :]
        access = re.match(rf"\s*\.\s*(?P<tag>{_TAG_PATTERN})(?![\w\"])", rest)
        compare = re.match(rf"\s*[!=]=\s*\.(?P<tag>{_TAG_PATTERN})(?![\w\"])", rest)
        for match in (access, compare):
            if match:
                tag_edit(call.close + 1, match)
        switch = re.match(r"\s*\)\s*\{", rest)
        if switch and re.search(r"\bswitch\s*\(\s*$", masked[: call.start]):
            body_open = call.close + 1 + switch.end() - 1
            body_close = matching_close(masked, body_open)
            for prong in re.finditer(
                rf"(?<![\w)\]])\.(?P<tag>{_TAG_PATTERN})(?![\w\"])(?=\s*(?:=>|,))", masked[body_open:body_close]
            ):
                if _depth(masked, body_open, body_open + prong.start()) == 1:
                    tag_edit(body_open, prong)
    for call in find_calls(masked, r"@Type\b"):
        inner = re.match(rf"\s*\.\{{\s*\.(?P<tag>{_TAG_PATTERN})\s*=", masked[call.open + 1 :])
        if inner:
            tag_edit(call.open + 1, inner)
    return _finish(code, sorted(set(edits)))


def _unmask_quoted_identifiers(view: SourceView) -> str:
    """The mask with `@"..."` identifiers restored, since they are code, not strings."""
    chars = list(view.masked)
    for start, end in view.strings:
        if start > 0 and view.text[start - 1] == "@":
            chars[start:end] = view.text[start:end]
    return "".join(chars)


def _depth(masked: str, start: int, end: int) -> int:
    depth = 0
    for ch in masked[start:end]:
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
    return depth


def regress_branch_hint_cold(code: str) -> str | None:
    """`@branchHint(.cold);` -> `@setCold(true);`, the builtin removed in Zig 0.14."""
    return _token_replace(code, r"@branchHint\s*\(\s*\.cold\s*\)", "@setCold(true)")


def regress_export_pointer(code: str) -> str | None:
    """`@export(&f, ...)` -> `@export(f, ...)`: @export took the value itself before Zig 0.14."""
    view = view_source(code)
    edits: list[Edit] = []
    for call in find_calls(view.masked, r"@export\b"):
        if call.args and view.masked.startswith("&", call.args[0][0]):
            edits.append((call.args[0][0], call.args[0][0] + 1, ""))
    return _finish(code, edits)


def regress_pop_optional(code: str) -> str | None:
    """`list.pop().?` / `pop() orelse` -> `popOrNull()`: pop returned a non-optional before Zig 0.14."""
    return _token_replace(code, r"\.pop\(\)(?=\s*(?:\.\?|orelse\b|\)\s*\|))", ".popOrNull()")


_POINTER_SIZES = {"one": "One", "many": "Many", "slice": "Slice", "c": "C"}


def regress_pointer_size(code: str) -> str | None:
    """`.size == .one` -> `.size == .One`: std.builtin.Type.Pointer.Size tags before Zig 0.14."""

    def upper(match: re.Match[str]) -> str:
        return match.group(1) + "." + _POINTER_SIZES[match.group(2)]

    return _token_replace(code, r"(\bsize\s*[!=]=\s*)\.(one|many|slice|c)\b", upper)


def regress_default_value(code: str) -> str | None:
    """`.default_value_ptr` -> `.default_value`: the StructField field name before Zig 0.14."""
    return _token_replace(code, r"\.default_value_ptr\b", ".default_value")


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------

_INVALID_BUILTIN = "invalid builtin function: '{}'"


def _renamed_builtin(name: str, release: str, new: str, old: str) -> MigrationRule:
    return MigrationRule(
        name=name,
        release=release,
        summary=f"Zig {release[:-2]} renamed the builtin {old} to {new}.",
        regress=_rename(new, old),
        expected_error=re.escape(_INVALID_BUILTIN.format(old)),
    )


def _typed_rename(name: str, new: str, old: str) -> MigrationRule:
    return MigrationRule(
        name=name,
        release="0.11.0",
        summary=(
            f"Zig 0.11 renamed {old}(T, x) to {new}(x), which takes its result type from the context "
            "(a typed declaration or @as)."
        ),
        regress=_typed_builtin(new, old),
        expected_error=re.escape(_INVALID_BUILTIN.format(old)),
    )


def _one_argument_cast(name: str, builtin: str) -> MigrationRule:
    return MigrationRule(
        name=name,
        release="0.11.0",
        summary=(
            f"Zig 0.11 removed the type argument of {builtin}: {builtin}(T, x) became {builtin}(x) with the "
            "result type taken from the context (a typed declaration or @as)."
        ),
        regress=_typed_builtin(builtin, builtin),
        expected_error=r"expected 1 argument\(?s?\)?, found 2",
    )


RULES: tuple[MigrationRule, ...] = (
    _renamed_builtin("typeof_builtin", "0.6.0", "@TypeOf", "@typeOf"),
    MigrationRule(
        name="print_args_tuple",
        release="0.6.0",
        summary=(
            "Zig 0.6 removed var args: print-style functions take the format arguments as one tuple, "
            "print(fmt, .{ a, b })."
        ),
        regress=regress_print_tuple,
        expected_error=r"expected \d+ argument\(?s?\)?, found \d+|expected tuple or struct argument, found",
    ),
    MigrationRule(
        name="anytype_parameter",
        release="0.7.0",
        summary="Zig 0.7 renamed the generic parameter type `var` to `anytype`.",
        regress=regress_anytype,
        expected_error=r"expected type expression, found 'var'",
    ),
    MigrationRule(
        name="debug_warn_to_print",
        release="0.7.0",
        summary=(
            "Zig 0.7 replaced std.debug.warn with std.debug.print; warn was deprecated then and has since been removed."
        ),
        regress=regress_debug_print,
        expected_error=r"has no member named 'warn'",
    ),
    MigrationRule(
        name="out_stream_to_writer",
        release="0.7.0",
        summary="Zig 0.7 renamed outStream()/inStream() to writer()/reader(); the old names were later removed.",
        regress=regress_writer,
        expected_error=r"no field or member function named '(?:outStream|inStream)'",
    ),
    MigrationRule(
        name="testing_expect_try",
        release="0.8.0",
        summary=(
            "Zig 0.8 made the std.testing expect functions return an error instead of panicking, "
            "so every call needs `try`."
        ),
        regress=regress_testing_try,
        expected_error=r"error union is (?:ignored|discarded)",
    ),
    MigrationRule(
        name="format_string_specifier",
        release="0.8.0",
        summary=(
            "Zig 0.8 stopped printing byte slices and arrays as text under `{}`; strings need the `{s}` "
            "specifier (a compile error in current Zig)."
        ),
        regress=regress_format_s,
        expected_error=r"without a specifier",
    ),
    MigrationRule(
        name="tag_type_builtin",
        release="0.8.0",
        summary="Zig 0.8 removed the builtin @TagType; use std.meta.Tag(T).",
        regress=regress_meta_tag,
        expected_error=r"invalid builtin function: '@TagType'",
    ),
    MigrationRule(
        name="builtin_module_reexport",
        release="0.8.0",
        summary=(
            'Zig 0.8 stopped re-exporting std.builtin from @import("builtin"); types such as '
            "CallingConvention and StackTrace are reached through std.builtin."
        ),
        regress=regress_builtin_module,
        expected_error=r"has no member named '[A-Z]\w*'",
    ),
    MigrationRule(
        name="unused_local_discard",
        release="0.9.0",
        summary=(
            "Zig 0.9 made unused local variables, constants, parameters and captures compile errors; "
            "discard them with `_ = name;`."
        ),
        regress=regress_unused_discard,
        expected_error=r"unused (?:local constant|local variable|function parameter|capture)",
    ),
    MigrationRule(
        name="allocator_method",
        release="0.9.0",
        summary=(
            "Zig 0.9 changed the Allocator interface: allocators hand out a `std.mem.Allocator` value "
            "through the `allocator()` method instead of the `&x.allocator` field pointer."
        ),
        regress=regress_allocator_method,
        expected_error=r"no field named 'allocator'",
    ),
    MigrationRule(
        name="vector_builtin",
        release="0.10.0",
        summary=(
            "Zig 0.10 replaced std.meta.Vector(n, T) with the builtin @Vector(n, T); std.meta.Vector was removed "
            "in 0.11."
        ),
        regress=regress_vector_builtin,
        expected_error=r"has no member named 'Vector'",
    ),
    MigrationRule(
        name="for_index_range",
        release="0.11.0",
        summary="Zig 0.11 made for loops multi-object: the index comes from a `0..` range, `for (xs, 0..) |x, i|`.",
        regress=regress_for_index,
        expected_error=r"extra capture in for loop",
    ),
    MigrationRule(
        name="for_pointer_capture",
        release="0.11.0",
        summary="Zig 0.11 requires a pointer operand for by-reference for loops over arrays: `for (&array) |*x|`.",
        regress=regress_for_address,
        expected_error=r"pointer capture of non pointer type",
    ),
    _renamed_builtin("int_from_enum", "0.11.0", "@intFromEnum", "@enumToInt"),
    _renamed_builtin("int_from_ptr", "0.11.0", "@intFromPtr", "@ptrToInt"),
    _renamed_builtin("int_from_bool", "0.11.0", "@intFromBool", "@boolToInt"),
    _renamed_builtin("int_from_error", "0.11.0", "@intFromError", "@errorToInt"),
    _renamed_builtin("error_from_int", "0.11.0", "@errorFromInt", "@intToError"),
    _typed_rename("enum_from_int", "@enumFromInt", "@intToEnum"),
    _typed_rename("ptr_from_int", "@ptrFromInt", "@intToPtr"),
    _typed_rename("float_from_int", "@floatFromInt", "@intToFloat"),
    _typed_rename("int_from_float", "@intFromFloat", "@floatToInt"),
    _one_argument_cast("int_cast_result_type", "@intCast"),
    _one_argument_cast("truncate_result_type", "@truncate"),
    _one_argument_cast("float_cast_result_type", "@floatCast"),
    _one_argument_cast("bit_cast_result_type", "@bitCast"),
    _one_argument_cast("ptr_cast_result_type", "@ptrCast"),
    MigrationRule(
        name="splat_result_type",
        release="0.11.0",
        summary=(
            "Zig 0.11 removed the length argument of @splat: @splat(n, x) became @splat(x) with a vector result type."
        ),
        regress=regress_splat,
        expected_error=r"expected 1 argument\(?s?\)?, found 2",
    ),
    MigrationRule(
        name="memcpy_slices",
        release="0.11.0",
        summary=(
            "Zig 0.11 changed @memcpy(dest_ptr, src_ptr, len) to @memcpy(dest, src) over slices or arrays of "
            "equal length."
        ),
        regress=regress_memcpy,
        expected_error=r"expected 2 argument\(?s?\)?, found 3",
    ),
    MigrationRule(
        name="var_never_mutated_discard",
        release="0.12.0",
        summary=(
            "Zig 0.12 made a `var` that is never mutated a compile error; a variable that must stay "
            "runtime-known is marked with `_ = &x;`."
        ),
        regress=regress_pointer_discard,
        expected_error=r"local variable is never mutated",
    ),
    MigrationRule(
        name="const_never_mutated",
        release="0.12.0",
        summary="Zig 0.12 made a local `var` that is never mutated a compile error; declare it `const`.",
        regress=regress_const_to_var,
        expected_error=r"local variable is never mutated",
    ),
    MigrationRule(
        name="field_parent_ptr_result_type",
        release="0.12.0",
        summary=(
            'Zig 0.12 dropped the parent type argument of @fieldParentPtr: @fieldParentPtr(T, "f", p) '
            'became @fieldParentPtr("f", p) with the result type taken from the context.'
        ),
        regress=regress_field_parent_ptr,
        expected_error=r"expected 2 argument\(?s?\)?, found 3",
    ),
    MigrationRule(
        name="endian_lowercase",
        release="0.12.0",
        summary="Zig 0.12 renamed the std.builtin.Endian tags .Big/.Little to .big/.little.",
        regress=regress_endian,
        expected_error=r"(?:has no member|no field) named '(?:Big|Little)'",
    ),
    MigrationRule(
        name="atomic_order_lowercase",
        release="0.12.0",
        summary="Zig 0.12 renamed the std.builtin.AtomicOrder tags to snake case (.SeqCst became .seq_cst).",
        regress=regress_atomic_order,
        expected_error=r"has no member named '(?:" + "|".join(_ATOMIC_ORDERS.values()) + ")'",
    ),
    MigrationRule(
        name="std_rand_to_random",
        release="0.12.0",
        summary="Zig 0.12 renamed the std.rand namespace to std.Random.",
        regress=regress_std_random,
        expected_error=r"has no member named 'rand'",
    ),
    MigrationRule(
        name="child_process_moved",
        release="0.12.0",
        summary="Zig 0.12 moved std.ChildProcess to std.process.Child.",
        regress=regress_child_process,
        expected_error=r"has no member named 'ChildProcess'",
    ),
    MigrationRule(
        name="std_os_to_posix",
        release="0.12.0",
        summary="Zig 0.12 moved the POSIX API from std.os to std.posix.",
        regress=regress_std_posix,
        expected_error=r"struct 'os' has no member named",
    ),
    MigrationRule(
        name="mem_copy_removed",
        release="0.12.0",
        summary="std.mem.copy was deprecated in Zig 0.11 and removed in 0.12; use @memcpy or std.mem.copyForwards.",
        regress=regress_mem_copy,
        expected_error=r"has no member named 'copy'",
    ),
    MigrationRule(
        name="type_info_lowercase",
        release="0.14.0",
        summary=(
            'Zig 0.14 renamed the std.builtin.Type (@typeInfo) tags to lowercase: .Struct became .@"struct", '
            ".Int became .int, .Pointer became .pointer."
        ),
        regress=regress_type_info_tags,
        expected_error=r"no field named '\w+' in (?:union|enum) 'builtin\.Type",
    ),
    MigrationRule(
        name="set_cold_to_branch_hint",
        release="0.14.0",
        summary="Zig 0.14 replaced @setCold(true) with @branchHint(.cold).",
        regress=regress_branch_hint_cold,
        expected_error=r"invalid builtin function: '@setCold'",
    ),
    MigrationRule(
        name="export_takes_pointer",
        release="0.14.0",
        summary="Zig 0.14 changed @export to take a pointer to the exported value: @export(&f, .{ ... }).",
        regress=regress_export_pointer,
        expected_error=r"expected pointer type",
    ),
    MigrationRule(
        name="array_list_pop_optional",
        release="0.14.0",
        summary="Zig 0.14 made ArrayList.pop return an optional and removed popOrNull.",
        regress=regress_pop_optional,
        expected_error=r"no field or member function named 'popOrNull'",
    ),
    MigrationRule(
        name="pointer_size_lowercase",
        release="0.14.0",
        summary=(
            "Zig 0.14 renamed the std.builtin.Type.Pointer.Size tags to lowercase (.One became .one, .Slice "
            "became .slice)."
        ),
        regress=regress_pointer_size,
        expected_error=r"has no member named '(?:One|Many|Slice|C)'",
    ),
    MigrationRule(
        name="struct_field_default_value_ptr",
        release="0.14.0",
        summary="Zig 0.14 renamed std.builtin.Type.StructField.default_value to default_value_ptr.",
        regress=regress_default_value,
        expected_error=r"no field named 'default_value'",
    ),
)


def applicable_rules(code: str) -> list[MigrationRule]:
    """The rules whose regression changes `code`."""
    return [rule for rule in RULES if rule.regress(code) is not None]


def rule_by_name(name: str) -> MigrationRule:
    """Look a rule up by its name; KeyError when there is none."""
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)

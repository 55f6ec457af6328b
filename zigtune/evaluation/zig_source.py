"""Just enough of Zig's surface syntax to cut a file into top-level items and to swap function bodies.

Used to turn a held-out example into a task (a stub whose function bodies are placeholders, hidden tests from
its ``test`` blocks) and to build cheating solutions for the suite's self-check. Strings, character literals,
multiline string lines and comments are blanked out first (same length), so braces and keywords inside them
never count. Not a parser: what it cannot cut cleanly, the engine's checks of the resulting task reject.
No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from zigtune.validation.zig_syntax import CLOSERS, OPENERS, matching_close, view_source

FUNCTION_HEAD = re.compile(r"\bfn\s+([A-Za-z_]\w*|@\"[^\"\n]*\")\s*\(")
BLOCK_ITEM = re.compile(r"^(?:pub\s+)?(?:(?:export|extern|inline|noinline)\s+)*fn\b|^test\b|^comptime\s*\{")
DECLARATION = re.compile(
    r"^(?P<pub>pub\s+)?(?:(?:export|extern|inline|noinline|threadlocal)\s+)*(?P<kind>const|var|fn)\s+"
    r"(?P<name>[A-Za-z_]\w*)"
)
#: ``const std = @import("std");``, ``const expect = std.testing.expect;``: names for things from elsewhere.
ALIAS = re.compile(r"^const\s+[A-Za-z_]\w*\s*=\s*(?:@import\(\"[^\"]*\"\)|[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*\s*;$")
TYPE_BRACE = re.compile(r"(?:\berror|\bstruct|\benum|\bunion|\bopaque)\s*(?:\([^()]*\))?\s*$")


def blank(code: str) -> str:
    """``code`` with the insides of strings, character literals and comments replaced by spaces."""
    return view_source(code).masked


@dataclass(frozen=True)
class Item:
    """A top-level item: its text (with the comments just above it), and what it declares."""

    text: str
    kind: str  # "test", "fn", "const", "var", "comptime", "other"
    name: str | None
    public: bool

    @property
    def is_alias(self) -> bool:
        return bool(ALIAS.match(blank(self.text).strip()))


def top_level_items(code: str) -> list[Item]:
    """The file cut at depth-0 ``;`` and at the closing brace of functions, tests and comptime blocks."""
    blanked = blank(code)
    items, start, depth, head, opened = [], 0, 0, None, 0
    for index, char in enumerate(blanked):
        if head is None and not char.isspace():
            head = index
        if char in OPENERS:
            opened = index if depth == 0 else opened
            depth += 1
        elif char in CLOSERS:
            depth -= 1
        block_end = (
            char == "}"
            and head is not None
            and bool(BLOCK_ITEM.match(blanked[head:index]))
            and not TYPE_BRACE.search(blanked[head:opened])  # the braces of ``error{...}`` in a return type
        )
        ends = depth == 0 and head is not None and (char == ";" or block_end)
        if ends:
            items.append(_item(code[start : index + 1], blanked[head : index + 1]))
            start, head = index + 1, None
    if code[start:].strip():
        items.append(_item(code[start:], blanked[head or start :]))
    elif items:  # trailing blank lines stay with the last item: the items put together are the file
        items[-1] = replace(items[-1], text=items[-1].text + code[start:])
    return items


def _item(text: str, blanked_head: str) -> Item:
    head = blanked_head.strip()
    if head.startswith("test"):
        return Item(text, "test", None, False)
    if head.startswith("comptime"):
        return Item(text, "comptime", None, False)
    found = DECLARATION.match(head)
    if found:
        return Item(text, found["kind"], found["name"], bool(found["pub"]))
    return Item(text, "other", None, head.startswith("pub"))


@dataclass(frozen=True)
class FunctionBody:
    name: str
    parameters: list[str]
    open_brace: int
    close_brace: int
    indent: str


def _parameter_names(text: str) -> list[str]:
    names, depth, current = [], 0, []
    for char in [*text, ","]:
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth -= 1
        if char == "," and depth == 0:
            parameter = "".join(current).strip()
            parameter = re.sub(r"^(?:comptime|noalias)\s+", "", parameter)
            name = parameter.split(":", 1)[0].strip() if ":" in parameter else ""
            if re.fullmatch(r"[A-Za-z_]\w*", name) and name != "_":
                names.append(name)
            current = []
        else:
            current.append(char)
    return names


def function_bodies(code: str) -> list[FunctionBody]:
    """Every function with a body, outermost only (functions inside a body are part of it), in order."""
    blanked = blank(code)
    bodies: list[FunctionBody] = []
    for head in FUNCTION_HEAD.finditer(blanked):
        if bodies and head.start() < bodies[-1].close_brace:
            continue
        params_open = head.end() - 1
        params_close = matching_close(blanked, params_open)
        if params_close < 0:
            continue
        index, body_open = params_close + 1, -1
        while index < len(blanked) and blanked[index] != ";":
            if blanked[index] == "{":
                if TYPE_BRACE.search(blanked[params_close + 1 : index]):
                    index = max(matching_close(blanked, index), index) + 1  # the braces of a type in the return type
                    continue
                body_open = index
                break
            index += 1
        close = matching_close(blanked, body_open) if body_open >= 0 else -1
        if close < 0:
            continue
        line_start = code.rfind("\n", 0, head.start()) + 1
        indent = re.match(r"[ \t]*", code[line_start:]).group(0)  # type: ignore[union-attr]
        name = code[head.start(1) : head.end(1)]
        parameters = _parameter_names(blanked[params_open + 1 : params_close])
        bodies.append(FunctionBody(name, [code_name for code_name in parameters], body_open, close, indent))
    return bodies


def replace_function_bodies(
    code: str, body: Callable[[FunctionBody], str], only: Callable[[FunctionBody], bool] = lambda _: True
) -> str:
    """``code`` with the body of each (outermost) function that ``only`` accepts replaced by ``body(function)``
    (statements, one a line); its parameters are discarded first (``_ = x;``) so the result compiles."""
    pieces, last = [], 0
    for function in function_bodies(code):
        if not only(function):
            continue
        inner = function.indent + "    "
        statements = [f"_ = {name};" for name in function.parameters] + body(function).splitlines()
        pieces += [code[last : function.open_brace], "{\n", *(f"{inner}{s}\n" for s in statements)]
        pieces.append(f"{function.indent}}}")
        last = function.close_brace + 1
    return "".join(pieces) + code[last:]

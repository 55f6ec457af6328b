"""The one way zigtune finds the Zig code in a text and decides how to check it.

Used by validation (is the answer's code correct?) and by evaluation (does the model's code
compile?). No dagster here.

Rules of :func:`extract_zig_code`:

- Fenced blocks (```` ``` ```` or ``~~~``) tagged ``zig``, or untagged ones whose body looks like Zig,
  are Zig; blocks tagged with another language (``c``, ``sh``, ``console``, ``python``...) are not.
- No fenced Zig block: a text that is a whole program on its own, as the original data has
  answers, counts when it starts like Zig code (``const std = @import("std");``, ``pub fn``,
  ``test "..."``) and every non-blank line looks like code, not prose.
- Several Zig blocks: when one or more is self-contained (it has a ``test`` or a ``pub fn main``),
  the largest of those is the program, and the others are illustrations around it (a signature, a
  call site). When none is, they are read as parts of one program and joined in order, dropping
  repeated ``@import`` lines, so a type declared in one block and used in the next compiles.
"""

from __future__ import annotations

import re

FENCED_BLOCK = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
ZIG_TAGS = {"zig", "zig-lang", "ziglang"}

TEST_DECLARATION = re.compile(r'^\s*test\s*(?:"[^"\n]*"|[A-Za-z_]\w*)?\s*\{', re.MULTILINE)
MAIN_FUNCTION = re.compile(r"^\s*pub\s+fn\s+main\s*\(", re.MULTILINE)
IMPORT_LINE = re.compile(r'^\s*(?:pub\s+)?const\s+\w+\s*=\s*@import\("[^"]+"\)\s*;\s*$')

# Strong signs of Zig: things no other common language writes.
ZIG_MARKERS = re.compile(
    r'@import\("|\bpub fn\b|^\s*test\s*"|\bcomptime\b|\berrdefer\b|\bstd\.(?:debug|testing|mem|heap)\.'
    r"|\bfn\s+\w+\s*\([^)]*\)\s*!?[\w.\[\]*?]*\s*\{|\[\]const u8|\borelse\b|@as\(|@intCast\(",
    re.MULTILINE,
)
# Lines a whole program may have: blank, comments, multiline-string lines, and lines that end the
# way Zig lines end (prose ends with a full stop or a word).
CODE_LINE = re.compile(r"^\s*(?:$|//|\\\\)|[;{},(\[\]):]\s*(?://.*)?$")


def _looks_like_zig(code: str) -> bool:
    return bool(ZIG_MARKERS.search(code))


def _fenced_zig_blocks(text: str) -> list[str] | None:
    """The Zig blocks of ``text``; ``None`` when it has no fenced blocks at all."""
    matches = list(FENCED_BLOCK.finditer(text))
    if not matches:
        return None
    blocks = []
    for match in matches:
        tag = match.group("info").strip().split()[0].lower() if match.group("info").strip() else ""
        body = match.group("body")
        if (tag in ZIG_TAGS or (not tag and _looks_like_zig(body))) and body.strip():
            blocks.append(body.rstrip() + "\n")
    return blocks


def is_self_contained(code: str) -> bool:
    """Has an entry point the checker can use: a ``test`` block or ``pub fn main``."""
    return bool(TEST_DECLARATION.search(code) or MAIN_FUNCTION.search(code))


def _join_parts(blocks: list[str]) -> str:
    seen_imports: set[str] = set()
    lines: list[str] = []
    for block in blocks:
        for line in block.splitlines():
            if IMPORT_LINE.match(line):
                key = line.strip()
                if key in seen_imports:
                    continue
                seen_imports.add(key)
            lines.append(line)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _whole_program(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or not _looks_like_zig(stripped):
        return None
    lines = [line for line in stripped.splitlines() if line.strip()]
    first = lines[0].lstrip()
    if not (first.startswith(("const ", "pub ", "test ", "//", "fn ", "var ", "export ", "extern "))):
        return None
    if not all(CODE_LINE.search(line) for line in lines):
        return None
    return stripped + "\n"


def extract_zig_code(text: str | None) -> str | None:
    """The Zig program in ``text`` (an answer, a model completion), or ``None`` when it has none."""
    if not text:
        return None
    blocks = _fenced_zig_blocks(text)
    if blocks is None:
        return _whole_program(text)
    if not blocks:
        return None
    if len(blocks) == 1:
        return blocks[0]
    complete = [block for block in blocks if is_self_contained(block)]
    if complete:
        return max(complete, key=len)
    return _join_parts(blocks)


def check_mode(code: str) -> str:
    """How to check ``code``: ``test`` when it has test blocks, ``run`` when it has ``pub fn main``,
    else ``build-obj`` (compile only: declarations without an entry point)."""
    if TEST_DECLARATION.search(code):
        return "test"
    if MAIN_FUNCTION.search(code):
        return "run"
    return "build-obj"

"""Zig source with its strings and comments blanked out, and bracket matching over it.

The one masking that every module reading Zig code by regular expression uses (the migration catalogue,
the evaluation's cutting of files into items): string literals, character literals, ``\\\\`` multiline
string lines and ``//`` comments become spaces, offsets unchanged, so brackets and keywords inside them
never count. Pure Python standard library; no dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPENERS = "([{"
CLOSERS = ")]}"


@dataclass(frozen=True)
class SourceView:
    """Zig source with non-code text blanked out, offsets unchanged.

    `masked` has the same length as `text`; the contents of string and character literals,
    multiline string lines and comments are replaced by spaces (quotes stay), so regular
    expressions over `masked` only see code. `strings` lists the spans of ordinary string
    literals, quotes included.
    """

    text: str
    masked: str
    strings: tuple[tuple[int, int], ...] = field(default=())


def view_source(text: str) -> SourceView:
    """Mask string literals, character literals, multiline string lines and comments."""
    out = list(text)
    strings: list[tuple[int, int]] = []
    i, n = 0, len(text)

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch = text[i]
        if text.startswith("//", i) or text.startswith("\\\\", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            blank(i, end)
            i = end
        elif ch == '"' or ch == "'":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            end = min(j + 1, n)
            blank(i + 1, min(j, n))  # an unterminated literal runs to the end of the text
            if ch == '"':
                strings.append((i, end))
            i = end
        else:
            i += 1
    return SourceView(text, "".join(out), tuple(strings))


def matching_close(masked: str, open_index: int) -> int:
    """Index of the bracket closing the one at `open_index`, or -1 when unbalanced."""
    depth = 0
    for k in range(open_index, len(masked)):
        ch = masked[k]
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
            if depth == 0:
                return k
    return -1

"""Split the Zig language reference (markdown) into sections, as the original scripts do, and more.

The original splits on ``#``, ``##`` and ``###`` heading lines (regex ``^(#{1,3})\\s+(.+)$``); a
section is its heading line plus the text up to the next such heading, and text before the first
heading is a section titled "Intro" at level 0. This module keeps that rule and adds what the
original lacks: headings inside fenced code or HTML comments are not headings, nothing is lost (the
sections' texts put back together are the input, byte for byte), every section has a stable id and
its breadcrumb, the reference's annotated examples are parsed into fields, and sections over a size
budget are split into parts at paragraph or code-block boundaries.

Pure functions; no dagster here.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field

import polars as pl

#: Sections shorter than this are kept but flagged: the original skips them when generating pairs.
SHORT_SECTION_CHARS = 200

#: Sections longer than this are split into parts (at paragraph or code-block boundaries).
#: The original sends whole sections and treats > 5,000 characters as "long" (continuation rounds);
#: parts of at most this size keep every prompt well inside an 8k-token context.
DEFAULT_MAX_SECTION_CHARS = 12_000

HEADING = re.compile(r"^(#{1,3})\s+(.+)$")
FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
EXAMPLE_COMMENT = re.compile(r"^<!-- example: (?P<body>.*?) -->\s*$")
OUTPUT_COMMENT = re.compile(r"^<!-- output: (?P<name>.*?) -->\s*$")

EXAMPLE_STRUCT = pl.Struct(
    {
        "name": pl.Utf8,
        "kind": pl.Utf8,
        "expect": pl.Utf8,
        "error_text": pl.Utf8,
        "options": pl.Utf8,
        "code": pl.Utf8,
        "output": pl.Utf8,
    }
)

#: The schema of the ``doc_sections`` asset: one row per section (or part of a long section).
SECTIONS_SCHEMA = pl.Schema(
    {
        "section_id": pl.Utf8,
        "order": pl.Int32,
        "title": pl.Utf8,
        "level": pl.Int8,
        "breadcrumb": pl.Utf8,
        "part": pl.Int16,
        "parts": pl.Int16,
        "text": pl.Utf8,
        "size": pl.Int32,
        "is_short": pl.Boolean,
        "code_blocks": pl.List(pl.Utf8),
        "examples": pl.List(EXAMPLE_STRUCT),
    }
)


class DocsFormatError(ValueError):
    """The markdown cannot be split into sections (no headings, not text)."""


@dataclass(frozen=True)
class Example:
    """One annotated example of the reference: ``<!-- example: NAME kind=K expect=E ... -->``."""

    name: str
    kind: str
    expect: str
    error_text: str | None
    options: str
    code: str
    output: str | None = None


@dataclass
class Section:
    """A heading (or the Intro) and the text up to the next heading of level 1-3."""

    title: str
    level: int
    breadcrumb: tuple[str, ...]
    text: str
    code_blocks: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)


@dataclass
class _Block:
    """A run of lines that must not be cut: a paragraph, a fenced code block or an HTML comment."""

    text: str
    language: str | None = None
    is_code: bool = False


def _blocks(text: str) -> list[_Block]:
    """Group lines into blocks; the blocks' texts put back together are ``text``."""
    blocks: list[_Block] = []
    current: list[str] = []
    fence: str | None = None
    language: str | None = None
    in_comment = False

    def flush(**kwargs: object) -> None:
        if current:
            blocks.append(_Block("".join(current), **kwargs))  # type: ignore[arg-type]
            current.clear()

    for line in text.splitlines(keepends=True):
        if fence is not None:
            current.append(line)
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                flush(language=language, is_code=True)
                fence = None
            continue
        if in_comment:
            current.append(line)
            if "-->" in line:
                in_comment = False
                flush()
            continue
        opened = FENCE_OPEN.match(line)
        if opened:
            flush()
            fence, language = opened.group(1), opened.group(2).lower() or None
            current.append(line)
            continue
        if line.lstrip().startswith("<!--") and "-->" not in line:
            flush()
            in_comment = True
            current.append(line)
            continue
        if HEADING.match(line.rstrip("\r\n")) or line.startswith("<!--"):
            flush()
            current.append(line)
            flush()
            continue
        current.append(line)
        if not line.strip():
            flush()
    # An unclosed fence or comment still ends the text: keep it as it is.
    flush(language=language, is_code=fence is not None)
    return blocks


def _fence_body(block: str) -> str:
    """The code inside a fenced block, without its fence lines."""
    lines = block.splitlines(keepends=True)
    body = lines[1:]
    if body and FENCE_OPEN.match(body[-1]) and not body[-1].strip().strip("`~"):
        body = body[:-1]
    return "".join(body).rstrip("\n") + "\n" if body else ""


def parse_example_comment(body: str) -> dict[str, str | None]:
    """Fields of ``NAME kind=K expect=E [error="..."] [options]`` (NAME may contain spaces)."""
    head, sep, rest = body.partition(" kind=")
    if not sep:
        raise DocsFormatError(f"example comment without kind=: {body[:80]!r}")
    tokens = shlex.split("kind=" + rest, posix=True)
    fields: dict[str, str | None] = {"name": head.strip(), "error_text": None}
    options = []
    for token in tokens:
        key, eq, value = token.partition("=")
        if key in ("kind", "expect"):
            fields[key] = value
        elif key == "error":
            fields["error_text"] = value
        else:
            options.append(token if eq else key)
    fields["options"] = " ".join(options)
    if not fields.get("kind") or not fields.get("expect"):
        raise DocsFormatError(f"example comment without kind or expect: {body[:80]!r}")
    return fields


def split_sections(markdown: str) -> list[Section]:
    """Split markdown at heading lines of level 1-3 (outside code and comments), losing nothing."""
    if "\x00" in markdown:
        raise DocsFormatError("the docs contain NUL bytes: this is not a markdown text file")
    sections: list[Section] = []
    trail: list[str] = []
    current = Section("Intro", 0, ("Intro",), "")
    pending_example: dict[str, str | None] | None = None
    pending_output: str | None = None
    examples_by_name: dict[str, Example] = {}

    for block in _blocks(markdown):
        heading = HEADING.match(block.text.rstrip("\r\n")) if not block.is_code else None
        if heading and "\n" not in block.text.rstrip("\r\n"):
            if current.text:
                sections.append(current)
            level, title = len(heading.group(1)), heading.group(2).strip()
            trail = trail[: level - 1] + [""] * max(0, level - 1 - len(trail)) + [title]
            trail = trail[:level]
            current = Section(title, level, tuple(t for t in trail if t), block.text)
            pending_example = pending_output = None
            continue
        current.text += block.text
        stripped = block.text.strip()
        example = EXAMPLE_COMMENT.match(stripped)
        output = OUTPUT_COMMENT.match(stripped)
        if example:
            pending_example = parse_example_comment(example.group("body"))
        elif output:
            pending_output = output.group("name").strip()
        elif block.is_code:
            code = _fence_body(block.text)
            if block.language == "zig":
                current.code_blocks.append(code)
            if pending_example is not None:
                parsed = Example(code=code, **pending_example)  # type: ignore[arg-type]
                current.examples.append(parsed)
                examples_by_name[parsed.name] = parsed
                pending_example = None
            elif pending_output is not None:
                target = examples_by_name.get(pending_output)
                if target is not None:
                    index = current.examples.index(target) if target in current.examples else -1
                    with_output = Example(**{**target.__dict__, "output": code})
                    if index >= 0:
                        current.examples[index] = with_output
                    examples_by_name[pending_output] = with_output
                pending_output = None
    if current.text:
        sections.append(current)
    if not any(section.level > 0 for section in sections):
        raise DocsFormatError("no markdown headings (#, ## or ###) found: is this the Zig language reference?")
    return sections


def count_headings_and_code(markdown: str) -> tuple[int, int]:
    """Headings of level 1-3 and fenced code blocks, counted as the splitter sees them."""
    blocks = _blocks(markdown)
    headings = sum(1 for b in blocks if not b.is_code and HEADING.match(b.text.rstrip("\r\n")))
    return headings, sum(1 for b in blocks if b.is_code)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def section_id(breadcrumb: tuple[str, ...], text: str) -> str:
    """Stable id: the breadcrumb's slug and a short hash of the section's own text."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{'.'.join(_slug(part) for part in breadcrumb)}-{digest}"


def split_long_text(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` at paragraph or code-block boundaries into parts of at most ``max_chars``.

    A single block longer than the budget (a huge code listing) stays whole: code is never cut.
    """
    if len(text) <= max_chars:
        return [text]
    parts: list[str] = []
    current = ""
    for block in _blocks(text):
        if current and len(current) + len(block.text) > max_chars and current.strip():
            parts.append(current)
            current = ""
        current += block.text
    if current:
        parts.append(current)
    # A sliver (a lone heading before a huge listing, a last table row) joins its neighbour:
    # the budget is soft by at most one short piece.
    merged: list[str] = []
    for piece in parts:
        if merged and (len(piece.strip()) < SHORT_SECTION_CHARS or len(merged[-1].strip()) < SHORT_SECTION_CHARS):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def sections_frame(sections: list[Section], max_chars: int = DEFAULT_MAX_SECTION_CHARS) -> pl.DataFrame:
    """The ``doc_sections`` table: one row per section or part, in document order."""
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for section in sections:
        pieces = split_long_text(section.text, max_chars)
        for part, piece in enumerate(pieces):
            identifier = section_id(section.breadcrumb, piece)
            while identifier in seen:  # two identical sections under one breadcrumb: keep both
                identifier += "x"
            seen.add(identifier)
            examples = [e for e in section.examples if e.code in piece] if len(pieces) > 1 else section.examples
            blocks = [c for c in section.code_blocks if c in piece] if len(pieces) > 1 else section.code_blocks
            rows.append(
                {
                    "section_id": identifier,
                    "order": len(rows),
                    "title": section.title,
                    "level": section.level,
                    "breadcrumb": " > ".join(section.breadcrumb),
                    "part": part,
                    "parts": len(pieces),
                    "text": piece,
                    "size": len(piece),
                    "is_short": len(section.text.strip()) < SHORT_SECTION_CHARS,
                    "code_blocks": blocks,
                    "examples": [e.__dict__ for e in examples],
                }
            )
    return pl.DataFrame(rows, schema=SECTIONS_SCHEMA)


def examples_frame(sections: pl.DataFrame) -> pl.DataFrame:
    """One row per annotated example, with the id and breadcrumb of the section that holds it."""
    return (
        sections.select("section_id", "breadcrumb", "title", "text", "examples")
        .explode("examples")
        .drop_nulls("examples")
        .unnest("examples")
    )


def program_output(shell_block: str | None) -> str | None:
    """What the program printed in a published shell transcript: the lines after the last ``$`` command."""
    if not shell_block:
        return None
    lines = shell_block.splitlines()
    last_command = max((i for i, line in enumerate(lines) if line.startswith("$ ")), default=-1)
    printed = lines[last_command + 1 :]
    return "\n".join(printed) + "\n" if printed else ""

"""zigtune.docs.sections on the real Zig 0.14.0 reference and on small planted texts."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from zigtune.docs.sections import (
    SECTIONS_SCHEMA,
    DocsFormatError,
    examples_frame,
    parse_example_comment,
    program_output,
    sections_frame,
    split_long_text,
    split_sections,
)

EXPECTED_EXAMPLES = {
    ("test", "pass"): 131,
    ("syntax", "pass"): 40,
    ("test", "compile_error"): 39,
    ("exe", "pass"): 31,
    ("exe", "runtime_failure"): 24,
    ("test", "runtime_panic"): 8,
    ("obj", "pass"): 5,
    ("test", "test_failure"): 3,
    ("obj", "compile_error"): 3,
    ("exe", "compile_error"): 3,
}


def test_reference_splits_into_343_heading_sections_plus_intro(docs_markdown: str) -> None:
    sections = split_sections(docs_markdown)
    levels = Counter(section.level for section in sections)
    assert levels == {0: 1, 1: 52, 2: 254, 3: 37}
    assert sections[0].title == "Intro" and sections[0].text.lstrip().startswith("<!--")
    assert "".join(section.text for section in sections) == docs_markdown


def test_reference_examples_by_kind_and_expectation(docs_markdown: str) -> None:
    examples = examples_frame(sections_frame(split_sections(docs_markdown)))
    assert examples.height == 287
    counts = {
        (r["kind"], r["expect"]): r["len"] for r in examples.group_by("kind", "expect").len().iter_rows(named=True)
    }
    assert counts == EXPECTED_EXAMPLES
    hello = examples.filter(pl.col("name") == "hello.zig").row(0, named=True)
    assert hello["breadcrumb"] == "Hello World"
    assert hello["code"].startswith('const std = @import("std");')
    assert program_output(hello["output"]) == "Hello, world!\n"
    doc_comment = examples.filter(pl.col("name") == "invalid_doc-comment.zig").row(0, named=True)
    assert doc_comment["error_text"] == "expected type expression, found 'a document comment'"


def test_ids_are_stable_and_local_to_each_section(docs_markdown: str) -> None:
    first = sections_frame(split_sections(docs_markdown))
    again = sections_frame(split_sections(docs_markdown))
    assert first["section_id"].to_list() == again["section_id"].to_list()
    assert first["section_id"].n_unique() == first.height

    edited_markdown = docs_markdown.replace("Zig supports 3 types of comments.", "Zig has three kinds of comments.")
    edited = sections_frame(split_sections(edited_markdown))
    changed = set(first["section_id"]) ^ set(edited["section_id"])
    assert len(changed) == 2  # only the "Comments" section got a new id (old one out, new one in)
    assert all(identifier.startswith("comments-") for identifier in changed)


def test_breadcrumbs_follow_the_heading_levels(docs_markdown: str) -> None:
    frame = sections_frame(split_sections(docs_markdown))
    breadcrumbs = set(frame["breadcrumb"])
    assert "Comments > Doc Comments" in breadcrumbs
    assert "Values > String Literals and Unicode Code Point Literals > Escape Sequences" in breadcrumbs


def test_frame_schema_and_short_sections(docs_markdown: str) -> None:
    frame = sections_frame(split_sections(docs_markdown))
    assert frame.schema == SECTIONS_SCHEMA
    assert frame.filter(pl.col("is_short")).height > 0
    assert all(size < 200 for size in frame.filter(pl.col("is_short"))["size"])


def test_headings_inside_code_and_comments_are_not_headings() -> None:
    markdown = "# Real\n\ntext\n\n```zig\n# not a heading\n## nor this\n```\n\n<!--\n# hidden\n-->\n## Sub\nmore\n"
    sections = split_sections(markdown)
    assert [(s.title, s.level) for s in sections] == [("Real", 1), ("Sub", 2)]
    assert "".join(s.text for s in sections) == markdown


def test_level_four_headings_stay_inside_their_section() -> None:
    sections = split_sections("# A\n#### deep\ntext\n")
    assert len(sections) == 1 and "#### deep" in sections[0].text


def test_long_sections_split_at_block_boundaries_and_keep_breadcrumb() -> None:
    paragraph = "word " * 60 + "\n\n"
    code = "```zig\n" + "const x = 1;\n" * 40 + "```\n\n"
    markdown = "# Big\n\n" + (paragraph + code) * 20
    frame = sections_frame(split_sections(markdown), max_chars=2_000)
    assert frame.height > 1
    assert frame["parts"].unique().to_list() == [frame.height]
    assert set(frame["breadcrumb"]) == {"Big"}
    assert "".join(frame["text"]) == markdown
    for text in frame["text"]:
        assert text.count("```") % 2 == 0  # no code block was cut


def test_a_huge_code_block_is_never_cut() -> None:
    code = "```zig\n" + "const x = 1;\n" * 500 + "```\n"
    assert split_long_text(code, 100) == [code]


def test_example_comment_with_spaces_and_options() -> None:
    fields = parse_example_comment("Assembly Syntax Explained.zig kind=exe expect=pass target=x86_64-linux link_libc")
    assert fields["name"] == "Assembly Syntax Explained.zig"
    assert (fields["kind"], fields["expect"], fields["options"]) == ("exe", "pass", "target=x86_64-linux link_libc")
    fields = parse_example_comment("t.zig kind=test expect=compile_error error=\"expected type 'u8'\"")
    assert fields["error_text"] == "expected type 'u8'"


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("just some prose\nwith no headings\n", "no markdown headings"),
        ("```\n# inside code only\n```\n", "no markdown headings"),
        ("# a\x00b\n", "NUL bytes"),
    ],
)
def test_unsplittable_text_is_a_clear_error(markdown: str, message: str) -> None:
    with pytest.raises(DocsFormatError, match=message):
        split_sections(markdown)

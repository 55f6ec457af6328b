"""The screen of degenerate pairs: template echoes said in other words are caught, real pairs are not.

The echoes are the kind a small instruct model gives back when asked for pairs in the prompt's format
(the first is the pair a real llama.cpp run with a 1.5B model wrote, issue 28); the real pairs are the
reference's own prose, the offline generator's pairs from it, and pairs as an LLM writes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from tests.llm_runs import TEMPLATES, generate, sections
from tests.old_zig_model import PROGRAMS
from tests.openai_server import OpenAIServer, Reply
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.generation.docs_generator import docs_pairs
from zigtune.generation.llm import GenerationSettings
from zigtune.generation.screening import TEMPLATE_ECHO, build_screen

SCREEN = build_screen(TEMPLATES)

#: Pairs that only talk about the format: the template's examples and instructions, said again.
PARAPHRASED_ECHOES = [
    ("The instruction is an empty string.", "An empty response to the question or instruction."),
    ("Another question or instruction goes here.", "Another detailed response, or code, goes here."),
    ("Provide an instruction.", "Provide a detailed response or code."),
    ("Your question here", "The detailed answer to your question."),
    ("What is the question?", "The response is a detailed answer or code."),
    ("Instruction text", "Response text"),
    ("Question 1", "Answer 1"),
    ("<instruction>", "<detailed response or code>"),
    ("The question is missing.", "No response was given: the field is empty."),
    ("Write the instruction here.", "Write the response or the code here."),
]

#: Pairs as an LLM writes them about the reference, many with the screen's own words in them.
REAL_LOOKING_PAIRS = [
    ("What is the type of an empty string literal in Zig?", 'The literal `""` has type `*const [0:0]u8`.'),
    ("How do you write a multiline string literal?", "Start each line with `\\\\`; the lines are joined."),
    ("What does `@field` do?", "It reads or writes a field of a struct by a comptime-known name."),
    ("What value does an optional have when it holds nothing?", "`null`: the optional has no payload."),
    ("Can a struct field have a default value?", "Yes: `x: i32 = 0` gives `x` the value 0 when omitted."),
    ("What is the response of `zig test` when every test passes?", "It prints `All 2 tests passed.`"),
    ("Explain the code.", "`defer` runs its statement when the enclosing block exits, in reverse order."),
    ("Give an example of an error union.", "`fn parse(s: []const u8) !u32` returns either an error or a `u32`."),
    ("Is an empty array allowed?", "Yes: `[0]u8{}` is an array of length 0."),
    ("What does `std.mem.eql` answer for two empty slices?", "`true`: both have length 0."),
    ("Write a Zig test that checks an empty string has length 0.", 'test { try std.testing.expect("".len == 0); }'),
    ("How are string fields of a struct compared?", "With `std.mem.eql(u8, a.name, b.name)`, not `==`."),
]


def test_paraphrased_template_echoes_are_caught() -> None:
    assert [SCREEN.reason(i, r) for i, r in PARAPHRASED_ECHOES] == [TEMPLATE_ECHO] * len(PARAPHRASED_ECHOES)


def test_real_looking_pairs_and_the_old_zig_models_pairs_pass() -> None:
    pairs = REAL_LOOKING_PAIRS + [(p.instruction, f"```zig\n{p.code}```") for p in PROGRAMS]
    assert [(i, SCREEN.reason(i, r)) for i, r in pairs if SCREEN.reason(i, r)] == []


def test_the_reference_and_the_offline_generators_pairs_are_never_format_talk(docs_markdown: str) -> None:
    """Every paragraph of the Zig 0.14 reference of 30 characters or more, on its own (without a question to
    lend it a topic word), and every pair the offline docs generator makes from it: 0 false positives."""
    frame = sections_frame(split_sections(docs_markdown))
    paragraphs = [p.strip() for text in frame["text"] for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 30]
    assert len(paragraphs) > 2500
    assert [p for p in paragraphs if SCREEN.talks_only_about_the_format(p)] == []
    rows = docs_pairs(frame).rows
    assert len(rows) > 200
    assert [row["instruction"] for row in rows if SCREEN.reason(row["instruction"], row["response"])] == []


def test_a_model_that_paraphrases_the_template_yields_no_pair(tmp_path: Path) -> None:
    server = OpenAIServer()
    reply = {"pairs": [{"instruction": i, "response": r} for i, r in PARAPHRASED_ECHOES[:2]]}
    server.responder = lambda request: Reply(json.dumps(reply))
    try:
        result = generate(server, tmp_path, sections(2), settings=GenerationSettings(max_failed_share=1.0))
        assert result.pairs == [] and [row["reason"] for row in result.rejects] == [TEMPLATE_ECHO] * 4
        assert {f.reason for f in result.failures} == {"no_usable_pair"}
    finally:
        server.close()


@pytest.mark.parametrize("instruction, response", PARAPHRASED_ECHOES[:1])
def test_the_issues_echo_never_reaches_the_pairs_table(tmp_path: Path, instruction: str, response: str) -> None:
    server = OpenAIServer()
    good = {"instruction": "When does `defer` run?", "response": "When the enclosing scope exits."}
    server.responder = lambda request: Reply(
        json.dumps({"pairs": [{"instruction": instruction, "response": response}, good]})
    )
    try:
        result = generate(server, tmp_path, sections(1))
        table = pl.DataFrame(result.pairs)
        assert table["instruction"].to_list() == [good["instruction"]]
    finally:
        server.close()

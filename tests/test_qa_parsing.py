"""Reading pairs out of LLM replies: structured JSON, the original's messy JSONL, and broken replies."""

import json

from zigtune.generation.parsing import EMPTY_REPLY, INVALID_JSON, INVALID_PAIR, NO_JSON, TRUNCATED_JSON, parse_reply

PAIR_A = {"instruction": "Explique como funciona o comando `defer` em Zig.", "response": "O `defer` agenda..."}
PAIR_B = {
    "instruction": "Implemente uma função Zig que usa `defer`.",
    "response": 'const std = @import("std");\n{ } // braces and "quotes" inside a string',
}


def pairs_of(text: str) -> list[tuple[str, str]]:
    return [(pair.instruction, pair.response) for pair in parse_reply(text).pairs]


def test_structured_json_object_with_pairs() -> None:
    parsed = parse_reply(json.dumps({"pairs": [PAIR_A, PAIR_B]}))
    assert [(p.instruction, p.response) for p in parsed.pairs] == [tuple(PAIR_A.values()), tuple(PAIR_B.values())]
    assert parsed.problems == []


def test_jsonl_inside_fences_with_prose_around() -> None:
    text = f"Here are the pairs:\n```jsonl\n{json.dumps(PAIR_A)}\n{json.dumps(PAIR_B)}\n```\nHope {{this}} helps!"
    parsed = parse_reply(text)
    assert len(parsed.pairs) == 2
    assert parsed.problems == []


def test_objects_split_across_lines_with_raw_newlines_in_strings() -> None:
    text = (
        '{"instruction": "Write a Zig function\n that adds two numbers.",\n'
        '  "response": "```zig\nfn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n```"\n}\n'
        '{\n"instruction": "What is comptime?",\n"response": "Compile-time evaluation.",\n}'
    )
    parsed = parse_reply(text)
    instructions = [p.instruction for p in parsed.pairs]
    assert instructions == ["Write a Zig function\n that adds two numbers.", "What is comptime?"]
    assert "return a + b;" in parsed.pairs[0].response
    assert parsed.problems == []


def test_json_array_and_question_answer_aliases() -> None:
    parsed = parse_reply(json.dumps([{"question": "What is a slice?", "answer": "A pointer and a length."}]))
    assert pairs_of(json.dumps([{"question": "What is a slice?", "answer": "A pointer and a length."}])) == [
        ("What is a slice?", "A pointer and a length.")
    ]
    assert parsed.problems == []


def test_truncated_reply_keeps_whole_pairs_and_reports_the_cut() -> None:
    text = json.dumps({"pairs": [PAIR_A, PAIR_B]})[:-40]
    parsed = parse_reply(text)
    assert [p.instruction for p in parsed.pairs] == [PAIR_A["instruction"]]
    assert [problem.reason for problem in parsed.problems] == [TRUNCATED_JSON]
    assert parsed.problems[0].raw.startswith('{"instruction": "Implemente')


def test_prose_only_is_no_json() -> None:
    parsed = parse_reply("Sure! Zig's defer runs code at scope exit, e.g. { close(file) }.")
    assert parsed.pairs == []
    assert [problem.reason for problem in parsed.problems] == [NO_JSON]


def test_empty_reply() -> None:
    assert [problem.reason for problem in parse_reply("  \n").problems] == [EMPTY_REPLY]
    assert [problem.reason for problem in parse_reply(None).problems] == [EMPTY_REPLY]


def test_invalid_pair_and_invalid_json_are_reported_with_their_text() -> None:
    text = '{"instruction": "Only half a pair"}\n{"instruction": "bad" "response": "x"}\n' + json.dumps(PAIR_A)
    parsed = parse_reply(text)
    assert pairs_of(text) == [tuple(PAIR_A.values())]
    reasons = sorted(problem.reason for problem in parsed.problems)
    assert reasons == [INVALID_JSON, INVALID_PAIR]
    invalid = next(p for p in parsed.problems if p.reason == INVALID_PAIR)
    assert "response" in invalid.raw and "Only half a pair" in invalid.raw


def test_a_pair_said_twice_is_one_pair() -> None:
    line = json.dumps(PAIR_A)
    assert len(parse_reply(f"{line}\n{line}").pairs) == 1

"""Read instruction/response pairs out of an LLM reply, however it came back.

A reply may be the structured JSON a ``response_format`` asked for (``{"pairs": [...]}``), a JSON
array, or the original prompt's JSONL — often inside ```` ```jsonl ```` fences, with prose around it
and objects broken over several lines (the cases the original ``convert_to_chatml`` regexes chase).
``parse_reply`` scans for balanced JSON objects with a string-aware scanner (so braces and
backticks inside strings do not confuse it), parses each leniently (raw newlines inside strings,
trailing commas), and validates each pair with pydantic. Whatever it cannot use comes back as a
``Problem`` with a reason and the raw text, never silently dropped. No dagster here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

#: The JSON schema sent as ``response_format`` where the server supports structured output.
PAIRS_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pairs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"instruction": {"type": "string"}, "response": {"type": "string"}},
                "required": ["instruction", "response"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["pairs"],
    "additionalProperties": False,
}

# Reasons a reply or a piece of it is rejected (the qa_rejects ``reason`` column).
EMPTY_REPLY = "empty_reply"
NO_JSON = "no_json"
TRUNCATED_JSON = "truncated_json"
INVALID_JSON = "invalid_json"
INVALID_PAIR = "invalid_pair"

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


class QAPair(BaseModel):
    """One pair as the LLM must give it: two non-empty strings (``question``/``answer`` accepted too)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    instruction: str = Field(min_length=3, validation_alias=AliasChoices("instruction", "question", "prompt"))
    response: str = Field(min_length=1, validation_alias=AliasChoices("response", "answer", "output"))


@dataclass(frozen=True)
class Problem:
    reason: str
    raw: str


@dataclass
class ParsedReply:
    pairs: list[QAPair] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def first_reason(self) -> str | None:
        return self.problems[0].reason if self.problems else None


def _balanced_objects(text: str) -> tuple[list[str], str | None]:
    """Top-level ``{...}`` spans of ``text`` (strings respected) and the unclosed tail, if any.

    When the text ends inside an object (a reply cut off by ``max_tokens``), the objects that did
    close directly inside it (the whole pairs of a cut ``{"pairs": [...]``) are returned too, and
    the tail is the innermost object left open.
    """
    objects: list[str] = []
    children: list[str] = []  # objects closed directly inside the current top-level object
    starts: list[int] = []
    in_string = escaped = False
    for index, char in enumerate(text):
        if not starts:
            if char == "{":
                starts.append(index)
                children = []
            continue
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "{":
            starts.append(index)
        elif char == "}":
            start = starts.pop()
            if not starts:
                objects.append(text[start : index + 1])
            elif len(starts) == 1:
                children.append(text[start : index + 1])
    if not starts:
        return objects, None
    return objects + children, text[starts[1] if len(starts) > 1 else starts[0] :]


def _loads(fragment: str) -> Any:
    """``json.loads`` that forgives raw control characters in strings and trailing commas."""
    try:
        return json.loads(fragment, strict=False)
    except json.JSONDecodeError:
        return json.loads(_TRAILING_COMMA.sub(r"\1", fragment), strict=False)


def _looks_like_pair(fragment: str) -> bool:
    return bool(re.search(r'"(instruction|response|question|answer|pairs)"', fragment))


def _validate(item: Any, raw: str, into: ParsedReply) -> None:
    try:
        into.pairs.append(QAPair.model_validate(item))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "pair"
        into.problems.append(Problem(INVALID_PAIR, f"{where}: {first['msg']}\n{raw}"))


def parse_reply(text: str | None) -> ParsedReply:
    """Every valid pair in ``text``, and a ``Problem`` for each piece that is not one."""
    result = ParsedReply()
    if not text or not text.strip():
        result.problems.append(Problem(EMPTY_REPLY, text or ""))
        return result
    objects, tail = _balanced_objects(text)
    for fragment in objects:
        if not _looks_like_pair(fragment):
            continue  # a brace in prose, such as "use {} here": not an attempt at a pair
        try:
            value = _loads(fragment)
        except json.JSONDecodeError as error:
            result.problems.append(Problem(INVALID_JSON, f"{error.msg} (char {error.pos})\n{fragment}"))
            continue
        items = value["pairs"] if isinstance(value, dict) and isinstance(value.get("pairs"), list) else [value]
        for item in items:
            _validate(item, json.dumps(item, ensure_ascii=False) if item is not value else fragment, result)
    if tail is not None and _looks_like_pair(tail):
        result.problems.append(Problem(TRUNCATED_JSON, tail))
    if not result.pairs and not result.problems:
        result.problems.append(Problem(NO_JSON, text))
    # One pair said twice in one reply is one pair.
    unique: dict[tuple[str, str], QAPair] = {}
    for pair in result.pairs:
        unique.setdefault((pair.instruction, pair.response), pair)
    result.pairs = list(unique.values())
    return result

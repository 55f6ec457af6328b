"""Pairs that parse but say nothing: echoes of the prompt, empty answers, a question answered by itself.

A weak model asked for pairs in a given format may hand the format's own example lines back
(``"Question or instruction"`` → ``"Detailed response or code"``), repeat the prompt's instructions, or
fill a field with a placeholder. Such a pair passes JSON parsing and, having no code, passes validation
as ``no_code``; ``degenerate_reason`` names why it is not a pair, so it goes to ``qa_rejects`` counted
under that reason. The examples and the prompt's sentences are read from the templates themselves, so
editing a template keeps the screen in step. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from zigtune.generation.parsing import parse_reply
from zigtune.generation.prompts import PromptTemplates

TEMPLATE_ECHO = "template_echo"
PROMPT_ECHO = "prompt_echo"
EMPTY_CONTENT = "empty_content"
SAME_INSTRUCTION_AND_RESPONSE = "instruction_equals_response"

#: A prompt sentence this long or longer found in a pair means the pair repeats the prompt.
MIN_ECHO_CHARS = 40

_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")


def _words(text: str) -> str:
    """Lower case, punctuation and markup gone, single spaces: how two texts are compared."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


#: Answers that hold no content however they are dressed (compared as ``_words`` sees them).
PLACEHOLDERS = frozenset(
    _words(text)
    for text in (
        "",
        "n/a",
        "none",
        "null",
        "todo",
        "tbd",
        "answer",
        "response",
        "instruction",
        "question",
        "your answer here",
        "your response here",
        "code",
        "code here",
        "detailed response",
        "...",
    )
)


@dataclass(frozen=True)
class Screen:
    """What the prompt itself says, for telling a pair from an echo of it."""

    examples: frozenset[str]
    prompt_sentences: tuple[str, ...]

    def reason(self, instruction: str, response: str) -> str | None:
        """Why this pair is degenerate, or ``None`` when it is a pair."""
        asked, answered = _words(instruction), _words(response)
        if asked in self.examples or answered in self.examples:
            return TEMPLATE_ECHO
        if asked in PLACEHOLDERS or answered in PLACEHOLDERS:
            return EMPTY_CONTENT
        if asked == answered:
            return SAME_INSTRUCTION_AND_RESPONSE
        if any(sentence in asked or sentence in answered for sentence in self.prompt_sentences):
            return PROMPT_ECHO
        return None


def _sentences(texts: Iterable[str]) -> tuple[str, ...]:
    found: set[str] = set()
    for text in texts:
        for line in text.splitlines():
            if "$" in line:  # a placeholder's line: the section or the previous reply, not the prompt's own words
                continue
            for sentence in re.split(r"(?<=[.:;])\s+", line):
                words = _words(sentence)
                if len(words) >= MIN_ECHO_CHARS:
                    found.add(words)
    return tuple(sorted(found))


def build_screen(templates: PromptTemplates) -> Screen:
    """The screen for these templates: their example pairs and their own sentences."""
    examples = {
        _words(text)
        for name in ("format_jsonl.txt", "format_json.txt")
        for pair in parse_reply(templates.texts[name]).pairs
        for text in (pair.instruction, pair.response)
    }
    prompt_files = ("system.txt", "first_round.txt", "continuation.txt", "format_jsonl.txt", "format_json.txt")
    return Screen(frozenset(examples), _sentences(templates.texts[name] for name in prompt_files))

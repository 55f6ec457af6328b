"""Pairs that parse but say nothing: echoes of the prompt, empty answers, a question answered by itself.

A weak model asked for pairs in a given format may hand the format's own example lines back
(``"Question or instruction"`` → ``"Detailed response or code"``), repeat the prompt's instructions, or
fill a field with a placeholder. Such a pair passes JSON parsing and, having no code, passes validation
as ``no_code``; ``degenerate_reason`` names why it is not a pair, so it goes to ``qa_rejects`` counted
under that reason. The examples and the prompt's sentences are read from the templates themselves, so
editing a template keeps the screen in step.

A model also says the example lines again in its own words: "The instruction is an empty string." →
"An empty response to the question or instruction." Such a pair talks about the format, not about Zig:
every word it says, once the words that carry no meaning (``STOP_WORDS``) are set aside, is a word of
the template's examples or a word about fields and placeholders (``FORMAT_WORDS``). A real pair says at
least one word of its topic (``defer``, ``slice``, ``u8``, a name in its code), so it is never such a
pair, however it is phrased. No dagster here.
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

#: Words that carry no topic: articles, pronouns, auxiliaries, prepositions, question words.
STOP_WORDS = frozenset(
    """a an the this that these those it its is are was were be been being am has have had do does did
    done to of or and nor but if then else for in on at by with without from into onto as than so such
    no not any some each every all both either neither what which who whom whose how why when where
    here there can could should would will shall may might must please just only also very more most
    you your yours we our i me my they them their he she his her one ones""".split()  # noqa: SIM905
)
#: Words about a reply's fields and placeholders rather than about any topic (besides the words of the
#: template's own example lines, which ``build_screen`` adds).
FORMAT_WORDS = frozenset(
    """instruction instructions response responses question questions answer answers pair pairs field
    fields string strings empty blank placeholder placeholders example examples text value values
    content contents detailed detail details another other code json jsonl format formatted given
    provided goes go none null nothing missing omitted left unspecified write written provide
    say says said put""".split()  # noqa: SIM905
)

_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
#: A word as the format screen reads it: letters and digits, so ``u8``, ``@intCast`` and ``std`` count.
_WORD = re.compile(r"[a-z0-9]+")


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


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
    format_words: frozenset[str] = frozenset()

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
        if self.talks_only_about_the_format(f"{instruction}\n{response}"):
            return TEMPLATE_ECHO
        return None

    def talks_only_about_the_format(self, text: str) -> bool:
        """Every meaningful word of ``text`` is a word about the reply's format (see the module docstring)."""
        meaningful = {
            _singular(word) for word in _WORD.findall(text.lower()) if word not in STOP_WORDS and not word.isdigit()
        }
        return bool(meaningful) and meaningful <= self.format_words


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
    format_words = {_singular(word) for text in (*FORMAT_WORDS, *examples) for word in _WORD.findall(text)}
    return Screen(
        frozenset(examples), _sentences(templates.texts[name] for name in prompt_files), frozenset(format_words)
    )

"""The one chat format: instruction/response pairs as conversations, and their ChatML text.

A dataset row is exactly what the original write-up's ``convert_to_chatml`` writes to
``zig_dataset_chatml.jsonl``::

    {"conversations": [{"role": "user", "content": ...}, {"role": "assistant", "content": ...}]}

one JSON object per line (``ensure_ascii=False``), with an optional system turn first. That is the
shape Unsloth's ``standardize_sharegpt`` and TRL's ``maybe_convert_to_chatml`` / SFT trainer read.

``render_chatml`` writes a conversation as Qwen2.5's ChatML text. Qwen2.5's real chat template
inserts a default system turn ("You are Qwen, created by Alibaba Cloud. ...") when a conversation
has none. The original's worked example shows the text *without* it, and that is what
``render_chatml`` gives by default (and what the dataset preview shows); pass
``default_system=QWEN25_DEFAULT_SYSTEM`` to get byte for byte what the Qwen2.5 tokenizer renders at
training time. No dagster here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

#: The system turn Qwen2.5's chat template adds when a conversation starts without one.
QWEN25_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

ROLES = ("system", "user", "assistant")

Turn = dict[str, str]
Conversation = list[Turn]


class ChatFormatError(ValueError):
    """A conversation that is not a list of ``{"role", "content"}`` turns with known roles."""


def to_conversation(instruction: str, response: str, system_prompt: str | None = None) -> Conversation:
    """One pair as turns: an optional system turn, the instruction as user, the response as assistant."""
    turns: Conversation = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*turns, {"role": "user", "content": instruction}, {"role": "assistant", "content": response}]


def conversation_record(instruction: str, response: str, system_prompt: str | None = None) -> dict[str, Conversation]:
    """One dataset row: ``{"conversations": [...]}``, as the original's ``zig_dataset_chatml.jsonl``."""
    return {"conversations": to_conversation(instruction, response, system_prompt)}


def jsonl_line(record: Mapping[str, object]) -> str:
    """One JSONL line, written the way the original writes it (``ensure_ascii=False``, newline-ended)."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def conversations_jsonl(records: Iterable[Mapping[str, object]]) -> str:
    """The whole JSONL file's text: one record per line."""
    return "".join(jsonl_line(record) for record in records)


def turns_of(conversation: Sequence[Mapping[str, str]] | Mapping[str, object]) -> Conversation:
    """The checked turns of a conversation, given as its turn list or as a ``{"conversations": ...}`` row."""
    if isinstance(conversation, Mapping):
        if "conversations" not in conversation:
            raise ChatFormatError(f"a dataset row needs a 'conversations' key, got keys {sorted(conversation)}")
        conversation = conversation["conversations"]  # type: ignore[assignment]
    turns: Conversation = []
    for index, turn in enumerate(conversation):  # type: ignore[arg-type]
        if not isinstance(turn, Mapping) or set(turn) != {"role", "content"}:
            raise ChatFormatError(f"turn {index} must be a {{'role', 'content'}} mapping, got {turn!r:.80}")
        role, content = turn["role"], turn["content"]
        if role not in ROLES or not isinstance(content, str):
            raise ChatFormatError(f"turn {index}: role must be one of {ROLES} and content a string, got {role!r}")
        turns.append({"role": role, "content": content})
    return turns


def render_chatml(
    conversation: Sequence[Mapping[str, str]] | Mapping[str, object],
    add_generation_prompt: bool = False,
    default_system: str | None = None,
) -> str:
    """The conversation as Qwen2.5 ChatML text: ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per turn.

    ``add_generation_prompt`` appends ``<|im_start|>assistant\\n`` (the prompt a model completes).
    ``default_system``: a system turn to put first when the conversation has none; Qwen2.5's own
    template uses :data:`QWEN25_DEFAULT_SYSTEM`. Left ``None``, the text is the original's example.
    """
    turns = turns_of(conversation)
    if default_system is not None and (not turns or turns[0]["role"] != "system"):
        turns = [{"role": "system", "content": default_system}, *turns]
    text = "".join(f"<|im_start|>{turn['role']}\n{turn['content']}<|im_end|>\n" for turn in turns)
    return text + "<|im_start|>assistant\n" if add_generation_prompt else text

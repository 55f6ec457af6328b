"""Chat formatting for training: the Qwen2.5 template, reading the JSONL, and assistant-only labels.

Only the assistant's turns are trained on: every other token gets the label -100 (ignored by the loss). The
masked fraction over a dataset must lie strictly between 0 and 1 — 1 means nothing is trained (the template
or the role names did not match), 0 means the mask did nothing — both silent failures in plain SFT scripts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zigtune.dataset import chatml
from zigtune.dataset.chatml import QWEN25_DEFAULT_SYSTEM, turns_of
from zigtune.training.config import TrainingError

IGNORE_INDEX = -100

#: Qwen2.5-Instruct's chat template without its tool-calling branch (what Unsloth's ``get_chat_template(
#: tokenizer, "qwen2.5")`` sets in the original), as Jinja for tokenizers; it renders exactly what
#: ``zigtune.dataset.chatml.render_chatml(..., default_system=QWEN25_DEFAULT_SYSTEM)`` writes. Used when a tokenizer
#: has no template of its own.
QWEN25_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\n" + QWEN25_DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


class ChatTemplateError(TrainingError):
    """The dataset or the chat template cannot produce assistant-only labels."""


@dataclass
class TokenizedSplit:
    """One split ready for the trainer, with what was dropped and why."""

    examples: list[dict[str, list[int]]]
    read: int
    dropped: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    trained_tokens: int = 0

    @property
    def masked_fraction(self) -> float:
        return 1.0 - self.trained_tokens / self.tokens if self.tokens else 1.0


def read_conversations(path: Path) -> tuple[list[list[dict[str, str]]], Counter[str]]:
    """The ``conversations`` of each JSONL line; bad lines are dropped and counted by reason."""
    conversations: list[list[dict[str, str]]] = []
    dropped: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            dropped["invalid JSON"] += 1
            continue
        try:
            turns = turns_of(record) if isinstance(record, dict) else None
        except chatml.ChatFormatError:
            dropped["malformed turns or unknown role"] += 1
            continue
        if turns is None:
            dropped["not a JSON object"] += 1
        elif not any(turn["role"] == "assistant" for turn in turns):
            dropped["no assistant turn"] += 1
        else:
            conversations.append(turns)
    return conversations, dropped


def render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant reply, through its end marker.

    A reply starts where the prompt with a generation header ends and stops where the conversation rendered
    up to that reply ends; the template must render prefixes as prefixes (ChatML templates do).
    """
    text = render(tokenizer, messages)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render(tokenizer, messages[:index], add_generation_prompt=True)
        through_reply = render(tokenizer, messages[: index + 1])
        if not (text.startswith(prompt) and text.startswith(through_reply) and len(prompt) < len(through_reply)):
            raise ChatTemplateError(
                "the chat template does not render conversation prefixes as prefixes, so assistant turns cannot "
                "be located: use a ChatML template such as Qwen2.5's"
            )
        spans.append((len(prompt), len(through_reply)))
    return text, spans


def tokenize_split(tokenizer: Any, path: Path, max_seq_length: int) -> TokenizedSplit:
    """Tokenize every conversation of ``path`` with labels on assistant tokens only (-100 elsewhere)."""
    conversations, dropped = read_conversations(path)
    split = TokenizedSplit(examples=[], read=len(conversations) + sum(dropped.values()), dropped=dropped)
    for messages in conversations:
        text, spans = assistant_spans(tokenizer, messages)
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        input_ids = encoded["input_ids"][:max_seq_length]
        offsets = encoded["offset_mapping"][: len(input_ids)]
        labels = [
            token if any(start <= begin < end for start, end in spans) else IGNORE_INDEX
            for token, (begin, _) in zip(input_ids, offsets, strict=True)
        ]
        trained = sum(label != IGNORE_INDEX for label in labels)
        if trained == 0:
            split.dropped["no assistant token within max_seq_length"] += 1
            continue
        split.examples.append({"input_ids": input_ids, "labels": labels})
        split.tokens += len(input_ids)
        split.trained_tokens += trained
    return split


def check_masked_fraction(split: TokenizedSplit, name: str) -> None:
    """Fail unless some, but not all, tokens are masked out of the loss."""
    if not split.examples:
        reasons = ", ".join(f"{count} {reason}" for reason, count in split.dropped.items()) or "the file is empty"
        raise ChatTemplateError(f"{name}: no usable conversation ({reasons}); rebuild the chatml dataset")
    if not 0.0 < split.masked_fraction < 1.0:
        raise ChatTemplateError(
            f"{name}: masked fraction {split.masked_fraction:.3f} is not strictly between 0 and 1, so the loss would "
            "cover no token or every token; check the chat template and the role names"
        )

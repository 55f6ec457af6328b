"""Micro-batches for the trainer: padding-free packed rows (the default) or right-padded rows (the original's).

Both collators take zigtune's pre-tokenized examples (``input_ids`` and assistant-only ``labels``, see
``zigtune.training.chat``) and record the real tokens of every batch they build, for tokens/s.

**Packed** (``PackedCollator``): a micro-batch of N conversations becomes ONE row, the conversations back to back
with no padding and no ``attention_mask``; ``position_ids`` restart at 0 at each conversation. Both training paths
read that as separate sequences, so no token attends across a conversation boundary:

- transformers (``masking_utils``): ``position_ids`` without an ``attention_mask`` (and no KV cache) is a packed
  batch, and it builds a block-diagonal causal mask (SDPA, eager);
- Unsloth's fast Qwen2/Llama forward: batch size 1, no mask, ``packed_seq_lengths`` given: attention runs per
  conversation (flash-attn varlen, xformers or per-segment SDPA, whichever it has).

The first token of each conversation is labelled -100, so no position is trained to predict the next
conversation's first token (zigtune's labels already mask the system prompt; this makes it true whatever the
labels). The loss of an optimizer step is the sum of its assistant-token losses divided by their count: with one
micro-batch a step that is the row's mean; with k micro-batches the trainer divides by ``num_items_in_batch``,
the targets of all k, so the batch shape does not change the loss.

**Padded** (``PaddedCollator``): the original's rows, right-padded to the longest in the micro-batch, with an
``attention_mask``. With gradient accumulation each micro-batch's loss is a mean and the step's loss a mean of
means, as the original trained.

``step_targets`` says what ``num_items_in_batch`` must be for a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zigtune.training.chat import IGNORE_INDEX

#: The batch key Unsloth's fast forward reads the packed lengths from (it skips a device-to-host sync).
PACKED_SEQ_LENGTHS = "packed_seq_lengths"


class _BatchLog:
    """Real (non-pad) tokens of every batch built, in order, and the positions computed (padding included).

    The data loader fetches a batch ahead of the one being trained, so "tokens so far" is counted by batches
    consumed (``tokens_through``), not by batches collated.
    """

    def __init__(self) -> None:
        self.batch_tokens: list[int] = []
        self.batch_positions: list[int] = []

    @property
    def tokens(self) -> int:
        return sum(self.batch_tokens)

    def tokens_through(self, batches: int) -> int:
        return sum(self.batch_tokens[:batches])

    def positions_through(self, batches: int) -> int:
        return sum(self.batch_positions[:batches])


class PackedCollator(_BatchLog):
    """Flattens a micro-batch into one padding-free row with per-conversation ``position_ids``.

    ``seq_lengths_key``: also send the conversations' lengths under this key (Unsloth's ``packed_seq_lengths``);
    ``None`` for plain transformers, which finds the boundaries from ``position_ids``.
    """

    def __init__(self, seq_lengths_key: str | None = PACKED_SEQ_LENGTHS) -> None:
        super().__init__()
        self.seq_lengths_key = seq_lengths_key

    def __call__(self, examples: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        lengths = [len(example["input_ids"]) for example in examples]
        input_ids = torch.tensor([t for example in examples for t in example["input_ids"]], dtype=torch.long)
        labels = torch.tensor([t for example in examples for t in example["labels"]], dtype=torch.long)
        position_ids = torch.cat([torch.arange(length, dtype=torch.long) for length in lengths])
        labels[position_ids == 0] = IGNORE_INDEX
        self.batch_tokens.append(int(input_ids.numel()))
        self.batch_positions.append(int(input_ids.numel()))
        batch = {
            "input_ids": input_ids.unsqueeze(0),
            "labels": labels.unsqueeze(0),
            "position_ids": position_ids.unsqueeze(0),
        }
        if self.seq_lengths_key:
            batch[self.seq_lengths_key] = torch.tensor(lengths, dtype=torch.int32)
        return batch


class PaddedCollator(_BatchLog):
    """Right-pads a micro-batch to its longest conversation, with an ``attention_mask`` (the original's batches)."""

    def __init__(self, pad_token_id: int) -> None:
        super().__init__()
        self.pad_token_id = pad_token_id

    def __call__(self, examples: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(example["input_ids"]) for example in examples)
        input_ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            length = len(example["input_ids"])
            input_ids[row, :length] = torch.tensor(example["input_ids"])
            labels[row, :length] = torch.tensor(example["labels"])
            attention_mask[row, :length] = 1
        self.batch_tokens.append(int(attention_mask.sum()))
        self.batch_positions.append(int(attention_mask.numel()))
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def make_collator(packing: bool, pad_token_id: int, backend: str) -> PackedCollator | PaddedCollator:
    """The collator a run uses: packed (with Unsloth's lengths key on the unsloth backend) or padded."""
    if not packing:
        return PaddedCollator(pad_token_id)
    return PackedCollator(PACKED_SEQ_LENGTHS if backend == "unsloth" else None)


def step_targets(batches: Sequence[dict[str, Any]]) -> int:
    """The assistant tokens an optimizer step over these micro-batches trains on: its ``num_items_in_batch``."""
    return int(sum(int((batch["labels"][..., 1:] != IGNORE_INDEX).sum()) for batch in batches))

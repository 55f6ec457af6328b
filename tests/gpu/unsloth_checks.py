"""Unsloth-side GPU checks, each run in a fresh process (Unsloth must be imported before transformers).

``python -m tests.gpu.unsloth_checks packing MODEL_DIR TRAIN_JSONL`` prints one JSON line: how far the logits of
some conversations packed in one row (``position_ids`` only, and with ``packed_seq_lengths``) are from the same
conversations computed one by one, the same for one causal row that attends across them (the leak the packing
must avoid), and the bf16 noise of that comparison (see ``packing``).

``python -m tests.gpu.unsloth_checks train MODEL_DIR TRAIN_JSONL OUT_DIR`` trains an adapter with zigtune's own
training steps (Unsloth, 4-bit, packed batches, embed_tokens trained and tied; no MLflow) and saves it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class _Quiet:
    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        pass


def packing(model_dir: str, train_jsonl: str) -> dict:
    """The logits of a packed row against the same conversations run one by one, and of a leaky row.

    For each conversation after the first (the ones a leak would reach), the largest |Δlogit| between its part of
    the row and its own forward, relative to the largest |logit| of its own forward. Compared for the packed row
    (``position_ids`` restarting at 0: Unsloth infers the lengths; and with ``packed_seq_lengths``, as training
    sends them) and for one plain causal row over the same tokens (positions 0..T-1, every token attending to the
    conversations before it: the leak packing must avoid). The bf16 noise of the same computation is measured
    too: each conversation's logits when it is the prefix of a longer causal row (what it attends to is the same,
    the shapes and kernels are not). Token-mean losses are reported for the record.
    """
    import os

    os.environ["UNSLOTH_RETURN_LOGITS"] = "1"  # logits from the training forward, not only its loss
    from unsloth import FastLanguageModel  # noqa: I001 (before transformers and torch, as Unsloth requires)
    import torch

    from zigtune.training.chat import tokenize_split
    from zigtune.training.inference import prepare_tokenizer
    from zigtune.training.packing import PackedCollator

    model, tokenizer = FastLanguageModel.from_pretrained(model_dir, max_seq_length=4096, dtype=None, load_in_4bit=True)
    model = FastLanguageModel.get_peft_model(
        model, r=16, lora_alpha=16, lora_dropout=0.0, bias="none", random_state=3407,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        modules_to_save=["embed_tokens"], ensure_weight_tying=True, use_gradient_checkpointing="unsloth",
    )  # fmt: skip
    tokenizer = prepare_tokenizer(tokenizer)
    examples = tokenize_split(tokenizer, Path(train_jsonl), 4096).examples[:6]
    batch = {k: v.to("cuda") for k, v in PackedCollator()(examples).items()}
    lengths = [len(example["input_ids"]) for example in examples]
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    expected_positions = torch.cat([torch.arange(n) for n in lengths]).to("cuda")
    model.train()

    def logits_of(**inputs: object) -> torch.Tensor:
        ids = inputs["input_ids"]
        out = model(**inputs).logits
        if out is None or tuple(out.shape[:2]) != tuple(ids.shape):  # type: ignore[union-attr]
            raise RuntimeError(f"no logits from the forward (got {None if out is None else tuple(out.shape)})")
        return out[0].float()

    def relative_diff(row: torch.Tensor, own: torch.Tensor) -> float:
        return float((row - own).abs().max() / own.abs().max())

    def segment_diffs(row: torch.Tensor, own: list[torch.Tensor]) -> list[float]:
        return [relative_diff(row[s : s + n], own[k]) for k, (s, n) in enumerate(zip(starts, lengths, strict=True))]

    with torch.no_grad():
        ids = [torch.tensor([e["input_ids"]], device="cuda") for e in examples]
        own = [logits_of(input_ids=x) for x in ids]
        noise = []
        for k, x in enumerate(ids):
            longer = torch.cat([x, ids[(k + 1) % len(ids)]], dim=1)
            noise.append(relative_diff(logits_of(input_ids=longer)[: x.shape[1]], own[k]))
        packed_lengths = batch.pop("packed_seq_lengths")
        inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"]}
        diffs = {
            "packed": segment_diffs(logits_of(**inputs), own),
            "packed_seq_lengths": segment_diffs(logits_of(**inputs, packed_seq_lengths=packed_lengths), own),
            "one_causal_row": segment_diffs(logits_of(input_ids=batch["input_ids"]), own),
        }
        total, count = 0.0, 0
        for example in examples:
            x = torch.tensor([example["input_ids"]], device="cuda")
            labels = torch.tensor([example["labels"]], device="cuda")
            labels[0, 0] = -100
            n = int((labels[..., 1:] != -100).sum())
            total += model(input_ids=x, labels=labels).loss.float().item() * n
            count += n
        losses = {
            "separate": total / count,
            "packed": model(**batch).loss.float().item(),
            "packed_seq_lengths": model(**batch, packed_seq_lengths=packed_lengths).loss.float().item(),
            "one_causal_row": model(input_ids=batch["input_ids"], labels=batch["labels"]).loss.float().item(),
        }
    return {
        "logit_diff": diffs,
        "noise": noise,
        "positions_restart": bool(torch.equal(batch["position_ids"][0], expected_positions)),
        "lengths": [int(n) for n in packed_lengths.tolist()],
        "loss": losses,
        "conversations": len(examples),
        "tokens": int(batch["input_ids"].shape[1]),
        "targets": count,
    }


def train(model_dir: str, train_jsonl: str, out_dir: str) -> dict:
    from zigtune.training import run
    from zigtune.training.config import TrainingConfig

    config = TrainingConfig(
        base_model=model_dir,
        backend="unsloth",
        train_path=train_jsonl,
        eval_path=None,
        output_dir=out_dir,
        max_seq_length=1024,
        lora_r=16,
        lora_alpha=32,
        learning_rate=2e-3,
        embedding_learning_rate=5e-4,
        num_train_epochs=2.0,
        per_device_train_batch_size=16,
        warmup_steps=2,
    )  # fmt: skip  (4-bit, AdamW 8-bit, lm_head + embed_tokens, packing: the defaults)
    reporter = _Quiet()
    run.check_inputs(config)
    backend = run.choose_backend(config, cuda=True)
    loaded, tokenizer = run.load_model(config, backend, cuda=True)
    data = run.prepare_data(config, tokenizer, reporter)
    session = run.build_session(config, backend, loaded, tokenizer, data, reporter, None, cuda=True)
    fitted = run.fit(session, config, reporter, cuda=True)
    adapter_dir, tied = run.save_adapter(loaded, tokenizer, config)
    losses = [loss for _, loss in session.monitor.losses]
    speed = session.monitor.tokens_per_second()
    return {"adapter_dir": str(adapter_dir), "tied": tied, "steps": fitted.steps, "losses": losses,
            "tokens_per_second": speed, "peak_vram_gib": fitted.peak_vram_gib}  # fmt: skip


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    result = packing(*arguments) if command == "packing" else train(*arguments)
    print("RESULT " + json.dumps(result), flush=True)

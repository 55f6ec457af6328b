"""The adapter's README.md: what it was trained from, with what settings, how well, and how to load it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zigtune.training.config import TrainingConfig

if TYPE_CHECKING:
    from zigtune.training.run import TrainingResult


def model_card(config: TrainingConfig, result: TrainingResult) -> str:
    eval_loss = f"{result.eval_loss:.4f}" if result.eval_loss is not None else "not computed (no eval split)"
    embeddings = ", ".join(result.trained_embeddings) or "none"
    learning_rate = (
        f"{config.learning_rate} (embeddings {config.embedding_learning_rate}), {config.lr_scheduler_type}, "
        f"warmup {config.warmup_steps}"
    )
    layout = "packed without padding" if config.packing else "right-padded"
    batch = (
        f"{config.per_device_train_batch_size} × {config.gradient_accumulation_steps} accumulation "
        f"({config.per_device_train_batch_size * config.gradient_accumulation_steps} conversations a step, {layout}), "
        f"max {config.max_seq_length} tokens a conversation"
    )
    return f"""---
base_model: {config.base_model}
library_name: peft
tags: [zig, lora, zigtune]
---
# zigtune LoRA adapter for Zig 0.14

A LoRA adapter that teaches `{config.base_model}` the Zig 0.14 language reference, trained by zigtune's
`lora_model` asset on instruction/response pairs generated from the reference and checked with the Zig
compiler. The loss covers assistant turns only.

## Training
| setting | value |
|---|---|
| backend | {result.backend} on {result.device} |
| LoRA | r={config.lora_r}, alpha={config.lora_alpha}, dropout={config.lora_dropout} |
| LoRA targets | {", ".join(m for m in config.target_modules if m not in ("lm_head", "embed_tokens"))} |
| fully trained embeddings | {embeddings} (tied to each other: {result.tied_embeddings}) |
| 4-bit base | {config.load_in_4bit} |
| learning rate | {learning_rate} |
| batch | {batch} |
| epochs / steps | {config.num_train_epochs} / {result.steps} |
| optimizer | {config.optim}, weight decay {config.weight_decay}, seed {config.seed} |
| examples | {result.train_examples} train, {result.eval_examples} eval |

## Results
| metric | value |
|---|---|
| train loss (mean) | {result.train_loss:.4f} |
| first → last logged loss | {result.first_loss:.4f} → {result.final_loss:.4f} |
| eval loss | {eval_loss} |
| tokens/s (steady state) | {result.tokens_per_second:,.0f} |
| peak VRAM | {result.peak_vram_gib:.2f} GiB |
| training time | {result.train_seconds:.0f} s |
| MLflow run | {result.mlflow_run_id} |

## Use
```python
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer

model = AutoPeftModelForCausalLM.from_pretrained("{result.adapter_dir}")
tokenizer = AutoTokenizer.from_pretrained("{result.adapter_dir}")
messages = [{{"role": "user", "content": "Write a Zig function that adds two integers."}}]
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True, return_tensors="pt")
print(tokenizer.decode(model.generate(**inputs, max_new_tokens=256)[0]))
```
"""


def write_model_card(path: Path, config: TrainingConfig, result: TrainingResult) -> None:
    path.write_text(model_card(config, result), encoding="utf-8")

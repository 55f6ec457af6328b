"""LoRA training throughput on a CUDA GPU: zigtune's executor against a bare Unsloth script and plain HF + PEFT.

``python benchmarks/bench_training.py [--model-dir DIR] [--steps 10] [--warmup 3] [--seq 1024] [--batch 8]``

One Qwen2.5-3B-shaped random-init model (built once with ``tests/tiny_model.py``, no download), QLoRA (4-bit
NF4 base, bf16 compute, AdamW 8-bit), every sequence exactly ``--seq`` tokens, ``--batch`` sequences a step, no
accumulation, gradient checkpointing on. Each trainer runs in its own process (Unsloth patches transformers
when imported, so the HF baseline must never see it); steady-state tokens/s counts the real tokens of the
steps after ``--warmup`` (CUDA synchronised at each step end), peak VRAM is ``torch.cuda.max_memory_allocated``
over training. Trainers:

- ``executor``: ``lora_model`` materialized through Dagster with ``TrainingExecutor`` (Pipes worker,
  per-step log lines and messages, MLflow) at r=16 on the 7 projections, the usual QLoRA benchmark setting;
- ``unsloth``: a bare Unsloth + TRL script, same settings;
- ``hf``: transformers + bitsandbytes + PEFT + TRL, same settings;
- ``executor-original``: the executor with the original's settings (r=128, alpha=128, lm_head+embed_tokens
  trained as one tied full matrix at the embedding learning rate).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TRAINERS = ["executor", "unsloth", "hf", "executor-original"]


def write_data(directory: Path, rows: int) -> Path:
    from tests.tiny_model import write_conversations

    # ~4 characters a token with the small BPE: 1,500 words is well past 1,024 tokens, so every row is cut there.
    return write_conversations(directory / "train.jsonl", rows, words=1500)


def tokenized(model_dir: Path, train: Path, seq: int) -> tuple[Any, list[dict[str, list[int]]]]:
    from transformers import AutoTokenizer

    from zigtune.training.chat import tokenize_split

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    split = tokenize_split(tokenizer, train, seq)
    assert all(len(e["input_ids"]) == seq for e in split.examples), "every row must be exactly --seq tokens"
    return tokenizer, split.examples


class Timer:
    """A TrainerCallback-compatible step timer (built lazily so this module imports without transformers)."""

    @staticmethod
    def make(counter: Any) -> Any:
        import torch
        from transformers import TrainerCallback

        class StepTimer(TrainerCallback):
            def __init__(self) -> None:
                self.marks: list[tuple[float, int]] = []

            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                torch.cuda.synchronize()
                self.marks.append((time.perf_counter(), counter.tokens_through(state.global_step)))

        return StepTimer()


def steady(marks: list[tuple[float, int]], warmup: int) -> float:
    (start, tokens_start), (end, tokens_end) = marks[warmup - 1], marks[-1]
    return (tokens_end - tokens_start) / (end - start)


def sft_arguments(args: argparse.Namespace, output_dir: str) -> dict[str, Any]:
    return {
        "output_dir": output_dir,
        "per_device_train_batch_size": args.batch,
        "gradient_accumulation_steps": 1,
        "max_steps": args.steps + args.warmup,
        "warmup_steps": 2,
        "learning_rate": 2e-4,
        "optim": "adamw_8bit",
        "weight_decay": 0.01,
        "lr_scheduler_type": "linear",
        "seed": 3407,
        "logging_steps": 1,
        "bf16": True,
        "report_to": "none",
        "save_strategy": "no",
        "max_length": args.seq,
        "remove_unused_columns": False,
        "dataset_kwargs": {"skip_prepare_dataset": True},
        "gradient_checkpointing": False,  # set on the model (Unsloth's, or peft's kbit preparation)
        "disable_tqdm": True,
    }


def run_bare(trainer_name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The bare Unsloth script or the plain HF + PEFT + TRL one, on the same batches."""
    if trainer_name == "unsloth":
        from unsloth import FastLanguageModel  # before transformers, as Unsloth requires
    import torch
    from datasets import Dataset

    from zigtune.training.packing import PaddedCollator

    model_dir = Path(args.model_dir)
    tokenizer, examples = tokenized(model_dir, Path(args.data), args.seq)
    if trainer_name == "unsloth":
        model, _ = FastLanguageModel.from_pretrained(str(model_dir), max_seq_length=args.seq, load_in_4bit=True)
        model = FastLanguageModel.get_peft_model(
            model, r=16, lora_alpha=16, lora_dropout=0.0, target_modules=PROJECTIONS, bias="none",
            use_gradient_checkpointing="unsloth", random_state=3407,
        )  # fmt: skip
    else:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )  # fmt: skip
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=torch.bfloat16, quantization_config=quantization, device_map={"": 0}
        )
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
        lora = LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0, target_modules=PROJECTIONS, task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    from trl import SFTConfig, SFTTrainer

    counter = PaddedCollator(tokenizer.pad_token_id)
    timer = Timer.make(counter)
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**sft_arguments(args, f"/tmp/bench-{trainer_name}")),
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=counter,
        callbacks=[timer],
    )
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    return {
        "tokens_per_second": steady(timer.marks, args.warmup),
        "peak_vram_gib": torch.cuda.max_memory_allocated() / 2**30,
        "steps": len(timer.marks),
    }


def run_executor(trainer_name: str, args: argparse.Namespace) -> dict[str, Any]:
    """``lora_model`` through ``dg.materialize`` with the executor (its own Pipes worker process)."""
    import tempfile

    import dagster as dg
    import polars as pl

    from zigtune.assets.training import lora_model
    from zigtune.resources.training import TrainingExecutor

    os.environ["ZIGTUNE_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-executor-")

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return pl.DataFrame({"split": ["train"], "path": [args.data], "rows": [0]})

    settings: dict[str, Any] = {
        "base_model": args.model_dir,
        "backend": "unsloth",
        "max_seq_length": args.seq,
        "per_device_train_batch_size": args.batch,
        "gradient_accumulation_steps": 1,
        "max_steps": args.steps + args.warmup,
        "warmup_steps": 2,
    }
    if trainer_name == "executor":
        settings |= {"lora_r": 16, "lora_alpha": 16, "target_modules": PROJECTIONS, "learning_rate": 2e-4}
    result = dg.materialize([chatml_dataset, lora_model], resources={"training": TrainingExecutor(**settings)})
    row = result.output_for_node("lora_model").row(0, named=True)
    # The worker skips its first warmup_steps_for_speed (3) steps, as --warmup does by default.
    return {"tokens_per_second": row["tokens_per_second"], "peak_vram_gib": row["peak_vram_gib"], "steps": row["steps"]}


def child(args: argparse.Namespace) -> None:
    run = run_executor if args.run.startswith("executor") else run_bare
    print("RESULT " + json.dumps({"trainer": args.run, **run(args.run, args)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default="/tmp/zigtune-bench/qwen2.5-3b")
    parser.add_argument("--data", default="")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (the executor's default too)")
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--trainers", default=",".join(TRAINERS))
    parser.add_argument("--run", choices=TRAINERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return
    model_dir = Path(args.model_dir)
    started = time.perf_counter()
    if not (model_dir / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "tests" / "tiny_model.py"), str(model_dir), "qwen2.5-3b", "cuda"],
                       check=True)  # fmt: skip
        print(f"built {model_dir} in {time.perf_counter() - started:.0f} s", flush=True)
    data = Path(args.data) if args.data else write_data(model_dir.parent, args.batch * (args.steps + args.warmup))
    results = []
    for trainer_name in args.trainers.split(","):
        command = [sys.executable, __file__, "--run", trainer_name, "--model-dir", str(model_dir), "--data", str(data),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--seq", str(args.seq),
                   "--batch", str(args.batch)]  # fmt: skip
        begun = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode or not lines:
            print(f"{trainer_name} failed ({completed.returncode}):\n{completed.stderr[-3000:]}", flush=True)
            continue
        results.append(json.loads(lines[-1][len("RESULT ") :]) | {"wall_seconds": time.perf_counter() - begun})
        print(lines[-1], flush=True)
    by_name = {r["trainer"]: r for r in results}
    print(
        f"\nQwen2.5-3B shape, QLoRA, seq {args.seq}, batch {args.batch}, {args.steps} timed steps after {args.warmup}"
    )
    print("| trainer | tokens/s | peak VRAM | vs bare Unsloth | vs HF+PEFT | process wall time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = {
            name: f"{r['tokens_per_second'] / by_name[name]['tokens_per_second']:.2f}×" if name in by_name else "-"
            for name in ("unsloth", "hf")
        }
        print(f"| {r['trainer']} | {r['tokens_per_second']:,.0f} | {r['peak_vram_gib']:.2f} GiB | {ratio['unsloth']} "
              f"| {ratio['hf']} | {r['wall_seconds']:.0f} s |")  # fmt: skip


if __name__ == "__main__":
    main()

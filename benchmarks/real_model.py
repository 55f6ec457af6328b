"""A real model before and after zigtune's fine-tune, with the project's own training and generation code.

Runs on the GPU machine (no Dagster, no MLflow, no polars needed there); the completions it writes are judged
anywhere with ``python -m zigtune.evaluation score`` (CPU, the real Zig compiler). ``benchmarks/real_model_gpu.sh``
drives the whole loop; ``benchmarks/README.md`` ("A real model") has the figures and how to re-score them.

- ``train --base-model coder-1.5b --train train.jsonl [--eval eval.jsonl] --out DIR``: ``lora_model``'s training
  (``zigtune.training.run.train``) on the hf backend (transformers + peft + TRL; the GPU machine has no Unsloth
  or bitsandbytes, so the base is 16-bit and the optimizer AdamW, not 4-bit and AdamW 8-bit); every other
  setting is the project's default recipe. Prints the training result as JSON.
- ``ask --adapter DIR --suite zigtune_core --train train.jsonl --out DIR [--roles base,fine_tuned]``: the
  evaluation's hf generation (``zigtune.evaluation.replies.generate_hf``: one load, the base answers with the
  adapter disabled) with the suite's prompts and the dataset's system turn, greedy, 1,024 new tokens; writes
  ``<role>.jsonl`` completions in the evaluation CLI's format and ``generation.json`` (timings, tokens).
- ``export --adapter DIR --out DIR [--quantize Q4_K_M]``: ``model_export``'s own code (``export_model``): the
  adapter merged into its base (logits checked), the GGUF made by llama.cpp's converter
  (``ZIGTUNE_LLAMA_CPP_CONVERTER``) and quantized by llama.cpp; runs on a CPU. ``benchmarks/real_model_served.sh``
  serves the result with llama.cpp's OpenAI-compatible server and asks it the suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.replies import generate_hf
from zigtune.evaluation.samples import BASE, FINE_TUNED, prompt_key
from zigtune.evaluation.suite import load_suite
from zigtune.training.config import TrainingConfig
from zigtune.training.run import train
from zigtune.training.tracking import NO_TRACKING

#: What the GPU machine lacks (bitsandbytes) changes only these settings of the default recipe.
GPU_MACHINE_SETTINGS = {"backend": "hf", "load_in_4bit": False, "optim": "adamw_torch_fused"}


class PrintReporter:
    def log(self, message: str) -> None:
        print(message, flush=True)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        if step % 10 == 0:
            print(f"step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)


def train_command(arguments: argparse.Namespace) -> int:
    overrides = json.loads(arguments.settings) if arguments.settings else {}
    config = TrainingConfig(
        base_model=arguments.base_model,
        train_path=str(arguments.train),
        eval_path=str(arguments.eval) if arguments.eval else None,
        output_dir=str(arguments.out),
        mlflow_tracking_uri=NO_TRACKING,
        **{**GPU_MACHINE_SETTINGS, **overrides},
    )
    result = train(config, PrintReporter())
    summary = result.as_dict() | {"settings": config.model_dump(exclude={"mlflow_tracking_uri"})}
    summary.pop("loss_curve", None)
    (Path(arguments.out) / "training.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0


def system_turn(train_jsonl: Path) -> list[dict[str, str]]:
    """The dataset's system turn (as the evaluation stage asks), or none."""
    with train_jsonl.open(encoding="utf-8") as lines:
        first = json.loads(next(lines))["conversations"][0]
    return [{"role": "system", "content": first["content"]}] if first.get("role") == "system" else []


def ask_command(arguments: argparse.Namespace) -> int:
    suite = load_suite(arguments.suite)
    system = system_turn(arguments.train) if arguments.train else []
    prompts = [
        {"task_id": prompt_key(suite.name, task.id), "messages": [*system, {"role": "user", "content": task.prompt}]}
        for task in suite.tasks
    ]
    roles = arguments.roles.split(",")
    started = time.perf_counter()
    result = generate_hf(
        {
            "adapter_dir": str(arguments.adapter),
            "roles": roles,
            "prompts": prompts,
            "decoding": Decoding(max_new_tokens=arguments.max_new_tokens).as_dict(),
            "batch_size": arguments.batch_size,
            "load_in_4bit": False,
        }
    )
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = {prompt_key(suite.name, task.id): task.id for task in suite.tasks}
    for role in roles:
        rows = [c for c in result["completions"] if c["role"] == role]
        rows.sort(key=lambda c: list(ids).index(c["task_id"]))
        lines = [
            json.dumps(
                {"id": ids[c["task_id"]], "completion": c["text"], "sample": c["sample"],
                 "finish_reason": c["finish_reason"], "model": f"{arguments.label}:{role}"},
                ensure_ascii=False,
            )
            for c in rows
        ]  # fmt: skip
        (out / f"{role}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    stats = {"seconds": round(time.perf_counter() - started, 1), "roles": roles, "tasks": len(prompts)}
    stats |= {"stats": result["stats"], "peak_vram_gib": result["peak_vram_gib"], "system_turn": bool(system)}
    (out / "generation.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(stats, indent=2))
    return 0


def export_command(arguments: argparse.Namespace) -> int:
    from zigtune.training.export import export_model

    started = time.perf_counter()
    result = export_model(arguments.adapter, arguments.out, dtype=arguments.dtype, quantize=arguments.quantize or None)
    summary = result.as_dict() | {"seconds": round(time.perf_counter() - started, 1)}
    (Path(arguments.out) / "export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0 if result.gguf_path else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train")
    fit.add_argument("--base-model", required=True)
    fit.add_argument("--train", type=Path, required=True)
    fit.add_argument("--eval", type=Path, default=None)
    fit.add_argument("--out", type=Path, required=True)
    fit.add_argument("--settings", default="", help="JSON object of training settings to change")
    ask = commands.add_parser("ask")
    ask.add_argument("--adapter", type=Path, required=True)
    ask.add_argument("--suite", default="zigtune_core")
    ask.add_argument("--train", type=Path, default=None, help="the dataset whose system turn the prompts use")
    ask.add_argument("--out", type=Path, required=True)
    ask.add_argument("--roles", default=f"{BASE},{FINE_TUNED}")
    ask.add_argument("--label", default="zigtune")
    ask.add_argument("--max-new-tokens", type=int, default=1024)
    ask.add_argument("--batch-size", type=int, default=72)
    export = commands.add_parser("export")
    export.add_argument("--adapter", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--dtype", default="bfloat16")
    export.add_argument("--quantize", default="Q4_K_M", help="llama.cpp type; empty: the 16-bit GGUF only")
    arguments = parser.parse_args(argv)
    commands_by_name = {"train": train_command, "ask": ask_command, "export": export_command}
    return commands_by_name[arguments.command](arguments)


if __name__ == "__main__":
    sys.exit(main())

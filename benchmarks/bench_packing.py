"""Packed padding-free batches vs the original's padded batches, on the real dataset, on a CUDA GPU.

``python benchmarks/bench_packing.py --data DIR [--model-dir DIR] [--steps N] [--runs original,packed,packed-8x2]``

``DIR`` holds the chatml dataset's ``train.jsonl`` (what ``make run`` writes to ``data/dataset/``). The model is
Qwen2.5-3B's exact shape with random weights and Qwen2.5's real tokenizer (``tests/tiny_model.py ... qwen2.5``,
built once into ``--model-dir``; no download). Every run is zigtune's own training code (``zigtune.training.run``:
load, tokenize with assistant-only labels, build the trainer, fit) with the original's settings (Unsloth,
4-bit NF4 base, LoRA r=128/alpha=128 on every projection, embed_tokens and lm_head trained as one tied matrix,
AdamW 8-bit, lr 5e-5 / 1e-5, seed 3407), without MLflow, each in its own process. Only the batches differ:

- ``original``: 2 conversations a micro-batch, right-padded, × 8 accumulation (the original's configuration);
- ``packed``: 16 conversations a micro-batch packed into one padding-free row, × 1 (``packing=True``);
- ``packed-8x2``: 8 packed conversations × 2 accumulation (the loss divided by the step's assistant tokens,
  ``num_items_in_batch``; the count the trainer passed is checked against the batches' targets);
- ``padded-16x1``: 16 right-padded conversations × 1 (the default: the batch shape alone, without packing).

All see the same 16 conversations in each optimizer step (the sampler's order does not depend on the batch
size). Reported per run: useful (non-pad) tokens/s over the steps after the first 3 (CUDA synchronised at each
step end), the padded tokens the original computed, peak VRAM (``torch.cuda.max_memory_allocated``), the
training time, and the loss of every step; then the per-step loss differences between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: run name -> (per_device_train_batch_size, gradient_accumulation_steps, packing)
RUNS: dict[str, tuple[int, int, bool]] = {
    "original": (2, 8, False),
    "packed": (16, 1, True),
    "packed-8x2": (8, 2, True),
    "padded-16x1": (16, 1, False),
}


class PrintReporter:
    def log(self, message: str) -> None:
        print(message, flush=True)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        pass


def run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One training run in this process (Unsloth is imported first, by ``load_model``)."""
    from zigtune.training import run
    from zigtune.training.config import TrainingConfig
    from zigtune.training.packing import IGNORE_INDEX

    batch, accumulation, packing = RUNS[name]
    config = TrainingConfig(
        base_model=args.model_dir,
        backend="unsloth",
        train_path=str(Path(args.data) / "train.jsonl"),
        eval_path=None,
        output_dir=tempfile.mkdtemp(prefix=f"bench-packing-{name}-"),
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        packing=packing,
        max_steps=args.steps,
        warmup_steps_for_speed=3,
    )
    reporter = PrintReporter()
    run.check_inputs(config)
    import torch

    backend = run.choose_backend(config, torch.cuda.is_available())
    loaded, tokenizer = run.load_model(config, backend, cuda=True)
    data = run.prepare_data(config, tokenizer, reporter)
    session = run.build_session(config, backend, loaded, tokenizer, data, reporter, None, cuda=True)

    counted: list[tuple[int | None, int]] = []
    compute_loss = session.trainer.compute_loss

    def counting_compute_loss(model: Any, inputs: dict[str, Any], *rest: Any, **kwargs: Any) -> Any:
        items = kwargs.get("num_items_in_batch")
        targets = int((inputs["labels"][..., 1:] != IGNORE_INDEX).sum())
        counted.append((None if items is None else int(items), targets))
        return compute_loss(model, inputs, *rest, **kwargs)

    session.trainer.compute_loss = counting_compute_loss
    fitted = run.fit(session, config, reporter, cuda=True)
    lengths = [len(e["input_ids"]) for e in data.train.examples]
    steps_items = _step_items(counted, accumulation)
    return {
        "run": name,
        "batch": f"{batch} × {accumulation}",
        "packing": packing,
        "steps": fitted.steps,
        "tokens_per_second": session.monitor.tokens_per_second(),
        "useful_tokens": session.collator.tokens_through(fitted.steps * accumulation),
        "computed_tokens": session.collator.positions_through(fitted.steps * accumulation),
        "peak_vram_gib": fitted.peak_vram_gib,
        "train_seconds": fitted.train_seconds,
        "losses": [loss for _, loss in session.monitor.losses],
        "num_items_in_batch_ok": all(items == targets for items, targets in steps_items) if accumulation > 1 else None,
        "num_items_in_batch": steps_items[:3],
        "dataset": {
            "conversations": len(lengths),
            "mean_tokens": statistics.fmean(lengths),
            "p90_tokens": sorted(lengths)[int(0.9 * (len(lengths) - 1))],
            "max_tokens": max(lengths),
            "assistant_tokens": data.train.trained_tokens,
        },
    }


def _step_items(counted: list[tuple[int | None, int]], accumulation: int) -> list[tuple[int | None, int]]:
    """Per optimizer step: (num_items_in_batch the trainer passed, the assistant targets of its micro-batches)."""
    steps = []
    for start in range(0, len(counted) - accumulation + 1, accumulation):
        window = counted[start : start + accumulation]
        steps.append((window[0][0], sum(targets for _, targets in window)))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the chatml dataset directory (train.jsonl)")
    parser.add_argument("--model-dir", default="/tmp/zigtune-bench/qwen2.5-3b-qwen-vocab")
    parser.add_argument("--steps", type=int, default=0, help="optimizer steps (0: one epoch of 16-conversation steps)")
    parser.add_argument("--runs", default="original,packed,packed-8x2")
    parser.add_argument("--json", default="", help="also write the results here")
    parser.add_argument("--run", choices=list(RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print("RESULT " + json.dumps(run_one(args.run, args)), flush=True)
        return
    if not args.steps:
        rows = sum(1 for line in (Path(args.data) / "train.jsonl").read_text().splitlines() if line.strip())
        args.steps = rows // 16
    model_dir = Path(args.model_dir)
    if not (model_dir / "config.json").exists():
        begun = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "tests" / "tiny_model.py"), str(model_dir), "qwen2.5-3b", "cuda",
                        "qwen2.5"], check=True, cwd=ROOT)  # fmt: skip
        print(f"built {model_dir} in {time.perf_counter() - begun:.0f} s", flush=True)
    results = []
    for name in args.runs.split(","):
        command = [sys.executable, __file__, "--run", name, "--data", args.data, "--model-dir", str(model_dir),
                   "--steps", str(args.steps)]  # fmt: skip
        begun = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode or not lines:
            print(f"{name} failed ({completed.returncode}):\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}")
            continue
        result = json.loads(lines[-1][len("RESULT ") :]) | {"process_seconds": time.perf_counter() - begun}
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "losses"}), flush=True)
    report(results, args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    if not results:
        return
    dataset = results[0]["dataset"]
    print(f"\n{dataset['conversations']} train conversations: mean {dataset['mean_tokens']:.0f} tokens, p90 "
          f"{dataset['p90_tokens']}, max {dataset['max_tokens']}; {args.steps} optimizer steps of 16 conversations; "
          "Qwen2.5-3B shape, random weights, Qwen2.5 vocabulary, the original's settings")  # fmt: skip
    base = next((r for r in results if r["run"] == "original"), results[0])
    print("| run | batch | useful tokens/s | vs original | padding computed | peak VRAM | training time | first → last "
          "loss |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio = r["tokens_per_second"] / base["tokens_per_second"] if base["tokens_per_second"] else float("nan")
        padding = 1 - r["useful_tokens"] / r["computed_tokens"] if r["computed_tokens"] else 0.0
        print(f"| {r['run']} | {r['batch']} | {r['tokens_per_second']:,.0f} | {ratio:.1f}× | {padding:.0%} | "
              f"{r['peak_vram_gib']:.2f} GiB | {r['train_seconds']:.1f} s | "
              f"{r['losses'][0]:.4f} → {r['losses'][-1]:.4f} |")  # fmt: skip
    for r in results:
        if r is base:
            continue
        diffs = [abs(a - b) for a, b in zip(r["losses"], base["losses"], strict=False)]
        if diffs:
            print(f"{r['run']} vs {base['run']}: per-step loss |Δ| max {max(diffs):.4f}, mean "
                  f"{statistics.fmean(diffs):.4f} over {len(diffs)} steps")  # fmt: skip
        if r["num_items_in_batch_ok"] is not None:
            print(f"{r['run']}: num_items_in_batch == the step's assistant targets at every step: "
                  f"{r['num_items_in_batch_ok']} (first steps: {r['num_items_in_batch']})")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

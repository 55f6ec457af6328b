"""One LoRA training run from start to saved adapter: device checks, data, model, trainer, MLflow, model card.

``train`` reports through a ``Reporter`` (the worker's is Dagster Pipes) and raises ``TrainingError`` with a
one-line message for every failure a user can fix: no CUDA, out of memory, bad settings, bad data.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from zigtune.training.chat import check_masked_fraction, tokenize_split
from zigtune.training.config import TrainingConfig, TrainingConfigError, TrainingError
from zigtune.training.inference import prepare_tokenizer
from zigtune.training.model_card import write_model_card


class Reporter(Protocol):
    def log(self, message: str) -> None: ...

    def step(self, step: int, metrics: dict[str, float]) -> None: ...


@dataclass
class TrainingResult:
    adapter_dir: str
    backend: str
    device: str
    base_model: str
    train_examples: int
    eval_examples: int
    dropped: dict[str, int]
    masked_fraction: float
    steps: int
    train_loss: float
    first_loss: float
    final_loss: float
    eval_loss: float | None
    tokens_per_second: float
    train_tokens: int
    peak_vram_gib: float
    train_seconds: float
    total_seconds: float
    tied_embeddings: bool
    trained_embeddings: list[str]
    trainable_parameters: int
    mlflow_run_id: str
    mlflow_tracking_uri: str
    loss_curve: list[tuple[int, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def choose_backend(config: TrainingConfig, cuda: bool) -> str:
    """The backend that will run, or a ``TrainingError`` saying why none can here and what to change."""
    unsloth_installed = importlib.util.find_spec("unsloth") is not None
    if config.backend in ("auto", "unsloth") and not cuda:
        raise TrainingError(
            f"no CUDA GPU found: the {config.backend} backend trains {config.base_model} with Unsloth on an NVIDIA "
            "GPU; run lora_model on a CUDA machine, or set backend='hf', load_in_4bit=False, optim='adamw_torch' "
            "to train a small model on CPU"
        )
    if config.backend == "unsloth" and not unsloth_installed:
        raise TrainingError("unsloth is not installed: pip install 'zigtune[cuda]', or set backend='hf'")
    backend = "unsloth" if config.backend == "auto" and unsloth_installed else config.backend
    backend = "hf" if backend == "auto" else backend
    if not cuda and config.load_in_4bit:
        raise TrainingConfigError("load_in_4bit needs a CUDA GPU (bitsandbytes): set load_in_4bit=False on CPU")
    if not cuda and "8bit" in config.optim:
        raise TrainingConfigError(f"optim={config.optim} needs a CUDA GPU (bitsandbytes): use adamw_torch on CPU")
    needs_bitsandbytes = config.load_in_4bit or "8bit" in config.optim
    if needs_bitsandbytes and importlib.util.find_spec("bitsandbytes") is None:
        raise TrainingError("bitsandbytes is not installed (4-bit loading, 8-bit AdamW): pip install 'zigtune[cuda]'")
    return backend


def _monitor(reporter: Reporter, tracking: Any, counter: Any, config: TrainingConfig, cuda: bool) -> Any:
    import torch
    from transformers import TrainerCallback

    class TrainingMonitor(TrainerCallback):
        """Streams each logged step to the reporter and MLflow; times steady-state steps for tokens/s."""

        def __init__(self) -> None:
            self.marks: list[tuple[int, float, int]] = []
            self.losses: list[tuple[int, float]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
            consumed = state.global_step * config.gradient_accumulation_steps
            self.marks.append((state.global_step, time.perf_counter(), counter.tokens_through(consumed)))

        def tokens_per_second(self) -> float:
            usable = self.marks[config.warmup_steps_for_speed - 1 :] if config.warmup_steps_for_speed else self.marks
            if len(usable) < 2:
                usable = self.marks
            if len(usable) < 2:
                return 0.0
            (_, start, tokens_start), (_, end, tokens_end) = usable[0], usable[-1]
            return (tokens_end - tokens_start) / max(end - start, 1e-9)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
        ) -> None:
            values = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
            if "loss" not in values:
                return
            values["tokens_per_second"] = self.tokens_per_second()
            if cuda:
                values["vram_gib"] = torch.cuda.max_memory_allocated() / 2**30
            self.losses.append((state.global_step, values["loss"]))
            reporter.step(state.global_step, values)
            tracking.log_metrics(values, state.global_step)

    return TrainingMonitor()


def _out_of_memory(config: TrainingConfig, torch: Any) -> TrainingError:
    total = torch.cuda.get_device_properties(0).total_memory / 2**30
    return TrainingError(
        f"out of GPU memory ({total:.0f} GiB) at batch {config.per_device_train_batch_size} × "
        f"{config.max_seq_length} tokens: lower per_device_train_batch_size or max_seq_length (raise "
        "gradient_accumulation_steps to keep the effective batch), keep load_in_4bit=True, or drop "
        "lm_head/embed_tokens from target_modules"
    )


def train(config: TrainingConfig, reporter: Reporter, run_name: str = "lora_model") -> TrainingResult:
    started = time.perf_counter()
    config.validate()
    for name, path in (("train", config.train_path), ("eval", config.eval_path)):
        if path and not Path(path).is_file():
            raise TrainingError(f"{name} split {path} does not exist: materialize chatml_dataset first")
    import torch

    cuda = torch.cuda.is_available()
    backend = choose_backend(config, cuda)
    device = torch.cuda.get_device_name(0) if cuda else "cpu"
    reporter.log(f"backend {backend} on {device}; loading {config.base_model}")

    from zigtune.training import backends  # after choose_backend: unsloth must be imported before transformers

    loaded = backends.load_unsloth(config) if backend == "unsloth" else backends.load_hf(config, cuda)
    tokenizer = prepare_tokenizer(loaded.tokenizer)

    train_split = tokenize_split(tokenizer, Path(config.train_path), config.max_seq_length)
    check_masked_fraction(train_split, "train split")
    eval_split = tokenize_split(tokenizer, Path(config.eval_path), config.max_seq_length) if config.eval_path else None
    if eval_split is not None and eval_split.examples:
        check_masked_fraction(eval_split, "eval split")
    dropped = {f"train: {k}": v for k, v in train_split.dropped.items()}
    dropped |= {f"eval: {k}": v for k, v in (eval_split.dropped if eval_split else {}).items()}
    reporter.log(
        f"{len(train_split.examples)} train / {len(eval_split.examples) if eval_split else 0} eval conversations, "
        f"{train_split.tokens} train tokens, {train_split.masked_fraction:.1%} masked (non-assistant); "
        f"dropped {dropped or 'none'}"
    )

    from zigtune.training.tracking import MlflowRun

    tracking = MlflowRun(config, run_name)
    trainable = sum(p.numel() for p in loaded.model.parameters() if p.requires_grad)
    tracking.log_params(
        {
            "resolved_backend": backend,
            "device": device,
            "train_examples": len(train_split.examples),
            "eval_examples": len(eval_split.examples) if eval_split else 0,
            "masked_fraction": round(train_split.masked_fraction, 4),
            "trainable_parameters": trainable,
            "modules_to_save": ",".join(loaded.plan.modules_to_save),
        }
    )
    counter = backends.TokenCounter(tokenizer.pad_token_id)
    monitor = _monitor(reporter, tracking, counter, config, cuda)
    trainer = backends.build_trainer(
        backend,
        loaded,
        config,
        train_split.examples,
        eval_split.examples if eval_split else None,
        counter,
        [monitor],
        cuda,
    )
    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        train_started = time.perf_counter()
        try:
            output = trainer.train()
        except torch.OutOfMemoryError:
            raise _out_of_memory(config, torch) from None
        train_seconds = time.perf_counter() - train_started
        train_tokens = counter.tokens  # before evaluate() collates the eval batches through the same counter
        eval_loss = None
        if eval_split is not None and eval_split.examples:
            eval_loss = float(trainer.evaluate()["eval_loss"])
            reporter.log(f"eval loss {eval_loss:.4f}")
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0

        from zigtune.training.embeddings import embeddings_share_weight

        tied = embeddings_share_weight(loaded.model)
        adapter_dir = Path(config.output_dir) / "adapter"
        loaded.model.save_pretrained(str(adapter_dir))
        tokenizer.save_pretrained(str(adapter_dir))
        losses = monitor.losses
        result = TrainingResult(
            adapter_dir=str(adapter_dir),
            backend=backend,
            device=device,
            base_model=config.base_model,
            train_examples=len(train_split.examples),
            eval_examples=len(eval_split.examples) if eval_split else 0,
            dropped=dropped,
            masked_fraction=train_split.masked_fraction,
            steps=int(output.global_step),
            train_loss=float(output.training_loss),
            first_loss=losses[0][1] if losses else float("nan"),
            final_loss=losses[-1][1] if losses else float("nan"),
            eval_loss=eval_loss,
            tokens_per_second=monitor.tokens_per_second(),
            train_tokens=train_tokens,
            peak_vram_gib=peak,
            train_seconds=train_seconds,
            total_seconds=time.perf_counter() - started,
            tied_embeddings=tied,
            trained_embeddings=list(loaded.plan.modules_to_save) + (["lm_head (tied)"] if tied else []),
            trainable_parameters=trainable,
            mlflow_run_id=tracking.run_id,
            mlflow_tracking_uri=tracking.uri,
            loss_curve=losses,
        )
        write_model_card(adapter_dir / "README.md", config, result)
        (adapter_dir / "training_result.json").write_text(result.to_json(), encoding="utf-8")
        final = {
            "train_loss": result.train_loss,
            "tokens_per_second": result.tokens_per_second,
            "peak_vram_gib": peak,
            "train_seconds": train_seconds,
        }
        if eval_loss is not None:
            final["eval_loss"] = eval_loss
        tracking.log_metrics(final, result.steps)
        for name in ("README.md", "adapter_config.json", "training_result.json", "tokenizer_config.json"):
            if (adapter_dir / name).exists():
                tracking.log_artifact(adapter_dir / name, "adapter")
        if config.log_adapter_to_mlflow:
            tracking.log_artifact(adapter_dir, "adapter")
        tracking.client.set_tag(tracking.run_id, "adapter_dir", str(adapter_dir))
    except BaseException:
        tracking.end("FAILED")
        raise
    tracking.end()
    return result

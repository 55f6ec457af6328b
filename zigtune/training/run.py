"""One LoRA training run from start to saved adapter, in named steps: check the inputs, choose the backend,
load the model, prepare the data, open MLflow, build the trainer, fit, save the adapter, record the result.

``train`` runs them in order; it reports through a ``Reporter`` (the worker's is Dagster Pipes) and raises
``TrainingError`` with a one-line message for every failure a user can fix: no CUDA, out of memory, bad settings,
bad data. The steps are public so a benchmark can run the same code without MLflow
(``benchmarks/bench_packing.py``).
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from zigtune.models.catalog import MODELS
from zigtune.training.chat import TokenizedSplit, check_masked_fraction, tokenize_split
from zigtune.training.config import TrainingConfig, TrainingConfigError, TrainingError
from zigtune.training.inference import prepare_tokenizer
from zigtune.training.model_card import write_model_card

if TYPE_CHECKING:
    from zigtune.training.backends import LoadedModel
    from zigtune.training.packing import PackedCollator, PaddedCollator
    from zigtune.training.tracking import MlflowRun, NoTracking


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
    trained_tokens: int
    packing: bool
    peak_vram_gib: float
    train_seconds: float
    total_seconds: float
    tied_embeddings: bool
    trained_embeddings: list[str]
    trainable_parameters: int
    mlflow_run_id: str
    mlflow_tracking_uri: str
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    #: Optimizer steps whose gradient was not finite (inf/nan, e.g. a bf16 overflow): skipped, not applied.
    skipped_steps: list[int] = field(default_factory=list)

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


def check_inputs(config: TrainingConfig) -> None:
    """Settings that cannot work and splits that do not exist fail before anything heavy is imported."""
    config.validate()
    for name, path in (("train", config.train_path), ("eval", config.eval_path)):
        if path and not Path(path).is_file():
            raise TrainingError(f"{name} split {path} does not exist: materialize chatml_dataset first")


def load_model(config: TrainingConfig, backend: str, cuda: bool) -> tuple[LoadedModel, Any]:
    """The base model with LoRA (and the embedding plan) on the chosen backend, and its prepared tokenizer."""
    from zigtune.training import backends  # after choose_backend: unsloth must be imported before transformers

    loaded = backends.load_unsloth(config) if backend == "unsloth" else backends.load_hf(config, cuda)
    return loaded, prepare_tokenizer(loaded.tokenizer)


@dataclass
class PreparedData:
    train: TokenizedSplit
    eval: TokenizedSplit | None
    dropped: dict[str, int]

    @property
    def eval_examples(self) -> list[dict[str, list[int]]]:
        return self.eval.examples if self.eval is not None else []


def prepare_data(config: TrainingConfig, tokenizer: Any, reporter: Reporter) -> PreparedData:
    """Both splits tokenized with assistant-only labels and checked; what was dropped, by split and reason."""
    train_split = tokenize_split(tokenizer, Path(config.train_path), config.max_seq_length)
    check_masked_fraction(train_split, "train split")
    eval_split = tokenize_split(tokenizer, Path(config.eval_path), config.max_seq_length) if config.eval_path else None
    if eval_split is not None and eval_split.examples:
        check_masked_fraction(eval_split, "eval split")
    dropped = {f"train: {k}": v for k, v in train_split.dropped.items()}
    dropped |= {f"eval: {k}": v for k, v in (eval_split.dropped if eval_split else {}).items()}
    reporter.log(
        f"{len(train_split.examples)} train / {len(eval_split.examples) if eval_split else 0} eval conversations, "
        f"{train_split.tokens} train tokens ({train_split.trained_tokens} assistant), "
        f"{train_split.masked_fraction:.1%} masked (non-assistant); dropped {dropped or 'none'}"
    )
    return PreparedData(train_split, eval_split, dropped)


def open_tracking(
    config: TrainingConfig, run_name: str, backend: str, device: str, data: PreparedData, loaded: LoadedModel
) -> MlflowRun | NoTracking:
    from zigtune.training.tracking import open_run

    tracking = open_run(config, run_name)
    tracking.log_params(
        {
            "resolved_backend": backend,
            "device": device,
            "train_examples": len(data.train.examples),
            "eval_examples": len(data.eval_examples),
            "masked_fraction": round(data.train.masked_fraction, 4),
            "trainable_parameters": trainable_parameters(loaded.model),
            "modules_to_save": ",".join(loaded.plan.modules_to_save),
        }
    )
    return tracking


def trainable_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class StepMonitor:
    """Streams each logged step to the reporter (and MLflow when tracked); times steps for steady-state tokens/s.

    The trainer reaches it through ``as_callback()`` (a ``transformers.TrainerCallback``).
    """

    def __init__(
        self,
        reporter: Reporter,
        tracking: MlflowRun | NoTracking | None,
        collator: PackedCollator | PaddedCollator,
        config: TrainingConfig,
        cuda: bool,
    ) -> None:
        self.reporter, self.tracking, self.collator, self.config, self.cuda = reporter, tracking, collator, config, cuda
        self.marks: list[tuple[int, float, int]] = []
        self.losses: list[tuple[int, float]] = []
        self.skipped: list[int] = []

    def as_callback(self) -> Any:
        from transformers import TrainerCallback

        monitor = self

        class Callback(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                monitor.step_ended(state)

            def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
                monitor.logged(state, logs)

            def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                monitor.guard(kwargs.get("model"), state)

        return Callback()

    def guard(self, model: Any, state: Any) -> None:
        """A step whose gradient is not finite is not applied: one inf or nan (a bf16 overflow on one batch)
        would otherwise turn every weight into nan for the rest of the run. The gradient is zeroed (the
        optimizer's step then only decays its moments) and the step is reported and counted."""
        if model is None:
            return
        import torch

        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads or bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()):
            return
        for grad in grads:
            grad.zero_()
        self.skipped.append(state.global_step + 1)
        self.reporter.log(f"step {state.global_step + 1}: the gradient is not finite (inf/nan); step skipped")

    def step_ended(self, state: Any) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        consumed = state.global_step * self.config.gradient_accumulation_steps
        self.marks.append((state.global_step, time.perf_counter(), self.collator.tokens_through(consumed)))

    def tokens_per_second(self) -> float:
        """Real (non-pad) tokens per second over the steps after the first ``warmup_steps_for_speed``."""
        warmup = self.config.warmup_steps_for_speed
        usable = self.marks[warmup - 1 :] if warmup else self.marks
        if len(usable) < 2:
            usable = self.marks
        if len(usable) < 2:
            return 0.0
        (_, start, tokens_start), (_, end, tokens_end) = usable[0], usable[-1]
        return (tokens_end - tokens_start) / max(end - start, 1e-9)

    def logged(self, state: Any, logs: dict[str, Any] | None) -> None:
        values = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        if "loss" not in values:
            return
        values["tokens_per_second"] = self.tokens_per_second()
        if self.cuda:
            import torch

            values["vram_gib"] = torch.cuda.max_memory_allocated() / 2**30
        self.losses.append((state.global_step, values["loss"]))
        self.reporter.step(state.global_step, values)
        if self.tracking is not None:
            self.tracking.log_metrics(values, state.global_step)


@dataclass
class Session:
    """A trainer ready to fit, with the collator that counts its tokens and the monitor that times its steps."""

    trainer: Any
    collator: PackedCollator | PaddedCollator
    monitor: StepMonitor


def build_session(
    config: TrainingConfig,
    backend: str,
    loaded: LoadedModel,
    tokenizer: Any,
    data: PreparedData,
    reporter: Reporter,
    tracking: MlflowRun | NoTracking | None,
    cuda: bool,
) -> Session:
    from zigtune.training import backends
    from zigtune.training.packing import make_collator

    collator = make_collator(config.packing, tokenizer.pad_token_id, backend)
    monitor = StepMonitor(reporter, tracking, collator, config, cuda)
    callbacks = [monitor.as_callback()]
    eval_examples = data.eval_examples or None
    trainer = backends.build_trainer(
        backend, loaded, config, data.train.examples, eval_examples, collator, callbacks, cuda
    )
    return Session(trainer, collator, monitor)


@dataclass
class Fit:
    steps: int
    train_loss: float
    train_seconds: float
    train_tokens: int
    eval_loss: float | None
    peak_vram_gib: float


def fit(session: Session, config: TrainingConfig, reporter: Reporter, cuda: bool) -> Fit:
    """Train, then the eval loss; an out-of-memory error becomes the one line that names the fix."""
    import torch

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    try:
        output = session.trainer.train()
    except torch.OutOfMemoryError:
        raise _out_of_memory(config, torch) from None
    train_seconds = time.perf_counter() - started
    train_tokens = session.collator.tokens  # before evaluate() collates the eval batches through the same collator
    eval_loss = None
    if session.trainer.eval_dataset is not None:
        eval_loss = float(session.trainer.evaluate()["eval_loss"])
        reporter.log(f"eval loss {eval_loss:.4f}")
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
    return Fit(int(output.global_step), float(output.training_loss), train_seconds, train_tokens, eval_loss, peak)


def save_adapter(loaded: LoadedModel, tokenizer: Any, config: TrainingConfig) -> tuple[Path, bool]:
    """The adapter with its tokenizer and chat template; whether lm_head and embed_tokens are one tensor."""
    from zigtune.training.embeddings import embeddings_share_weight

    tied = embeddings_share_weight(loaded.model)
    adapter_dir = Path(config.output_dir) / "adapter"
    if config.base_model in MODELS or config.base_model.lower().endswith(".gguf"):
        # A fetched model's name resolves on any machine that fetched it; a GGUF file is named exactly (its
        # directory could hold others). transformers would record the directory it loaded from.
        for peft_config in loaded.model.peft_config.values():
            peft_config.base_model_name_or_path = config.base_model
    loaded.model.save_pretrained(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    return adapter_dir, tied


def record(tracking: MlflowRun | NoTracking, config: TrainingConfig, result: TrainingResult) -> None:
    """The model card and result beside the adapter; final metrics and the small files in MLflow."""
    adapter_dir = Path(result.adapter_dir)
    write_model_card(adapter_dir / "README.md", config, result)
    (adapter_dir / "training_result.json").write_text(result.to_json(), encoding="utf-8")
    final = {
        "train_loss": result.train_loss,
        "tokens_per_second": result.tokens_per_second,
        "peak_vram_gib": result.peak_vram_gib,
        "train_seconds": result.train_seconds,
    }
    if result.eval_loss is not None:
        final["eval_loss"] = result.eval_loss
    tracking.log_metrics(final, result.steps)
    for name in ("README.md", "adapter_config.json", "training_result.json", "tokenizer_config.json"):
        if (adapter_dir / name).exists():
            tracking.log_artifact(adapter_dir / name, "adapter")
    if config.log_adapter_to_mlflow:
        tracking.log_artifact(adapter_dir, "adapter")
    tracking.set_tag("adapter_dir", str(adapter_dir))


def _out_of_memory(config: TrainingConfig, torch: Any) -> TrainingError:
    total = torch.cuda.get_device_properties(0).total_memory / 2**30
    return TrainingError(
        f"out of GPU memory ({total:.0f} GiB) at batch {config.per_device_train_batch_size} × "
        f"{config.max_seq_length} tokens: lower per_device_train_batch_size or max_seq_length (raise "
        "gradient_accumulation_steps to keep the examples per step), keep load_in_4bit=True, or drop "
        "lm_head/embed_tokens from target_modules"
    )


def train(config: TrainingConfig, reporter: Reporter, run_name: str = "lora_model") -> TrainingResult:
    started = time.perf_counter()
    check_inputs(config)
    import torch

    cuda = torch.cuda.is_available()
    backend = choose_backend(config, cuda)
    device = torch.cuda.get_device_name(0) if cuda else "cpu"
    reporter.log(f"backend {backend} on {device}; loading {config.base_model}")
    loaded, tokenizer = load_model(config, backend, cuda)
    data = prepare_data(config, tokenizer, reporter)
    tracking = open_tracking(config, run_name, backend, device, data, loaded)
    try:
        session = build_session(config, backend, loaded, tokenizer, data, reporter, tracking, cuda)
        fitted = fit(session, config, reporter, cuda)
        adapter_dir, tied = save_adapter(loaded, tokenizer, config)
        losses = session.monitor.losses
        result = TrainingResult(
            adapter_dir=str(adapter_dir),
            backend=backend,
            device=device,
            base_model=config.base_model,
            train_examples=len(data.train.examples),
            eval_examples=len(data.eval_examples),
            dropped=data.dropped,
            masked_fraction=data.train.masked_fraction,
            steps=fitted.steps,
            train_loss=fitted.train_loss,
            first_loss=losses[0][1] if losses else float("nan"),
            final_loss=losses[-1][1] if losses else float("nan"),
            eval_loss=fitted.eval_loss,
            tokens_per_second=session.monitor.tokens_per_second(),
            train_tokens=fitted.train_tokens,
            trained_tokens=data.train.trained_tokens,
            packing=config.packing,
            peak_vram_gib=fitted.peak_vram_gib,
            train_seconds=fitted.train_seconds,
            total_seconds=time.perf_counter() - started,
            tied_embeddings=tied,
            trained_embeddings=list(loaded.plan.modules_to_save) + (["lm_head (tied)"] if tied else []),
            trainable_parameters=trainable_parameters(loaded.model),
            mlflow_run_id=tracking.run_id,
            mlflow_tracking_uri=tracking.uri,
            loss_curve=losses,
            skipped_steps=list(session.monitor.skipped),
        )
        record(tracking, config, result)
    except BaseException:
        tracking.end("FAILED")
        raise
    tracking.end()
    return result

"""What one training run needs to know, as a JSON-serialisable pydantic model (no dagster here).

The defaults are the original write-up's Unsloth notebook (Etapa 4): Qwen2.5-3B-Instruct loaded in 4 bits,
LoRA r=128 / alpha=128 on every projection plus ``lm_head`` and ``embed_tokens``, 3 epochs at 5e-5 (1e-5 for
the embeddings), 16 conversations per optimizer step (the original's 2 × 8 accumulation; here 16 × 1, padded; packing
is a setting), AdamW 8-bit. The settings are declared once, in
``LoraSettings``: the Dagster resource (zigtune/resources/training.py) inherits them; the worker receives a
``TrainingConfig`` as JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The original's base model; a local model directory, a .gguf file or a fetched model (``coder-1.5b``, see
#: ``python -m zigtune.models``) also works.
DEFAULT_BASE_MODEL = "Qwen/Qwen2.5-3B-Instruct"
#: Every attention and MLP projection, plus lm_head and embed_tokens "to learn new content" (the original).
DEFAULT_TARGET_MODULES = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
    "lm_head",
    "embed_tokens",
)
EMBEDDING_MODULES = ("embed_tokens", "lm_head")
BACKENDS = ("auto", "unsloth", "hf")
OPTIMIZERS = ("adamw_8bit", "adamw_torch", "adamw_torch_fused", "paged_adamw_8bit", "sgd")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")


class TrainingError(Exception):
    """A training run that cannot go on; the message is one line: what went wrong and what to do."""


class TrainingConfigError(TrainingError):
    """A setting that cannot work (caught before any model is loaded)."""


class LoraSettings(BaseModel):
    """The settings of a LoRA run, declared once: ``TrainingExecutor`` (the Dagster resource) inherits them, so
    they are its config fields with these docstrings in the UI, and ``TrainingConfig`` carries them to the worker.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    base_model: str = DEFAULT_BASE_MODEL
    """A Hugging Face model id, a local model directory, a ``.gguf`` file, or a model fetched by
    ``python -m zigtune.models fetch`` named as fetched (``coder-1.5b``, ``coder-0.5b``)."""

    backend: str = "auto"
    """``unsloth`` (CUDA), ``hf`` (transformers + peft + TRL, also CPU), or ``auto``: Unsloth on CUDA, else hf."""

    max_seq_length: int = 4096
    """Longer conversations are cut to this many tokens."""

    load_in_4bit: bool = True
    """QLoRA: the frozen base in 4-bit NF4 (needs CUDA and bitsandbytes)."""

    lora_r: int = 128
    lora_alpha: int = 128
    lora_dropout: float = 0.0
    target_modules: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))
    """LoRA on the projections; ``lm_head``/``embed_tokens`` listed here are trained as full matrices."""

    keep_embeddings_tied: bool = True
    """On a base that ties lm_head to embed_tokens (Qwen2.5-3B), train one shared matrix so a merged model
    equals the adapter. False trains two copies that drift apart (what older Unsloth did)."""

    learning_rate: float = 5e-5
    embedding_learning_rate: float = 1e-5
    """For the fully trained embed_tokens/lm_head: lower than the LoRA rate, as in the original."""

    num_train_epochs: float = 3.0
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run the epochs)."""

    per_device_train_batch_size: int = 16
    """Conversations per micro-batch. 16 × 1 accumulation trains the same 16 conversations per optimizer step as the
    original's 2 × 8, in one forward pass. With less GPU memory, e.g. 4 × 4: with ``packing`` the loss is the same."""

    gradient_accumulation_steps: int = 1
    packing: bool = False
    """Padding-free batches: a micro-batch's conversations back to back in one row, attention kept within each
    conversation; the loss is the mean over the step's assistant tokens either way. Off by default: on an H200
    without flash-attn or xformers, Unsloth runs packed rows per conversation and without its per-block compile,
    and packed 16 × 1 trained at 3.1k useful tokens/s against 6.2k for padded 16 × 1 (benchmarks/README.md).
    Worth trying where flash-attn is installed."""

    warmup_steps: int = 10
    optim: str = "adamw_8bit"
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    seed: int = 3407
    logging_steps: int = 1
    gradient_checkpointing: bool = True

    mlflow_experiment: str = "zigtune-lora"
    log_adapter_to_mlflow: bool = False
    """Also copy the adapter files into MLflow's artifact store (about 1 GB for the 3B model with trained
    embeddings); by default MLflow keeps its path only."""


class TrainingConfig(LoraSettings):
    """One run: the settings plus where its data, outputs and MLflow are. Travels to the worker as JSON."""

    train_path: str
    eval_path: str | None
    output_dir: str

    mlflow_tracking_uri: str = ""
    """Resolved by the resource: its setting, or the local SQLite store under the data directory; ``none`` turns
    tracking off (a machine without MLflow)."""

    mlflow_artifact_location: str = ""
    warmup_steps_for_speed: int = 3
    """Optimizer steps left out of the steady-state tokens/s (compilation, allocator warm-up)."""

    def validate(self) -> None:
        """Raise ``TrainingConfigError`` naming the first setting that cannot work, and how to fix it."""
        problems = []
        if self.backend not in BACKENDS:
            problems.append(f"backend={self.backend!r} is not one of {', '.join(BACKENDS)}")
        for name in (
            "max_seq_length",
            "lora_r",
            "lora_alpha",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be at least 1")
        if not 0.0 <= self.lora_dropout < 1.0:
            problems.append(f"lora_dropout={self.lora_dropout} must be in [0, 1)")
        if self.learning_rate <= 0 or self.embedding_learning_rate <= 0:
            problems.append("learning_rate and embedding_learning_rate must be positive")
        if self.num_train_epochs <= 0 and self.max_steps <= 0:
            problems.append("set num_train_epochs > 0 or max_steps > 0")
        if self.warmup_steps < 0 or self.weight_decay < 0:
            problems.append("warmup_steps and weight_decay cannot be negative")
        if self.optim not in OPTIMIZERS:
            problems.append(f"optim={self.optim!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.lr_scheduler_type not in SCHEDULERS:
            problems.append(f"lr_scheduler_type={self.lr_scheduler_type!r} is not one of {', '.join(SCHEDULERS)}")
        if not [m for m in self.target_modules if m not in EMBEDDING_MODULES]:
            problems.append("target_modules needs at least one projection (e.g. q_proj), not only embeddings")
        if not self.base_model:
            problems.append("base_model is empty: name a hub model or a local model directory")
        if problems:
            raise TrainingConfigError("bad training config: " + "; ".join(problems))

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise TrainingConfigError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**values)

    def mlflow_params(self) -> dict[str, str]:
        """The settings as MLflow params. Nothing secret lives in this dataclass; the URI is shown redacted."""
        params = self.model_dump()
        params["mlflow_tracking_uri"] = redact_uri(self.mlflow_tracking_uri)
        params["target_modules"] = ",".join(self.target_modules)
        return {key: str(value) for key, value in params.items()}


def redact_uri(uri: str) -> str:
    """``https://user:token@host/x`` → ``https://***@host/x``: credentials in a URI never reach a log."""
    scheme, separator, rest = uri.partition("://")
    if separator and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri

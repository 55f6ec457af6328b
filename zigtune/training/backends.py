"""The two ways to load and train a LoRA model: Unsloth (CUDA, fast) and transformers + peft + TRL (any device).

Both end in a TRL ``SFTTrainer`` over pre-tokenized examples (zigtune's own assistant-only labels, so TRL's
dataset preparation is skipped), with the embeddings in their own optimizer group at the embedding learning
rate. Heavy imports stay inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zigtune.models.source import ModelRef, ModelSourceError, load_causal_lm, resolve_model
from zigtune.training.config import TrainingConfig, TrainingError
from zigtune.training.embeddings import EmbeddingPlan, plan_embeddings, ties_embeddings
from zigtune.training.packing import PackedCollator, PaddedCollator


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    plan: EmbeddingPlan
    base_ties_embeddings: bool


def nf4_config(compute_dtype: Any) -> Any:
    """The one 4-bit setting, for training (hf backend) and evaluation alike: NF4 with double quantisation and
    16-bit compute, what Unsloth's ``load_in_4bit`` loads."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def resolve_base(config: TrainingConfig) -> ModelRef:
    """The base model setting resolved (hub id, model directory, ``.gguf`` file, fetched name), or one clear error."""
    try:
        return resolve_model(config.base_model)
    except ModelSourceError as error:
        raise TrainingError(str(error)) from None


def _load_error(config: TrainingConfig, error: Exception) -> TrainingError:
    return TrainingError(
        f"cannot load base model {config.base_model!r} ({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
        "check the name, the network or HF_TOKEN, or point base_model at a local model directory"
    )


def load_unsloth(config: TrainingConfig) -> LoadedModel:
    ref = resolve_base(config)
    if ref.is_gguf:
        raise TrainingError(
            f"the unsloth backend cannot load the GGUF {ref.gguf_file} in {ref.path}: write 16-bit weights beside it "
            "(python -m zigtune.models fetch NAME --dequantize) or set backend=hf"
        )
    from unsloth import FastLanguageModel

    try:
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=ref.path,
            max_seq_length=config.max_seq_length,
            dtype=None,
            load_in_4bit=config.load_in_4bit,
        )
    except (OSError, ValueError) as error:
        raise _load_error(config, error) from error
    ties = ties_embeddings(model)
    plan = plan_embeddings(config.target_modules, ties, config.keep_embeddings_tied)
    model = FastLanguageModel.get_peft_model(
        model,
        r=config.lora_r,
        target_modules=plan.lora_targets,
        modules_to_save=plan.modules_to_save or None,
        ensure_weight_tying=plan.ensure_weight_tying,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        bias="none",
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
        random_state=config.seed,
        use_rslora=False,
        loftq_config=None,
    )
    return LoadedModel(model, tokenizer, plan, ties)


def load_hf(config: TrainingConfig, cuda: bool) -> LoadedModel:
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoTokenizer

    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    options: dict[str, Any] = {"dtype": dtype}
    if cuda:
        options["device_map"] = {"": torch.cuda.current_device()}
    if config.load_in_4bit:
        options["quantization_config"] = nf4_config(dtype)
    ref = resolve_base(config)
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref.path, **ref.tokenizer_kwargs())
        model = load_causal_lm(ref, **options)
    except (OSError, ValueError) as error:
        raise _load_error(config, error) from error
    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    ties = ties_embeddings(model)
    plan = plan_embeddings(config.target_modules, ties, config.keep_embeddings_tied)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=plan.lora_targets,
        modules_to_save=plan.modules_to_save or None,
        ensure_weight_tying=plan.ensure_weight_tying,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return LoadedModel(get_peft_model(model, lora), tokenizer, plan, ties)


def _arguments(config: TrainingConfig, cuda: bool, backend: str) -> dict[str, Any]:
    import torch

    bf16 = cuda and torch.cuda.is_bf16_supported()
    return {
        "output_dir": f"{config.output_dir}/checkpoints",
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_train_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "warmup_steps": config.warmup_steps,
        "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "optim": config.optim,
        "weight_decay": config.weight_decay,
        "lr_scheduler_type": config.lr_scheduler_type,
        "seed": config.seed,
        "logging_steps": config.logging_steps,
        "bf16": bf16,
        "fp16": cuda and not bf16,
        "use_cpu": not cuda,
        "report_to": "none",
        "save_strategy": "no",
        "eval_strategy": "no",
        "max_length": config.max_seq_length,
        "remove_unused_columns": False,
        "dataset_kwargs": {"skip_prepare_dataset": True},
        "dataloader_num_workers": 0,
        # The model already carries its checkpointing (Unsloth's, or peft's kbit preparation).
        "gradient_checkpointing": False,
        "disable_tqdm": True,
    }


def build_trainer(
    backend: str,
    loaded: LoadedModel,
    config: TrainingConfig,
    train_examples: list[dict[str, list[int]]],
    eval_examples: list[dict[str, list[int]]] | None,
    collator: PackedCollator | PaddedCollator,
    callbacks: list[Any],
    cuda: bool,
) -> Any:
    from datasets import Dataset

    datasets = {
        "train_dataset": Dataset.from_list(train_examples),
        "eval_dataset": Dataset.from_list(eval_examples) if eval_examples else None,
    }
    arguments = _arguments(config, cuda, backend)
    if backend == "unsloth":
        from unsloth import UnslothTrainer, UnslothTrainingArguments

        args = UnslothTrainingArguments(embedding_learning_rate=config.embedding_learning_rate, **arguments)
        trainer_class = UnslothTrainer
    else:
        from trl import SFTConfig

        args = SFTConfig(**arguments)
        trainer_class = _embedding_trainer_class()
    trainer = trainer_class(
        model=loaded.model,
        args=args,
        processing_class=loaded.tokenizer,
        data_collator=collator,
        callbacks=callbacks,
        **datasets,
    )
    if backend != "unsloth":
        trainer.embedding_learning_rate = config.embedding_learning_rate
    return trainer


def _embedding_trainer_class() -> type:
    """``SFTTrainer`` whose optimizer trains the full embedding matrices at their own, lower learning rate."""
    from trl import SFTTrainer

    class EmbeddingLearningRateTrainer(SFTTrainer):
        embedding_learning_rate: float | None = None

        def create_optimizer(self, model: Any = None) -> Any:
            if self.optimizer is not None or self.embedding_learning_rate is None:
                return super().create_optimizer(*([model] if model is not None else []))
            target = model if model is not None else self.model
            optimizer_class, optimizer_kwargs = SFTTrainer.get_optimizer_cls_and_kwargs(self.args, target)
            decay = set(self.get_decay_parameter_names(target))
            groups: dict[tuple[bool, bool], list[Any]] = {}
            for name, parameter in target.named_parameters():
                if parameter.requires_grad:
                    key = ("modules_to_save" in name, name in decay)
                    groups.setdefault(key, []).append(parameter)
            self.optimizer = optimizer_class(
                [
                    {
                        "params": parameters,
                        "lr": self.embedding_learning_rate if embedding else self.args.learning_rate,
                        "weight_decay": self.args.weight_decay if decays else 0.0,
                    }
                    for (embedding, decays), parameters in groups.items()
                ],
                **optimizer_kwargs,
            )
            return self.optimizer

    return EmbeddingLearningRateTrainer

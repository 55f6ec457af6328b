"""Loading a trained adapter for generation, and prompting it the way it was trained. No dagster here.

The evaluation stage's GPU worker uses these, so the model it scores is loaded and prompted exactly as
``lora_model`` saved and trained it: the adapter directory holds the tokenizer and the chat template, and
prompts are rendered by the tokenizer's template with the generation header (the same template that made
the training labels, see ``zigtune.training.chat``). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigtune.models.source import ModelSourceError, load_causal_lm, resolve_model
from zigtune.training.chat import QWEN25_CHAT_TEMPLATE, render
from zigtune.training.config import TrainingError


@dataclass
class LoadedForInference:
    model: Any
    tokenizer: Any
    device: str
    backend: str


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Give a tokenizer the Qwen2.5 chat template if it has none, and a pad token (its EOS) if it has none."""
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = QWEN25_CHAT_TEMPLATE
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def adapter_base_model(adapter_dir: Path) -> str:
    """The base model an adapter was trained on, from its ``adapter_config.json``."""
    config_path = Path(adapter_dir) / "adapter_config.json"
    if not config_path.is_file():
        raise TrainingError(f"{adapter_dir} holds no adapter_config.json: materialize lora_model first")
    return str(json.loads(config_path.read_text(encoding="utf-8"))["base_model_name_or_path"])


def load_adapter(
    adapter_dir: Path | str,
    backend: str = "hf",
    load_in_4bit: bool = False,
    max_seq_length: int = 4096,
) -> LoadedForInference:
    """The base model with the trained adapter on top, in eval mode, and the adapter's own tokenizer.

    ``backend="unsloth"`` loads through Unsloth (CUDA; its fast generation path); ``"hf"`` through
    transformers + peft on CUDA when there is one, else CPU. ``load_in_4bit`` loads the base in NF4 with
    double quantisation, as it was trained by default (CUDA only).
    """
    import torch

    adapter_dir = Path(adapter_dir)
    base_model = adapter_base_model(adapter_dir)
    cuda = torch.cuda.is_available()
    if backend == "unsloth":
        if not cuda:
            raise TrainingError("the unsloth backend needs a CUDA GPU: use backend='hf' on CPU")
        from unsloth import FastLanguageModel

        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=str(adapter_dir), max_seq_length=max_seq_length, dtype=None, load_in_4bit=load_in_4bit
        )
        FastLanguageModel.for_inference(model)
        return LoadedForInference(model, prepare_tokenizer(tokenizer), torch.cuda.get_device_name(0), backend)
    if load_in_4bit and not cuda:
        raise TrainingError("load_in_4bit needs a CUDA GPU (bitsandbytes): set load_in_4bit=False on CPU")
    from transformers import AutoTokenizer

    options: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
    if cuda:
        options["device_map"] = {"": torch.cuda.current_device()}
    if load_in_4bit:
        from zigtune.training.backends import nf4_config

        options["quantization_config"] = nf4_config(torch.bfloat16)  # exactly as training quantised the base
    model = load_with_adapter(base_model, adapter_dir, options, TrainingError, "check that the base model is reachable")
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(str(adapter_dir)))
    return LoadedForInference(model, tokenizer, torch.cuda.get_device_name(0) if cuda else "cpu", backend)


def load_with_adapter(
    base_model: str, adapter_dir: Path, options: dict[str, Any], error_type: type[Exception], hint: str
) -> Any:
    """``base_model`` (``options`` go to ``from_pretrained``) with the LoRA adapter in ``adapter_dir`` on top, in
    eval mode; an ``error_type`` with one line that ends in ``hint`` when either cannot be loaded."""
    from peft import PeftModel

    try:
        ref = resolve_model(base_model)
    except ModelSourceError as error:
        raise error_type(f"{error}; {hint}") from None
    try:
        base = load_causal_lm(ref, **options)
        model = PeftModel.from_pretrained(base, str(adapter_dir))
    except (OSError, ValueError) as error:
        raise error_type(
            f"cannot load {base_model!r} with the adapter in {adapter_dir} ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}); {hint}"
        ) from error
    model.eval()
    return model


def chat_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text for the next assistant turn: the training template plus the generation header."""
    return render(tokenizer, messages, add_generation_prompt=True)

"""How ``embed_tokens`` and ``lm_head`` are trained, and keeping them tied when the base model ties them.

The original lists both among LoRA's target modules. Unsloth (and zigtune, for both backends) trains them as
full matrices instead (PEFT ``modules_to_save``) at the lower embedding learning rate: LoRA on an embedding is
never unfrozen by PEFT and Unsloth's fused loss reads ``lm_head.weight`` directly.

Qwen2.5-3B ties ``lm_head`` to ``embed_tokens`` (``tie_word_embeddings``). Saving both as separate trainable
copies lets them drift apart during training, and a merged model — which re-ties them — then keeps only one:
the merged model no longer computes what the adapter computed. By default zigtune trains ONE shared matrix:
only ``embed_tokens`` is saved and PEFT's ``ensure_weight_tying`` points ``lm_head`` at the same trained weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zigtune.training.config import EMBEDDING_MODULES


@dataclass(frozen=True)
class EmbeddingPlan:
    lora_targets: list[str]
    modules_to_save: list[str]
    ensure_weight_tying: bool

    @property
    def trains_embeddings(self) -> bool:
        return bool(self.modules_to_save)


def plan_embeddings(target_modules: list[str], model_ties_embeddings: bool, keep_tied: bool) -> EmbeddingPlan:
    """Split the configured targets into LoRA projections and fully trained embedding matrices."""
    lora_targets = [m for m in target_modules if m not in EMBEDDING_MODULES]
    saved = [m for m in EMBEDDING_MODULES if m in target_modules]
    tie = keep_tied and model_ties_embeddings and set(saved) == set(EMBEDDING_MODULES)
    if tie:
        saved = ["embed_tokens"]
    return EmbeddingPlan(lora_targets=lora_targets, modules_to_save=saved, ensure_weight_tying=tie)


def ties_embeddings(model: Any) -> bool:
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return bool(getattr(text_config, "tie_word_embeddings", False))


def embeddings_share_weight(model: Any) -> bool:
    """Whether the input and output embeddings the forward pass uses are one tensor."""
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if outputs is None:
        return False
    return _active_weight(inputs).data_ptr() == _active_weight(outputs).data_ptr()


def _active_weight(module: Any) -> Any:
    saved = getattr(module, "modules_to_save", None)
    if saved is not None and "default" in saved:
        return saved["default"].weight
    return module.weight

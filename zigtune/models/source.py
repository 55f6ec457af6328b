"""What a ``base_model`` setting names, resolved before anything heavy is loaded.

A setting is one of: a Hugging Face hub id (``Qwen/Qwen2.5-3B-Instruct``); a local model directory (``config.json``
and weights, or a directory that holds one ``.gguf`` file, as ``python -m zigtune.models fetch`` writes); a
``.gguf`` file; or the name of a fetched model (``coder-1.5b``). Anything else is one clear error, raised before
transformers is imported, instead of transformers' guess at a hub lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigtune import settings
from zigtune.models.catalog import MODELS

#: ``name`` or ``org/name``, as the hub spells repositories.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
#: Files that make a directory an ordinary transformers model directory.
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
#: Files that hold a tokenizer transformers can load without converting a GGUF's vocabulary.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


class ModelSourceError(ValueError):
    """A ``base_model`` that names nothing loadable; the message is one line: what it is and what to do."""


@dataclass(frozen=True)
class ModelRef:
    """What ``from_pretrained`` takes for one base model."""

    path: str  # a hub id or a local directory
    gguf_file: str | None = None  # the GGUF inside ``path`` to load (dequantized by transformers)
    has_tokenizer_files: bool = False

    @property
    def is_gguf(self) -> bool:
        return self.gguf_file is not None

    def model_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}

    def tokenizer_kwargs(self) -> dict[str, Any]:
        """A directory with tokenizer files loads them; a bare GGUF has its vocabulary converted."""
        return {} if self.has_tokenizer_files or not self.gguf_file else {"gguf_file": self.gguf_file}


def models_dir() -> Path:
    """Where ``fetch`` writes model directories: ``data/models`` (``ZIGTUNE_DATA_DIR`` moves it)."""
    return settings.data_dir() / "models"


def _has_tokenizer(directory: Path) -> bool:
    return all((directory / name).is_file() for name in _TOKENIZER_FILES)


def _from_directory(directory: Path, setting: str) -> ModelRef:
    if (directory / "config.json").is_file() and any((directory / name).is_file() for name in _WEIGHTS):
        return ModelRef(str(directory), None, _has_tokenizer(directory))
    ggufs = sorted(path.name for path in directory.glob("*.gguf"))
    if len(ggufs) == 1:
        return ModelRef(str(directory), ggufs[0], _has_tokenizer(directory))
    if len(ggufs) > 1:
        raise ModelSourceError(
            f"base_model {setting!r} holds {len(ggufs)} .gguf files ({', '.join(ggufs)}): name one of them"
        )
    raise ModelSourceError(
        f"base_model {setting!r} is a directory with neither config.json and weights nor a .gguf file: point it at "
        "a model directory, a .gguf file or a hub id, or fetch one (python -m zigtune.models fetch coder-1.5b)"
    )


def resolve_model(setting: str) -> ModelRef:
    """The ``ModelRef`` for a ``base_model`` setting, or a ``ModelSourceError``."""
    setting = setting.strip()
    if not setting:
        raise ModelSourceError("base_model is empty: name a hub id, a model directory or a .gguf file")
    path = Path(setting).expanduser()
    if setting.lower().endswith(".gguf"):
        if not path.is_file():
            raise ModelSourceError(f"base_model {setting!r}: no such .gguf file")
        return ModelRef(str(path.resolve().parent), path.name, _has_tokenizer(path.resolve().parent))
    if path.is_dir():
        return _from_directory(path.resolve(), setting)
    if setting in MODELS:
        fetched = models_dir() / setting
        if fetched.is_dir():
            return _from_directory(fetched, setting)
        raise ModelSourceError(
            f"base_model {setting!r} has not been fetched: run python -m zigtune.models fetch {setting}"
        )
    if path.exists():
        raise ModelSourceError(f"base_model {setting!r} is a file, not a model directory or a .gguf file")
    looks_local = setting.startswith(("/", "./", "../", "~")) or setting.count("/") > 1 or "\\" in setting
    if looks_local or not _HUB_ID.match(setting):
        raise ModelSourceError(
            f"base_model {setting!r}: no such model directory (and not a hub id such as Qwen/Qwen2.5-3B-Instruct)"
        )
    return ModelRef(setting)


def load_causal_lm(ref: ModelRef, **options: Any) -> Any:
    """``AutoModelForCausalLM.from_pretrained`` for a resolved model; a GGUF is dequantized into an ordinary,
    trainable and saveable model (transformers would otherwise mark it quantized: not trainable, not saveable)."""
    import transformers

    if not ref.is_gguf:
        return transformers.AutoModelForCausalLM.from_pretrained(ref.path, **options)
    if "quantization_config" in options:
        raise ModelSourceError(
            f"{ref.gguf_file} cannot also be quantized at load (load_in_4bit): dequantize it to 16-bit weights first "
            "(python -m zigtune.models fetch NAME --dequantize) or set load_in_4bit=False"
        )
    gguf_config = getattr(transformers, "GgufConfig", None)  # transformers >= 5: GGUF loading is a quantizer
    if gguf_config is not None:
        options["quantization_config"] = gguf_config(dequantize=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(ref.path, gguf_file=ref.gguf_file, **options)
    model.hf_quantizer = None  # every weight is a dense tensor now
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model

"""A trained adapter made into a model people can run: merged 16-bit weights, tokenizer, chat template, an Ollama
``Modelfile``, a model card, and (when llama.cpp's converter is at hand) a GGUF file. No dagster here.

``export_model`` loads the base model in 16 bits (not the 4-bit NF4 it was trained on: a merged model carries
full-precision weights, as Unsloth's ``merged_16bit`` does), puts the adapter on it, and computes the logits of
fixed prompts; then merges (``merge_and_unload``), saves, loads the saved directory back as a plain transformers
model and computes the same logits. They must agree within the dtype's tolerance, or the export fails: that is
what proves the tied embedding survived. With zigtune's default ``keep_embeddings_tied`` the adapter trained
ONE embedding matrix that ``lm_head`` shares, so the merged model ties them as the base did; an adapter trained
with two copies (``keep_embeddings_tied=False``) is saved untied (``tie_word_embeddings: false``), or the
merged model would silently drop the trained ``lm_head``.

The directory serves as it is: ``transformers serve``, vLLM (``vllm serve <dir>``: vLLM refuses LoRA adapters
with ``modules_to_save``, so the merged model is the one to serve), llama.cpp and Ollama (the Modelfile:
``ollama create zigtune -f Modelfile``; ``FROM`` is the GGUF when one was made, else the safetensors directory,
which Ollama imports for Qwen2). ``python -m zigtune.training.export`` is the Pipes worker the
``model_export`` asset runs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zigtune.dataset.chatml import QWEN25_DEFAULT_SYSTEM
from zigtune.training.config import TrainingError
from zigtune.training.inference import adapter_base_model, load_with_adapter, prepare_tokenizer

#: Stop markers of Qwen2.5's ChatML: the end of a turn, and the end of the text.
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")

#: Prompts whose logits must agree between the adapter and the merged model.
CHECK_PROMPTS: tuple[tuple[dict[str, str], ...], ...] = (
    ({"role": "user", "content": "Write a Zig function that adds two i32 values."},),
    ({"role": "user", "content": "What does `defer` do in Zig 0.14?"},),
    (
        {"role": "system", "content": "You write Zig 0.14 code that compiles."},
        {"role": "user", "content": 'Print "hello" with std.debug.print.'},
    ),
)

#: Largest |Δlogit| allowed, relative to the largest |logit| of the adapter, per compute dtype.
RELATIVE_TOLERANCE = {"float32": 1e-4, "bfloat16": 3e-2, "float16": 1e-2}

#: Where llama.cpp's ``convert_hf_to_gguf.py`` is, if anywhere (a llama.cpp checkout, or the ``vendor/llama.cpp``
#: of the llama-cpp-python source distribution); its ``gguf-py`` beside it is used when ``gguf`` is not installed.
CONVERTER_ENV = "ZIGTUNE_LLAMA_CPP_CONVERTER"

#: Ollama's Qwen2.5 template (ollama.com/library/qwen2.5) without the tool-calling branches: zigtune trains no
#: tools. It renders what the training chat template renders, with the SYSTEM below as the default system turn.
OLLAMA_TEMPLATE = """\
{{- if .Messages }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ .Content }}{{ if not $last }}<|im_end|>
{{ end }}
{{- end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"""


class ExportError(TrainingError):
    """The export cannot be made or is wrong (the merged model does not compute what the adapter computes)."""


@dataclass
class ExportResult:
    model_dir: str
    base_model: str
    adapter_dir: str
    dtype: str
    device: str
    tied_embeddings: bool
    max_abs_logit_diff: float
    relative_logit_diff: float
    tolerance: float
    prompts_checked: int
    next_token_agreement: float
    gguf_path: str | None
    gguf_note: str
    #: The GGUF quantized by llama.cpp (``quantize``: e.g. ``Q4_K_M``, the type the real Qwen2.5-Coder GGUFs ship in)
    gguf_quantized_path: str | None = None
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dtype(name: str, cuda: bool) -> Any:
    import torch

    if name == "auto":
        name = "bfloat16" if cuda and torch.cuda.is_bf16_supported() else "float32"
    if name not in RELATIVE_TOLERANCE:
        raise ExportError(f"dtype={name!r} is not one of auto, {', '.join(RELATIVE_TOLERANCE)}")
    return getattr(torch, name)


def _prompt_batches(tokenizer: Any) -> list[Any]:
    return [
        tokenizer(
            tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True),
            return_tensors="pt",
            add_special_tokens=False,
        )
        for messages in CHECK_PROMPTS
    ]


def prompt_logits(model: Any, tokenizer: Any) -> list[Any]:
    """The logits of every position of each check prompt (float32, on the CPU)."""
    import torch

    logits = []
    with torch.inference_mode():
        for batch in _prompt_batches(tokenizer):
            logits.append(model(**batch.to(model.device)).logits[0].float().cpu())
    return logits


def compare_logits(reference: list[Any], candidate: list[Any]) -> tuple[float, float, float]:
    """(max |Δlogit|, that relative to the reference's largest |logit|, share of positions with the same argmax)."""
    import torch

    diff = max(float((a - b).abs().max()) for a, b in zip(reference, candidate, strict=True))
    scale = max(float(a.abs().max()) for a in reference) or 1.0
    same = torch.cat([a.argmax(-1) == b.argmax(-1) for a, b in zip(reference, candidate, strict=True)])
    return diff, diff / scale, float(same.float().mean())


def _tie_or_untie(model: Any) -> bool:
    """Keep the base's tying when the merged input and output embeddings are one tensor; untie otherwise."""
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if outputs is None:
        return False
    if inputs.weight.data_ptr() == outputs.weight.data_ptr():
        return True
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    config.tie_word_embeddings = False
    model.config.tie_word_embeddings = False
    return False


def _stop_ids(tokenizer: Any) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(token) for token in STOP_TOKENS]


def merge(adapter_dir: Path, model_dir: Path, dtype: str = "auto") -> ExportResult:
    """Merge the adapter into its 16-bit base, save model + tokenizer + chat template, and check the logits."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    base_model = adapter_base_model(adapter_dir)
    cuda = torch.cuda.is_available()
    torch_dtype = _dtype(dtype, cuda)
    options: dict[str, Any] = {"dtype": torch_dtype}
    if cuda:
        options["device_map"] = {"": torch.cuda.current_device()}
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(str(adapter_dir)))
    hint = "the base model's 16-bit weights must be reachable to merge"
    model = load_with_adapter(base_model, adapter_dir, options, ExportError, hint)
    adapter_logits = prompt_logits(model, tokenizer)
    merged = model.merge_and_unload()
    tied = _tie_or_untie(merged)
    merged.generation_config.eos_token_id = _stop_ids(tokenizer)
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    partial = model_dir.with_name(model_dir.name + ".partial")
    merged.save_pretrained(str(partial))
    tokenizer.save_pretrained(str(partial))
    del merged, model
    if cuda:
        torch.cuda.empty_cache()
    reloaded = AutoModelForCausalLM.from_pretrained(str(partial), **options)
    reloaded.eval()
    diff, relative, agreement = compare_logits(adapter_logits, prompt_logits(reloaded, tokenizer))
    dtype_name = str(torch_dtype).removeprefix("torch.")
    tolerance = RELATIVE_TOLERANCE[dtype_name]
    if relative > tolerance:
        raise ExportError(
            f"the merged model's logits differ from the adapter's by {diff:.4g} ({relative:.2%} of the largest logit, "
            f"over the {tolerance:.2%} allowed in {dtype_name}): the merge lost part of the adapter; nothing exported"
        )
    if model_dir.exists():
        import shutil

        shutil.rmtree(model_dir)
    partial.rename(model_dir)
    return ExportResult(
        model_dir=str(model_dir),
        base_model=base_model,
        adapter_dir=str(adapter_dir),
        dtype=dtype_name,
        device=torch.cuda.get_device_name(0) if cuda else "cpu",
        tied_embeddings=tied,
        max_abs_logit_diff=diff,
        relative_logit_diff=relative,
        tolerance=tolerance,
        prompts_checked=len(CHECK_PROMPTS),
        next_token_agreement=agreement,
        gguf_path=None,
        gguf_note="",
        seconds=time.perf_counter() - started,
    )


# -- GGUF ----------------------------------------------------------------------------------------------------------


def find_converter() -> Path | None:
    """llama.cpp's ``convert_hf_to_gguf.py``: ``$ZIGTUNE_LLAMA_CPP_CONVERTER`` (the script or its directory)."""
    given = os.environ.get(CONVERTER_ENV)
    if not given:
        return None
    path = Path(given)
    path = path / "convert_hf_to_gguf.py" if path.is_dir() else path
    return path if path.is_file() else None


def gguf_command(model_dir: Path, gguf_path: Path, converter: Path | str = "llama.cpp/convert_hf_to_gguf.py") -> str:
    """The one command that makes the GGUF (bf16, every tensor as merged) from the merged directory."""
    return shlex.join(["python", str(converter), str(model_dir), "--outfile", str(gguf_path), "--outtype", "bf16"])


def make_gguf(model_dir: Path, gguf_path: Path, timeout_s: float = 3600) -> tuple[Path | None, str]:
    """Run llama.cpp's converter when it is at hand; otherwise say which command makes the file."""
    converter = find_converter()
    if converter is None:
        return None, (
            f"no GGUF made: llama.cpp's converter is not installed here (set {CONVERTER_ENV} to a llama.cpp "
            f"checkout); make it with: {gguf_command(model_dir, gguf_path)}"
        )
    env = dict(os.environ)
    gguf_py = converter.parent / "gguf-py"
    if gguf_py.is_dir():  # the converter's own gguf-py, matching it, ahead of any installed gguf
        env["PYTHONPATH"] = os.pathsep.join([str(gguf_py), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, str(converter), str(model_dir), "--outfile", str(gguf_path), "--outtype", "bf16"]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False)
    if completed.returncode or not gguf_path.is_file():
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise ExportError(f"llama.cpp's converter failed on {model_dir} (exit {completed.returncode}): {last}")
    return gguf_path, f"made by {converter.name} (bf16)"


def quantize_gguf(source: Path, target: Path, kind: str, threads: int = 0) -> Path:
    """``source`` (a 16-bit GGUF) quantized to ``kind`` (``Q4_K_M``, ``Q8_0``, ... : llama.cpp's names) by llama.cpp
    itself, through the ``llama_cpp`` binding (``pip install llama-cpp-python``). Written beside ``target`` first and
    renamed when complete, so a failed run never leaves a file that looks finished."""
    try:
        import ctypes

        import llama_cpp
    except ImportError:
        raise ExportError(
            f"no {kind} GGUF made: quantizing needs llama.cpp's Python binding (pip install llama-cpp-python)"
        ) from None
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}", None)
    if ftype is None:
        known = sorted(
            n.removeprefix("LLAMA_FTYPE_MOSTLY_") for n in dir(llama_cpp) if n.startswith("LLAMA_FTYPE_MOSTLY_")
        )
        raise ExportError(f"quantize={kind!r} is not a llama.cpp type: one of {', '.join(known)}")
    partial = target.with_name(target.name + ".partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads or os.cpu_count() or 1
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
    if code != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise ExportError(f"llama.cpp could not quantize {source.name} to {kind} (code {code}); nothing written")
    partial.rename(target)
    return target


# -- Ollama and the model card --------------------------------------------------------------------------------------


def modelfile(source: str, num_ctx: int = 4096, system: str = QWEN25_DEFAULT_SYSTEM) -> str:
    """An Ollama Modelfile: the weights, the ChatML template, its stop tokens, greedy decoding as evaluated."""
    stops = "\n".join(f'PARAMETER stop "{token}"' for token in STOP_TOKENS)
    return (
        f"# ollama create zigtune -f Modelfile && ollama run zigtune\nFROM {source}\n"
        f'TEMPLATE """{OLLAMA_TEMPLATE}"""\n{stops}\nPARAMETER temperature 0\nPARAMETER num_ctx {num_ctx}\n'
        f'SYSTEM """{system}"""\n'
    )


def model_card(result: ExportResult, training: dict[str, Any] | None, evaluation_md: str | None) -> str:
    training = training or {}
    rows = [
        ("base model", result.base_model),
        ("adapter", result.adapter_dir),
        ("weights", f"{result.dtype} safetensors, adapter merged; tied embeddings: {result.tied_embeddings}"),
        ("check", f"logits of {result.prompts_checked} fixed prompts equal the adapter's: max |Δ| "
                  f"{result.max_abs_logit_diff:.3g} ({result.relative_logit_diff:.3%} of the largest logit, "
                  f"allowed {result.tolerance:.2%}); same next token at {result.next_token_agreement:.1%} of "
                  "positions"),
        ("GGUF", result.gguf_path or result.gguf_note),
    ]  # fmt: skip
    for key in ("train_examples", "steps", "train_loss", "eval_loss", "tokens_per_second", "mlflow_run_id"):
        if training.get(key) is not None:
            rows.append((f"training: {key.replace('_', ' ')}", str(training[key])))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    evaluation = evaluation_md or "Not evaluated yet: materialize `model_evaluation`, then `model_export` again."
    return f"""---
base_model: {result.base_model}
library_name: transformers
tags: [zig, zigtune, merged-lora]
---
# zigtune: {Path(result.base_model).name} fine-tuned for Zig 0.14

The LoRA adapter trained by zigtune's `lora_model`, merged into its base model. The chat template is the one it
was trained with (Qwen2.5's ChatML); a reply ends at `<|im_end|>`.

| | |
|---|---|
{table}

## Evaluation
{evaluation}

## Serve it
- transformers: `transformers serve {result.model_dir}` (OpenAI-compatible, `/v1/chat/completions`)
- vLLM: `vllm serve {result.model_dir}` (the merged model; vLLM's `--enable-lora` refuses this adapter because it
  trains `embed_tokens` in full)
- Ollama: `ollama create zigtune -f {result.model_dir}/Modelfile && ollama run zigtune`
- llama.cpp: the GGUF above, or `{gguf_command(Path(result.model_dir), Path(result.model_dir) / "model.gguf")}`
"""


def export_model(
    adapter_dir: Path,
    model_dir: Path,
    dtype: str = "auto",
    make_gguf_file: bool = True,
    training: dict[str, Any] | None = None,
    evaluation_md: str | None = None,
    num_ctx: int = 4096,
    quantize: str | None = None,
) -> ExportResult:
    """The merged model directory with tokenizer, chat template, Modelfile, model card, and GGUF when possible
    (also quantized to ``quantize`` when asked; the Modelfile then uses the quantized file)."""
    result = merge(Path(adapter_dir), Path(model_dir), dtype)
    gguf_path = Path(model_dir) / "model.gguf"
    made, result.gguf_note = make_gguf(Path(model_dir), gguf_path) if make_gguf_file else (None, "not asked for")
    result.gguf_path = str(made) if made else None
    source = "./model.gguf" if made else "."
    if made and quantize:
        quantized = quantize_gguf(made, Path(model_dir) / f"model.{quantize.upper()}.gguf", quantize)
        result.gguf_quantized_path = str(quantized)
        result.gguf_note += f"; quantized to {quantize.upper()} by llama.cpp ({quantized.stat().st_size:,} bytes)"
        source = f"./{quantized.name}"
    (Path(model_dir) / "Modelfile").write_text(modelfile(source, num_ctx), encoding="utf-8")
    (Path(model_dir) / "README.md").write_text(model_card(result, training, evaluation_md), encoding="utf-8")
    result.files = sorted(p.name for p in Path(model_dir).iterdir())
    (Path(model_dir) / "export_result.json").write_text(json.dumps(result.as_dict(), indent=1), encoding="utf-8")
    return result


# -- the Pipes worker -----------------------------------------------------------------------------------------------


def export_work(params: dict[str, Any], reporter: Any) -> Any:
    """Fetch the adapter, export, publish the model directory; the result and metadata go back through Pipes."""
    from zigtune.storage.artifacts import artifact_store, key_for
    from zigtune.training.worker import WorkerReply

    store = artifact_store()
    adapter = store.fetch(params["adapter_dir"])
    model_dir = Path(params["output_dir"])
    reporter.log(f"merging {adapter} into its 16-bit base")
    result = export_model(
        adapter,
        model_dir,
        dtype=params.get("dtype", "auto"),
        make_gguf_file=params.get("gguf", True),
        training=params.get("training"),
        evaluation_md=params.get("evaluation_md"),
        num_ctx=params.get("num_ctx", 4096),
        quantize=params.get("gguf_quantize") or None,
    )
    reporter.log(
        f"merged model in {result.model_dir}: max |Δlogit| {result.max_abs_logit_diff:.3g} vs the adapter "
        f"({result.relative_logit_diff:.3%}); {result.gguf_note}"
    )
    result.model_dir = store.publish(model_dir, key_for(model_dir, f"models/{model_dir.parent.name}/merged"))
    return WorkerReply(result=result.as_dict())


def main() -> None:
    from zigtune.settings import StorageConfigError
    from zigtune.storage.artifacts import ArtifactError
    from zigtune.training.worker import serve

    serve(export_work, user_errors=(TrainingError, ArtifactError, StorageConfigError))


if __name__ == "__main__":
    main()

"""Packed batches under Unsloth, the merged export and serving it, on a CUDA GPU, with Qwen2.5's real vocabulary.

Skipped without CUDA. Needs neither Dagster nor MLflow: the training steps run without MLflow and the export and
serving are plain transformers + peft, so this file runs on a bare CUDA image plus the ``cuda`` extra
(``scripts/gpu_tests.sh``). The model is a 4-layer Qwen2 with random weights, Qwen2.5's tokenizer and its
151,936-row tied embedding; the conversations are ``$ZIGTUNE_GPU_DATASET/train.jsonl`` (the chatml dataset of
``make run``) when set, else generated Zig Q&A.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny_model import build_model_dir, write_conversations

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
ROOT = Path(__file__).resolve().parents[2]


def _check(*arguments: str) -> dict:
    completed = subprocess.run([sys.executable, "-m", "tests.gpu.unsloth_checks", *arguments], cwd=ROOT,
                               capture_output=True, text=True, timeout=900)  # fmt: skip
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, completed.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("small-qwen25"), "small", device="cuda", tokenizer="qwen2.5")


@pytest.fixture(scope="module")
def train_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ZIGTUNE_GPU_DATASET")
    if given:
        return Path(given) / "train.jsonl"
    return write_conversations(tmp_path_factory.mktemp("data") / "train.jsonl", 96, words=40)


#: The smallest tolerance on a relative |Δlogit|: 4 bf16 steps (2^-8 each) of the largest logit.
BF16_FLOOR = 2**-6


def same_logits(diffs: list[float], tolerance: float) -> bool:
    """Whether every conversation of a row has its own logits, to within ``tolerance`` (see ``packing``)."""
    return max(diffs) <= tolerance


def test_unsloth_packed_row_is_the_separate_conversations(model_dir: Path, train_jsonl: Path) -> None:
    """Logits, not token-mean losses: a row that attends across conversations moves the loss of this random-weight
    model by 0.2% only, but moves the logits of every conversation after the first far beyond bf16 noise. The
    tolerance is measured (4 × the largest difference of the same conversation computed in a longer row), never
    below 4 bf16 steps; the leaky row (``one_causal_row``) is the negative control: the same check must flag it."""
    result = _check("packing", str(model_dir), str(train_jsonl))
    print(result)
    diffs = result["logit_diff"]
    tolerance = max(4 * max(result["noise"]), BF16_FLOOR)
    assert result["positions_restart"] and result["conversations"] >= 2
    leak = diffs["one_causal_row"][1:]  # the first conversation sees nothing before it, leaky row or not
    assert not same_logits(leak, tolerance), f"the check cannot tell the leaky row: {leak} vs tolerance {tolerance}"
    assert diffs["one_causal_row"][0] <= tolerance, diffs["one_causal_row"]
    assert same_logits(diffs["packed"], tolerance), (diffs["packed"], tolerance)
    assert same_logits(diffs["packed_seq_lengths"], tolerance), (diffs["packed_seq_lengths"], tolerance)


@pytest.fixture(scope="module")
def trained(model_dir: Path, train_jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = _check("train", str(model_dir), str(train_jsonl), str(tmp_path_factory.mktemp("run")))
    print({k: v for k, v in result.items() if k != "losses"}, "losses", result["losses"][:3], "...",
          result["losses"][-3:])  # fmt: skip
    return result


def test_merged_export_computes_what_the_adapter_computes(trained: dict, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zigtune.training.export import compare_logits, export_model, prompt_logits
    from zigtune.training.inference import load_adapter

    assert trained["tied"] is True and trained["losses"][-1] < trained["losses"][0]
    result = export_model(Path(trained["adapter_dir"]), tmp_path / "merged")
    print(result.as_dict())
    assert result.dtype == "bfloat16" and result.device != "cpu" and result.tied_embeddings
    assert result.relative_logit_diff <= result.tolerance
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.bfloat16, device_map={"": 0})
    assert merged.lm_head.weight.data_ptr() == merged.get_input_embeddings().weight.data_ptr()
    assert (tmp_path / "merged" / "Modelfile").read_text().count("PARAMETER stop") == 2
    # For the record: the adapter as trained and evaluated (on the 4-bit NF4 base) vs the merged 16-bit model.
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "merged")
    quantized = load_adapter(trained["adapter_dir"], backend="hf", load_in_4bit=True)
    reference = prompt_logits(quantized.model, tokenizer)
    diff, relative, agreement = compare_logits(reference, prompt_logits(merged, tokenizer))
    print(f"merged bf16 vs adapter on the NF4 base: max |Δlogit| {diff:.4g} ({relative:.2%}); same next token at "
          f"{agreement:.1%} of positions")  # fmt: skip


def test_merged_model_is_served_by_transformers_serve(trained: dict, tmp_path: Path) -> None:
    from tests.serving import served
    from zigtune.training.export import CHECK_PROMPTS, export_model

    merged = tmp_path / "merged"
    export_model(Path(trained["adapter_dir"]), merged, make_gguf_file=False)
    with served(device="cuda") as server:
        replies = server.chat_and_compare(merged, [list(p) for p in CHECK_PROMPTS], max_tokens=24)
    for reply in replies:
        print(reply)
        assert reply["served"] == reply["local"] and reply["prompt_tokens"] == reply["local_prompt_tokens"]


def test_served_export_is_evaluated_through_the_openai_backend(
    model_dir: Path, trained: dict, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The merged model and its base behind ``transformers serve`` on the GPU, asked for every task of a suite by
    the evaluation CLI (the openai backend; replies compared with in-process generation), then judged by the Zig
    compiler with ``score`` when ziglang is installed here. The suite, the completions and the reports are left
    in ``$ZIGTUNE_GPU_OUT`` when set, so they can be judged on another machine (``python -m zigtune.evaluation
    score --suite gpu_eval_suite.jsonl --completions fine_tuned.jsonl``)."""
    import importlib.util

    from tests.cli_runs import evaluation_cli
    from tests.serving import ask_and_compare, served
    from zigtune.training.export import export_model

    out = Path(os.environ.get("ZIGTUNE_GPU_OUT") or tmp_path_factory.mktemp("gpu-eval"))
    out.mkdir(parents=True, exist_ok=True)
    # The hand-written suite and every 8th task of zigtune_core (all its categories): 12 tasks.
    core = (ROOT / "zigtune" / "evaluation" / "suites" / "zigtune_core.jsonl").read_text().splitlines()
    hand = (ROOT / "tests" / "data" / "hand_written_suite.jsonl").read_text().splitlines()
    suite = out / "gpu_eval_suite.jsonl"
    suite.write_text("\n".join([*hand, *core[::8]]) + "\n", encoding="utf-8")
    merged = tmp_path / "merged"
    export_model(Path(trained["adapter_dir"]), merged, make_gguf_file=False)
    with served(device="cuda") as server:
        outcome = ask_and_compare(server, {"base": model_dir, "fine_tuned": merged}, suite, out, max_tokens=64)
    for role, result in outcome.items():
        print(role, {k: v for k, v in result.items() if k != "completions"})
    judged = importlib.util.find_spec("ziglang") is not None
    for role, result in outcome.items():
        if not judged or result["exit"]:
            continue
        report = out / f"{role}-report.json"
        scored = evaluation_cli("score", "--suite", str(suite), "--completions", str(result["completions"]),
                                "--out", str(report), "--no-cache", "--sandbox-dir", str(tmp_path / "zig"))  # fmt: skip
        print(role, "score:", scored.stdout.strip() or scored.stderr.strip()[-2000:])
        assert scored.returncode == 0
    if not judged:
        print(f"ziglang is not installed here: judge {out}/<role>.jsonl with python -m zigtune.evaluation score")
    for role, result in outcome.items():
        assert result["exit"] == 0 and result["answered"] == result["tasks"] == 12, (role, result["said"])
        assert result["same_as_local"] == result["tasks"], role

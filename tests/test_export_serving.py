"""model_export and serving on CPU, with Qwen2.5's real vocabulary: a tiny Qwen2 trained by zigtune's own training
code (hf backend, LoRA plus the tied embedding trained as one matrix), merged by ``export_model``, served by
``transformers serve`` and evaluated through ``model_evaluation``'s openai backend and the evaluation CLI, judged
by the real Zig compiler.

The model is Qwen2's architecture at a toy size (hidden 64, 2 layers) with Qwen2.5's tokenizer and its
151,936-row tied embedding (9.7M of its 10M parameters): the real vocabulary, chat template and stop tokens go
through the export, the Modelfile and the server. Its weights are random, so every task fails: the tests check
that the failures are judged and counted, not that the model is good. tests/gpu/test_packing_export_gpu.py does
the same on a CUDA GPU with Unsloth's training.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import torch

from tests.cli_runs import evaluation_cli
from tests.qwen25_tokenizer import QWEN25_CHAT_TEMPLATE
from tests.serving import Server, ask_and_compare, local_greedy, served
from tests.tiny_model import build_model_dir

HAND_SUITE = Path(__file__).parent / "data" / "hand_written_suite.jsonl"
MAX_TOKENS = 48
ANSWER = "pub fn main() void {}\n"
#: Verdicts that fail a task (all but ``ok``).
FAILED = {"compile_error", "runtime_error", "test_failure", "timeout", "killed", "output_truncated", "wrong_output",
          "unknown_api", "no_code", "unchecked"}  # fmt: skip


class _Quiet:
    def log(self, message: str) -> None:
        print(message, file=sys.stderr)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Base model, training data and the adapter that zigtune's training code makes of them (4 steps, CPU).

    Every answer is the same program, so four steps teach the model to start its replies with ``pub``: its
    completions hold code for the judge to compile (and fail), where the random base only repeats newlines."""
    from zigtune.training import run
    from zigtune.training.config import TrainingConfig

    root = tmp_path_factory.mktemp("export")
    base = build_model_dir(root / "base", "tiny", tokenizer="qwen2.5")
    train = root / "dataset" / "train.jsonl"
    train.parent.mkdir()
    conversations = [[{"role": "user", "content": f"Question {i}: write the smallest Zig program."},
                      {"role": "assistant", "content": ANSWER}] for i in range(12)]  # fmt: skip
    train.write_text("".join(json.dumps({"conversations": c}) + "\n" for c in conversations), encoding="utf-8")
    pl.read_ndjson(train).write_parquet(train.with_suffix(".parquet"))  # the provenance model_evaluation reads
    config = TrainingConfig(
        base_model=str(base),
        backend="hf",
        train_path=str(train),
        eval_path=None,
        output_dir=str(root / "lora"),
        load_in_4bit=False,
        optim="adamw_torch",
        max_seq_length=128,
        lora_r=8,
        lora_alpha=16,
        learning_rate=2e-2,
        embedding_learning_rate=5e-3,
        max_steps=4,
        per_device_train_batch_size=4,
        warmup_steps=0,
        gradient_checkpointing=False,
    )  # the default target modules: the projections with LoRA, embed_tokens (= lm_head, tied) trained in full
    run.check_inputs(config)
    loaded, tokenizer = run.load_model(config, run.choose_backend(config, cuda=False), cuda=False)
    assert loaded.plan.ensure_weight_tying and "embed_tokens" in loaded.plan.modules_to_save
    data = run.prepare_data(config, tokenizer, _Quiet())
    session = run.build_session(config, "hf", loaded, tokenizer, data, _Quiet(), None, cuda=False)
    run.fit(session, config, _Quiet(), cuda=False)
    adapter, tied = run.save_adapter(loaded, tokenizer, config)
    assert tied
    return {"base": base, "adapter": adapter, "train": train, "root": root}


@pytest.fixture(scope="module")
def exported(trained: dict[str, Path]) -> tuple[Path, object]:
    from zigtune.training.export import export_model

    merged = trained["root"] / "merged"
    evaluation_md = "| suite | base | fine-tuned |\n|---|---|---|\n| hand_written_suite | 0.0% | 0.0% |"
    result = export_model(trained["adapter"], merged, training={"steps": 4, "train_loss": 11.1},
                          evaluation_md=evaluation_md)  # fmt: skip
    return merged, result


def test_merged_export_computes_what_the_adapter_computes(trained: dict[str, Path], exported: tuple) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zigtune.training.export import RELATIVE_TOLERANCE, compare_logits, prompt_logits
    from zigtune.training.inference import load_adapter

    merged, result = exported
    assert (result.dtype, result.device, result.tied_embeddings) == ("float32", "cpu", True)
    assert result.relative_logit_diff <= result.tolerance == RELATIVE_TOLERANCE["float32"]
    assert result.next_token_agreement == 1.0 and result.prompts_checked == 3
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "chat_template.jinja", "Modelfile", "README.md"} <= set(result.files)  # fmt: skip
    assert not (merged.parent / "merged.partial").exists()

    # Checked again here, not taken from the export's word: the adapter on its base vs the saved merged model.
    adapter = load_adapter(trained["adapter"])
    tokenizer = AutoTokenizer.from_pretrained(merged)
    reference = prompt_logits(adapter.model, tokenizer)
    model = AutoModelForCausalLM.from_pretrained(merged)
    diff, relative, agreement = compare_logits(reference, prompt_logits(model, tokenizer))
    assert relative <= 1e-4 and agreement == 1.0, (diff, relative)
    # One matrix, trained: lm_head is embed_tokens, and it is not the base's.
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.config.tie_word_embeddings is True
    base = AutoModelForCausalLM.from_pretrained(trained["base"])
    assert not torch.equal(model.get_input_embeddings().weight, base.get_input_embeddings().weight)
    # The comparison can fail: the base model, and the merged model with the base's embedding put back (a merge
    # that lost the trained embedding), are both far outside the tolerance.
    assert compare_logits(reference, prompt_logits(base, tokenizer))[1] > 100 * RELATIVE_TOLERANCE["float32"]
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(base.get_input_embeddings().weight)
    assert compare_logits(reference, prompt_logits(model, tokenizer))[1] > 100 * RELATIVE_TOLERANCE["float32"]

    # Qwen2.5's tokenizer, chat template and stop tokens travel with the model.
    assert tokenizer("Hello, world!", add_special_tokens=False)["input_ids"] == [9707, 11, 1879, 0]
    assert tokenizer.chat_template == QWEN25_CHAT_TEMPLATE
    generation = json.loads((merged / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [151645, 151643] and generation["pad_token_id"] == 151643


def test_modelfile_and_model_card(exported: tuple) -> None:
    from zigtune.dataset.chatml import QWEN25_DEFAULT_SYSTEM
    from zigtune.training.export import OLLAMA_TEMPLATE

    merged, result = exported
    modelfile = (merged / "Modelfile").read_text()
    lines = modelfile.splitlines()
    assert "FROM ." in lines  # no GGUF converter here: Ollama imports the safetensors directory
    assert f'TEMPLATE """{OLLAMA_TEMPLATE}"""' in modelfile
    assert [line for line in lines if line.startswith("PARAMETER stop")] == [
        'PARAMETER stop "<|im_end|>"',
        'PARAMETER stop "<|endoftext|>"',
    ]
    assert {"PARAMETER temperature 0", "PARAMETER num_ctx 4096"} <= set(lines)
    assert f'SYSTEM """{QWEN25_DEFAULT_SYSTEM}"""' in modelfile
    # The template's turns are the training template's: ChatML markers, the generation header, the stop token.
    for marker in ("<|im_start|>system\n{{ .System }}<|im_end|>", "<|im_start|>user\n{{ .Content }}<|im_end|>",
                   "<|im_start|>assistant\n", "{{ .Content }}{{ if not $last }}<|im_end|>"):  # fmt: skip
        assert marker in OLLAMA_TEMPLATE, marker

    card = (merged / "README.md").read_text()
    assert card.startswith(f"---\nbase_model: {result.base_model}\n")
    assert "| hand_written_suite | 0.0% | 0.0% |" in card and "| training: steps | 4 |" in card
    assert f"max |Δ| {result.max_abs_logit_diff:.3g}" in card and "tied embeddings: True" in card
    assert f"`transformers serve {merged}`" in card and f"`vllm serve {merged}`" in card
    assert "convert_hf_to_gguf.py" in card  # the one command that makes the GGUF
    saved = json.loads((merged / "export_result.json").read_text())
    assert saved["relative_logit_diff"] == result.relative_logit_diff and saved["gguf_path"] is None


@pytest.fixture(scope="module")
def server(exported: tuple) -> Server:
    with served(device="cpu") as running:
        yield running


def _standins(trained: dict[str, Path]) -> list:
    @dg.asset(name="lora_model", group_name="training")
    def lora_model() -> pl.DataFrame:
        return pl.DataFrame({"adapter_dir": [str(trained["adapter"])], "base_model": [str(trained["base"])],
                             "mlflow_run_id": [None]}, schema_overrides={"mlflow_run_id": pl.Utf8})  # fmt: skip

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return pl.DataFrame({"split": ["train"], "path": [str(trained["train"])]})

    return [lora_model, chatml_dataset]


def test_model_evaluation_openai_backend_against_the_served_export(
    trained: dict[str, Path], exported: tuple, server: Server, data_dir: Path, zig_sandbox_root: Path
) -> None:
    from zigtune.assets import evaluation
    from zigtune.evaluation.suite import load_suite
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    merged, _ = exported
    models = {"base": str(trained["base"]), "fine_tuned": str(merged)}
    result = dg.materialize(
        [*_standins(trained), evaluation.model_evaluation, evaluation.evaluation_ran_tasks],
        resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                   "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
        run_config={"ops": {"model_evaluation": {"config": {
            "backend": "openai", "openai_base_url": server.base_url, "openai_base_model": models["base"],
            "openai_fine_tuned_model": models["fine_tuned"], "suites": [str(HAND_SUITE)], "verify_suites": [],
            "max_new_tokens": MAX_TOKENS, "bootstrap_resamples": 200}}}},
    )  # fmt: skip
    assert result.success
    metadata = result.asset_materializations_for_node("model_evaluation")[0].metadata
    frame = pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet")
    tasks = load_suite(HAND_SUITE).tasks
    assert frame.height == 2 * len(tasks) == metadata["samples"].value

    # Every task reached the server, for each model, and the replies are those models' own greedy replies.
    generation = metadata["generation"].value
    assert generation["requests"] == 2 * len(tasks) and generation["cached"] == 0
    assert all(generation["new_tokens"][role] > 0 for role in models), generation
    for role, model_dir in models.items():
        rows = frame.filter(pl.col("role") == role).sort("task_id")
        assert set(rows["model"]) == {model_dir} and set(rows["backend"]) == {"openai"}
        by_id = {task.id: task for task in tasks}
        conversations = [[{"role": "user", "content": by_id[t].prompt}] for t in rows["task_id"]]
        expected = [text.strip() for text, _ in local_greedy(Path(model_dir), conversations, MAX_TOKENS)]
        assert [c.strip() for c in rows["completion"]] == expected, role

    # Neither model passes a task, and the failures are judged and counted: the base's newlines hold no code; the
    # fine-tuned model's replies do, and the real compiler rejects them.
    assert set(frame["verdict"]) <= FAILED and not frame["passed"].any()
    assert set(frame["engine"]) == {"local"} and set(frame["zig_version"]) == {"0.14.0"}
    assert set(frame.filter(pl.col("role") == "base")["verdict"]) == {"no_code"}
    coded = frame.filter(pl.col("has_code"))
    assert coded["role"].to_list() == ["fine_tuned"] * 3, frame.select("role", "task_id", "completion", "verdict")
    assert set(coded["verdict"]) == {"compile_error"} and not coded["compiled"].any()
    assert all("error:" in stderr for stderr in coded["stderr"]), coded["stderr"].to_list()
    # Identical code under the same kind of check is compiled once: two run tasks got the same reply.
    distinct = coded.select("check_kind", "code").n_unique()
    assert metadata["compiled"].value + metadata["verdicts_from_cache"].value == distinct
    counts = metadata["verdicts"].value
    assert sum(counts.values()) == frame.height and "fine_tuned:ok" not in counts and "base:ok" not in counts
    assert metadata["fine_tuned_pass_at_1"].value == 0.0 and metadata["base_pass_at_1"].value == 0.0
    assert metadata["fine_tuned_compile_rate"].value == 0.0
    assert (metadata["base_model"].value, metadata["fine_tuned_model"].value) == (models["base"], models["fine_tuned"])
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["evaluation_ran_tasks"].passed


def test_evaluation_cli_asks_the_served_export_and_scores_it(
    exported: tuple, server: Server, data_dir: Path, zig_sandbox_root: Path
) -> None:
    """The README's way to evaluate a served model, as tests/gpu runs it: ``ask`` (the openai backend) then
    ``score`` (the Zig judge)."""
    merged, _ = exported
    asked = ask_and_compare(server, {"fine_tuned": merged}, HAND_SUITE, data_dir, MAX_TOKENS)["fine_tuned"]
    assert asked["exit"] == 0, asked["said"]
    assert "3 completions of 3 tasks" in asked["said"] and "(3 requests, 0 from the cache)" in asked["said"]
    assert asked["answered"] == asked["same_as_local"] == 3
    rows = [json.loads(line) for line in asked["completions"].read_text().splitlines()]
    assert [row["id"] for row in rows] == ["clamp", "sum-to-stdout", "countdown-to-stderr"]
    assert {row["model"] for row in rows} == {str(merged)}

    report_path = data_dir / "report.json"
    scored = evaluation_cli("score", "--suite", str(HAND_SUITE), "--completions", str(asked["completions"]),
                            "--out", str(report_path), "--sandbox-dir", str(zig_sandbox_root))  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert (report["tasks"], report["completions"], report["unanswered"]) == (3, 3, [])
    assert report["zig_version"] == "0.14.0" and report["headline"]["pass_at_1"] == 0.0
    verdicts = [verdict for task in report["per_task"] for verdict in task["verdicts"]]
    assert verdicts == ["compile_error"] * 3
    assert 1 <= report["checks"]["compiled"] + report["checks"]["from_cache"] <= 3  # identical code compiles once
    assert "pass@1 0.0%" in scored.stdout and "compile rate 0.0%" in scored.stdout


def test_quantizing_without_llama_cpp_is_one_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    """Where llama.cpp's binding is not installed (CI), ``gguf_quantize`` fails in one line that says what to
    install, and no file that looks finished is left."""
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF")
    code = (
        "import sys; sys.modules['llama_cpp'] = None\n"  # as on a machine without llama-cpp-python
        "from pathlib import Path\n"
        "from zigtune.training.export import ExportError, quantize_gguf\n"
        "try:\n"
        f"    quantize_gguf(Path({str(source)!r}), Path({str(tmp_path / 'model.Q4_K_M.gguf')!r}), 'Q4_K_M')\n"
        "except ExportError as error:\n"
        "    print(error)\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == (
        "no Q4_K_M GGUF made: quantizing needs llama.cpp's Python binding (pip install llama-cpp-python)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]


def test_quantizing_refuses_a_type_llama_cpp_does_not_have_and_a_broken_source(tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (a 25-minute build)")
    from zigtune.training.export import ExportError, quantize_gguf

    assert llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF not really")
    with pytest.raises(ExportError, match=r"quantize='Q9_X' is not a llama.cpp type: one of .*Q4_K_M"):
        quantize_gguf(source, tmp_path / "model.Q9_X.gguf", "Q9_X")
    with pytest.raises(ExportError, match=r"llama.cpp could not quantize model.gguf to Q4_K_M .*nothing written"):
        quantize_gguf(source, tmp_path / "model.Q4_K_M.gguf", "Q4_K_M")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]

"""lora_model on a CUDA GPU: the unsloth backend end to end through Dagster, on random-init Qwen2 models.

Skipped without CUDA (CI has none). Run on a GPU machine with ``python -m pytest tests/gpu -x -q -s``.
No weights are downloaded: ``small`` is a 4-layer Qwen2, ``qwen2.5-3b`` has Qwen2.5-3B-Instruct's exact shape
(36 layers, hidden 2048, vocab 151936, tied embeddings). ``ZIGTUNE_GPU_3B_MODEL`` may name a directory
built beforehand with ``python tests/tiny_model.py DIR qwen2.5-3b cuda`` (the benchmark reuses it).
"""

import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.tiny_model import build_model_dir, write_conversations
from zigtune.assets.training import lora_model
from zigtune.resources.training import TrainingExecutor

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _standin_dataset(train: Path, eval_: Path) -> dg.AssetsDefinition:
    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return pl.DataFrame({"split": ["train", "eval"], "path": [str(train), str(eval_)], "rows": [0, 0]})

    return chatml_dataset


def _materialize(data_dir: Path, executor: TrainingExecutor, train: int, eval_: int, words: int) -> tuple:
    train_path = write_conversations(data_dir / "dataset" / "train.jsonl", train, words=words)
    eval_path = write_conversations(data_dir / "dataset" / "eval.jsonl", eval_, seed=1, words=words)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([_standin_dataset(train_path, eval_path), lora_model], resources={"training": executor},
                            instance=instance)  # fmt: skip
    assert result.success
    row = result.output_for_node("lora_model").row(0, named=True)
    metadata = result.asset_materializations_for_node("lora_model")[0].metadata
    print({key: value.value for key, value in metadata.items() if key not in ("loss_curve", "last_steps")})
    print(metadata["loss_curve"].value)
    return row, metadata, instance, result.run_id


def test_unsloth_small_qwen2_end_to_end(tmp_path: Path, data_dir: Path) -> None:
    model_dir = build_model_dir(tmp_path / "small-qwen2", shape="small", device="cuda")
    executor = TrainingExecutor(
        base_model=str(model_dir),
        backend="unsloth",
        max_seq_length=512,
        lora_r=16,
        lora_alpha=32,
        learning_rate=2e-3,
        embedding_learning_rate=5e-4,
        num_train_epochs=3.0,
        per_device_train_batch_size=8,
        gradient_accumulation_steps=1,
        warmup_steps=3,
    )  # load_in_4bit, adamw_8bit, lm_head+embed_tokens: the defaults
    row, _, instance, run_id = _materialize(data_dir, executor, train=96, eval_=16, words=40)
    assert row["backend"] == "unsloth" and row["device"] != "cpu"
    assert row["steps"] == 36 and row["eval_loss"] is not None and row["tied_embeddings"] is True
    assert row["tokens_per_second"] > 0 and row["peak_vram_gib"] > 0
    logs = [entry.user_message for entry in instance.all_logs(run_id)]
    assert any(message.startswith("step 1: loss") for message in logs)

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    history = sorted(client.get_metric_history(row["mlflow_run_id"], "loss"), key=lambda m: m.step)
    losses = [m.value for m in history]
    assert len(losses) == 36 and sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 1.0, losses

    from zigtune.evaluation.decoding import Decoding
    from zigtune.evaluation.replies import Prompt, generate_batched
    from zigtune.training.inference import load_adapter

    loaded = load_adapter(row["adapter_dir"], backend="hf")
    question = [{"role": "user", "content": "Question 3: explain this Zig idea."}]
    completions, _ = generate_batched(
        loaded.model, loaded.tokenizer, [Prompt("q", question)], Decoding(max_new_tokens=16), "tuned", 1
    )
    replies = [c.text for c in completions]
    print("reply:", repr(replies[0]))
    assert replies[0]


@pytest.fixture(scope="module")
def qwen25_3b_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ZIGTUNE_GPU_3B_MODEL")
    return Path(given) if given else build_model_dir(tmp_path_factory.mktemp("qwen2.5-3b"), "qwen2.5-3b", device="cuda")


def test_unsloth_qwen25_3b_shape_end_to_end(qwen25_3b_dir: Path, data_dir: Path) -> None:
    model_dir = qwen25_3b_dir
    # The original's settings (r=128, alpha=128, lm_head+embed_tokens, 4-bit, AdamW 8-bit, batch 2 × 8), a few steps.
    executor = TrainingExecutor(base_model=str(model_dir), backend="unsloth", max_seq_length=1024, max_steps=6)
    row, metadata, _, _ = _materialize(data_dir, executor, train=96, eval_=8, words=300)
    assert row["backend"] == "unsloth" and row["steps"] == 6 and row["tied_embeddings"] is True
    assert row["eval_loss"] is not None and row["peak_vram_gib"] > 1.0
    adapter = Path(row["adapter_dir"])
    assert (adapter / "adapter_model.safetensors").stat().st_size > 500e6  # embed_tokens (151936 × 2048) + r=128
    assert metadata["trainable_parameters"].value > 300e6


def test_out_of_gpu_memory_is_one_line_that_names_the_fix(qwen25_3b_dir: Path, data_dir: Path) -> None:
    """bf16 weights, no gradient checkpointing, 128 sequences of 1,024 tokens in one batch: far past 80 GB."""
    executor = TrainingExecutor(
        base_model=str(qwen25_3b_dir), backend="unsloth", load_in_4bit=False, max_seq_length=1024, max_steps=2,
        per_device_train_batch_size=128, gradient_accumulation_steps=1, gradient_checkpointing=False,
    )  # fmt: skip
    train = write_conversations(data_dir / "dataset" / "train.jsonl", 128, words=900)
    eval_ = write_conversations(data_dir / "dataset" / "eval.jsonl", 4, seed=1, words=50)
    result = dg.materialize([_standin_dataset(train, eval_), lora_model], resources={"training": executor},
                            raise_on_error=False)  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    print("failure:", message)
    assert message.startswith("out of GPU memory (") and "at batch 128 × 1024 tokens" in message
    assert "lower per_device_train_batch_size or max_seq_length" in message and "\n" not in message

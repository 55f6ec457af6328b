"""model_evaluation with the hf backend on CPU: a tiny random-init Qwen2 is fine-tuned by lora_model and then
evaluated against its base, end to end through Dagster (the worker runs out of process through Pipes).

A random model writes no Zig, so this asserts the machinery — rows, verdicts, stamps, metadata, MLflow, and
that the base answers are exactly what the untouched base model says — not the score.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.test_evaluation import HAND_SUITE, _split, dataset_files, reference  # noqa: F401 (fixtures)
from tests.tiny_model import build_model_dir
from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.replies import Prompt, generate_batched
from zigtune.evaluation.scoring import BASE, FINE_TUNED
from zigtune.evaluation.steps import load_suites, prompts_of, system_turns

MAX_NEW_TOKENS = 24


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny-qwen2"))


def test_base_and_adapter_are_evaluated_end_to_end(
    reference,  # noqa: F811
    dataset_files,  # noqa: F811
    tiny_model_dir: Path,
    data_dir: Path,
    zig_sandbox_root: Path,
) -> None:
    from zigtune.assets import evaluation, training
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return dataset_files

    executor = TrainingExecutor(
        base_model=str(tiny_model_dir), backend="hf", load_in_4bit=False, optim="adamw_torch", max_seq_length=512,
        lora_r=8, lora_alpha=16, learning_rate=2e-2, embedding_learning_rate=5e-3, max_steps=3,
        per_device_train_batch_size=4, gradient_accumulation_steps=1, warmup_steps=1, gradient_checkpointing=False,
    )  # fmt: skip
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [chatml_dataset, training.lora_model, evaluation.model_evaluation,
             evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse],
            resources={"io_manager": ParquetIOManager(), "training": executor,
                       "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
            run_config={"ops": {"model_evaluation": {"config": {
                "max_new_tokens": MAX_NEW_TOKENS, "batch_size": 4, "suites": [str(HAND_SUITE), "eval_split"]}}}},
            instance=instance,
        )  # fmt: skip
        assert result.success
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    lora = pl.read_parquet(data_dir / "assets" / "lora_model.parquet").row(0, named=True)
    frame = pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet")
    suites = load_suites([str(HAND_SUITE), "eval_split"], _split(dataset_files, "eval")).suites
    tasks = frame.select("suite", "task_id").n_unique()
    expected = sum(len(suite.tasks) for suite in suites)
    assert tasks == expected >= 4  # 3 hand-written and the eval split's tasks (test tasks only), verified
    assert frame.height == 2 * tasks and frame.filter(pl.col("role") == BASE).height == tasks
    stamped = frame.select("model", "adapter", "backend", "temperature", "max_new_tokens", "zig_version", "engine")
    assert set(stamped.filter(frame["role"] == FINE_TUNED).iter_rows()) == {
        (str(tiny_model_dir), lora["adapter_dir"], "hf", 0.0, MAX_NEW_TOKENS, "0.14.0", "local")
    }
    assert set(frame.filter(pl.col("role") == BASE)["adapter"]) == {None}
    assert set(frame["verdict"]) <= {"no_code", "compile_error", "wrong_output", "test_failure", "runtime_error"}
    assert frame.filter(pl.col("finish_reason") == "length").height > 0  # 24 random tokens rarely hit <|im_end|>
    # The worker's lines reached the run's log through Pipes.
    assert any(message.startswith("base: ") and "new tokens" in message for message in logs)
    assert any(message.startswith(f"fine_tuned: generating: {tasks}/{tasks} prompts (100%)") for message in logs)

    metadata = result.asset_materializations_for_node("model_evaluation")[0].metadata
    for key in ("report", "per_category", "chart", "per_task", "sample_failures", "decoding", "generation"):
        assert key in metadata
    assert metadata["tasks"].value == tasks and metadata["zig_version"].value == "0.14.0"
    assert metadata["generation"].value["device"] == "cpu"
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["evaluation_ran_tasks"] is True and "fine_tuned_not_worse" in checks

    # The base answers are the untouched base model's: same weights, same tokenizer and chat template.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(lora["adapter_dir"])
    first = frame.filter(pl.col("role") == BASE).head(2)
    train_rows = _split(dataset_files, "train")
    wanted = set(first["task_id"])
    prompts = [p for p in prompts_of(suites, system_turns(train_rows)) if p.task_id.split("/", 1)[1] in wanted]
    fresh, _ = generate_batched(base, tokenizer, prompts, Decoding(max_new_tokens=MAX_NEW_TOKENS), BASE, 4)
    keys = [f"{row['suite']}/{row['task_id']}" for row in first.iter_rows(named=True)]
    assert {c.task_id: c.text for c in fresh} == dict(zip(keys, first["completion"], strict=True))

    # MLflow: the evaluation is a child of the training run, which also got the headline numbers.
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(metadata["mlflow_run_id"].value)
    assert run.data.tags["mlflow.parentRunId"] == lora["mlflow_run_id"]
    assert run.info.experiment_id == client.get_run(lora["mlflow_run_id"]).info.experiment_id
    trained = client.get_run(lora["mlflow_run_id"]).data.metrics
    assert trained["eval.hand_written_suite.fine_tuned.pass_at_1"] == metadata["fine_tuned_pass_at_1"].value


def test_sampling_gives_n_reproducible_samples_per_prompt(tiny_model_dir: Path) -> None:
    """pass@k's path: ``num_return_sequences`` rows map back to (prompt, sample), and the seed pins them."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = [Prompt(f"t{i}", [{"role": "user", "content": f"Write Zig program {i}."}]) for i in range(3)]
    decoding = Decoding(temperature=1.0, num_samples=4, max_new_tokens=8, seed=7)
    first, tokens = generate_batched(model, tokenizer, prompts, decoding, FINE_TUNED, batch_size=2)
    again, _ = generate_batched(model, tokenizer, prompts, decoding, FINE_TUNED, batch_size=2)
    assert sorted((c.task_id, c.sample) for c in first) == [(f"t{i}", s) for i in range(3) for s in range(4)]
    assert first == again and 0 < tokens <= 3 * 4 * 8
    assert len({c.text for c in first if c.task_id == "t0"}) > 1  # samples differ at temperature 1

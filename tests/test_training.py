"""lora_model on CPU: the hf backend trains a tiny random-init Qwen2 through Dagster Pipes, end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.tiny_model import ZIG_SENTENCES, build_model_dir, build_tokenizer, write_conversations
from zigtune.assets.training import lora_model
from zigtune.dataset.chatml import QWEN25_DEFAULT_SYSTEM, render_chatml
from zigtune.resources.training import TrainingExecutor
from zigtune.storage.io_manager import ParquetIOManager
from zigtune.training.chat import (
    IGNORE_INDEX,
    ChatTemplateError,
    TokenizedSplit,
    check_masked_fraction,
    tokenize_split,
)
from zigtune.training.config import TrainingConfig, TrainingConfigError, redact_uri
from zigtune.training.embeddings import plan_embeddings
from zigtune.training.run import choose_backend
from zigtune.training.worker import loss_curve_markdown

SECRET = "sk-zigtune-test-secret-0123456789"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


# -- chat formatting and assistant-only labels ---------------------------------------------------------------


def test_template_renders_what_the_dataset_stage_writes(tokenizer) -> None:
    conversation = [{"role": "user", "content": "What is defer?"}, {"role": "assistant", "content": "It runs later."}]
    expected = render_chatml(conversation, default_system=QWEN25_DEFAULT_SYSTEM)
    assert tokenizer.apply_chat_template(conversation, tokenize=False) == expected


def test_only_assistant_tokens_are_trained(tokenizer, tmp_path: Path) -> None:
    path = write_conversations(tmp_path / "train.jsonl", 6)
    split = tokenize_split(tokenizer, path, max_seq_length=512)
    check_masked_fraction(split, "train")
    assert len(split.examples) == 6 and 0.3 < split.masked_fraction < 0.9
    example = split.examples[0]
    trained = [
        token for token, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE_INDEX
    ]
    assert tokenizer.decode(trained) == ZIG_SENTENCES[0] + "<|im_end|>\n"
    masked = tokenizer.decode(
        [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label == IGNORE_INDEX]
    )
    assert "Question 0" in masked and "<|im_start|>assistant\n" in masked


def test_bad_lines_are_dropped_and_counted(tokenizer, tmp_path: Path) -> None:
    good = {"conversations": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"conversations": [{"role": "user", "content": "only a question"}]}),
        json.dumps({"conversations": [{"role": "robot", "content": "x"}]}),
        json.dumps({"messages": []}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    split = tokenize_split(tokenizer, path, max_seq_length=512)
    assert len(split.examples) == 1 and split.read == 5
    assert split.dropped == Counter({"invalid JSON": 1, "no assistant turn": 1, "malformed turns or unknown role": 2})


def test_masked_fraction_must_be_strictly_between_zero_and_one(tokenizer, tmp_path: Path) -> None:
    nothing_trained = tmp_path / "user-only.jsonl"
    nothing_trained.write_text(json.dumps({"conversations": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(ChatTemplateError, match="no usable conversation"):
        check_masked_fraction(tokenize_split(tokenizer, nothing_trained, 512), "train split")
    everything_trained = TokenizedSplit(
        examples=[{"input_ids": [1], "labels": [1]}], read=1, tokens=1, trained_tokens=1
    )
    with pytest.raises(ChatTemplateError, match=r"masked fraction 0\.000 is not strictly between 0 and 1"):
        check_masked_fraction(everything_trained, "train split")
    # An answer that lies entirely past max_seq_length leaves nothing to train on: dropped, counted.
    cut = tokenize_split(tokenizer, write_conversations(tmp_path / "long.jsonl", 2), max_seq_length=8)
    assert not cut.examples and cut.dropped["no assistant token within max_seq_length"] == 2


# -- settings ---------------------------------------------------------------------------------------------------


def test_defaults_are_the_originals() -> None:
    config = TrainingConfig(train_path="t", eval_path=None, output_dir="o")
    assert (config.base_model, config.max_seq_length, config.load_in_4bit) == ("Qwen/Qwen2.5-3B-Instruct", 4096, True)
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (128, 128, 0.0)
    assert {"lm_head", "embed_tokens", "q_proj", "down_proj"} <= set(config.target_modules)
    assert (config.learning_rate, config.embedding_learning_rate, config.num_train_epochs) == (5e-5, 1e-5, 3.0)
    # The original's 16 conversations per optimizer step (2 × 8 there), in one pass (5.1× its tokens/s on an H200).
    assert (config.per_device_train_batch_size, config.gradient_accumulation_steps, config.warmup_steps) == (16, 1, 10)
    assert (config.optim, config.weight_decay, config.lr_scheduler_type, config.seed) == (
        "adamw_8bit",
        0.01,
        "linear",
        3407,
    )
    # The resource inherits the same declarations for Dagster's config schema: every shared default agrees.
    executor = TrainingExecutor()
    shared = [name for name in TrainingConfig.model_fields if name in TrainingExecutor.model_fields]
    assert len(shared) >= 20
    for name in shared:
        default = getattr(config, name)
        assert getattr(executor, name) in (default, None if default == "" else default), name


def test_bad_config_names_every_problem() -> None:
    config = TrainingConfig(train_path="t", eval_path=None, output_dir="o", backend="tpu", lora_r=0, optim="lion",  # type: ignore[arg-type]
                            target_modules=["lm_head"])  # fmt: skip
    with pytest.raises(TrainingConfigError) as error:
        config.validate()
    message = str(error.value)
    assert "\n" not in message
    for part in ("backend='tpu'", "lora_r=0", "optim='lion'", "at least one projection"):
        assert part in message


def test_no_cuda_is_one_clear_error() -> None:
    config = TrainingConfig(train_path="t", eval_path=None, output_dir="o")
    with pytest.raises(Exception, match=r"no CUDA GPU found: .* set backend='hf', load_in_4bit=False"):
        choose_backend(config, cuda=False)
    with pytest.raises(TrainingConfigError, match="load_in_4bit needs a CUDA GPU"):
        choose_backend(TrainingConfig(train_path="t", eval_path=None, output_dir="o", backend="hf"), cuda=False)


def test_uri_credentials_are_redacted() -> None:
    assert redact_uri("https://user:tok@mlflow.example/api") == "https://***@mlflow.example/api"
    assert redact_uri("sqlite:////data/mlflow.db") == "sqlite:////data/mlflow.db"


def test_tied_embeddings_are_trained_as_one_matrix() -> None:
    plan = plan_embeddings(["q_proj", "lm_head", "embed_tokens"], model_ties_embeddings=True, keep_tied=True)
    assert (plan.lora_targets, plan.modules_to_save, plan.ensure_weight_tying) == (["q_proj"], ["embed_tokens"], True)
    untied = plan_embeddings(["q_proj", "lm_head", "embed_tokens"], model_ties_embeddings=False, keep_tied=True)
    assert (untied.modules_to_save, untied.ensure_weight_tying) == (["embed_tokens", "lm_head"], False)


def test_loss_curve_markdown_keeps_first_and_last_point() -> None:
    curve = [(step, 3.0 - step / 100) for step in range(1, 101)]
    text = loss_curve_markdown(curve, rows=5)
    assert "| 1 | 2.9900 |" in text and "| 100 | 2.0000 |" in text and text.count("\n| ") == 6  # header + 5 rows


# -- end to end through Dagster ------------------------------------------------------------------------------


def _standin_dataset(train: Path, eval_: Path) -> dg.AssetsDefinition:
    """The chatml dataset stage's output as lora_model reads it (split, path, rows)."""

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return pl.DataFrame({"split": ["train", "eval"], "path": [str(train), str(eval_)], "rows": [48, 8]})

    return chatml_dataset


def _executor(model_dir: Path, **overrides: object) -> TrainingExecutor:
    settings = {
        "base_model": str(model_dir),
        "backend": "hf",
        "load_in_4bit": False,
        "optim": "adamw_torch",
        "max_seq_length": 256,
        "lora_r": 8,
        "lora_alpha": 16,
        "learning_rate": 2e-2,
        "embedding_learning_rate": 5e-3,
        "num_train_epochs": 4.0,
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "warmup_steps": 2,
        "gradient_checkpointing": False,
    }
    return TrainingExecutor(**(settings | overrides))  # type: ignore[arg-type]


def test_lora_model_trains_saves_and_tracks(
    tiny_model_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    train = write_conversations(data_dir / "dataset" / "train.jsonl", 48)
    eval_ = write_conversations(data_dir / "dataset" / "eval.jsonl", 8, seed=1)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [_standin_dataset(train, eval_), lora_model],
        resources={"training": _executor(tiny_model_dir), "io_manager": ParquetIOManager()},
        instance=instance,
    )
    assert result.success
    row = result.output_for_node("lora_model").row(0, named=True)
    metadata = result.asset_materializations_for_node("lora_model")[0].metadata
    assert row["backend"] == "hf" and row["device"] == "cpu" and row["train_examples"] == 48
    assert row["steps"] == 24 and row["eval_loss"] is not None and row["tokens_per_second"] > 0
    assert metadata["masked_fraction"].value < 1 and "| step | loss |" in metadata["loss_curve"].value

    # The worker's step lines reached the run's log while it trained (Pipes).
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(message.startswith("step 1: loss") for message in logs)

    # MLflow holds the run: its settings, a loss per step going down, the final metrics, the model card.
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(row["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.params["lora_r"] == "8"
    assert {"loss", "eval_loss", "tokens_per_second", "train_loss"} <= set(run.data.metrics)
    losses = [m.value for m in sorted(client.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)]
    assert len(losses) == 24
    # From about ln(vocab) at random init: a drop of a whole nat is learning, not noise.
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 1.0, losses
    assert {a.path for a in client.list_artifacts(run.info.run_id, "adapter")} >= {
        "adapter/README.md",
        "adapter/adapter_config.json",
    }

    # The adapter, tokenizer, chat template and model card are saved; the adapter reloads and generates.
    adapter = Path(row["adapter_dir"])
    assert (adapter / "adapter_model.safetensors").exists() and (adapter / "README.md").exists()
    assert "Qwen" in (adapter / "chat_template.jinja").read_text()
    import torch
    from transformers import AutoModelForCausalLM

    from zigtune.evaluation.decoding import Decoding
    from zigtune.evaluation.replies import Prompt, generate_batched
    from zigtune.training.inference import chat_prompt, load_adapter

    loaded = load_adapter(adapter)
    model, tokenizer = loaded.model, loaded.tokenizer
    question = [{"role": "user", "content": "Question 3: explain this Zig idea."}]
    assert chat_prompt(tokenizer, question).endswith("<|im_start|>assistant\n")
    completions, _ = generate_batched(
        model, tokenizer, [Prompt("a", question), Prompt("b", question[:1])], Decoding(max_new_tokens=12), "tuned", 8
    )
    replies = [c.text for c in completions]
    assert len(replies) == 2 and replies[0] == replies[1]  # greedy: the same prompt gets the same reply
    prompt = tokenizer(chat_prompt(tokenizer, question), return_tensors="pt", add_special_tokens=False)
    generated = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]
    # One shared, trained embedding matrix: lm_head is embed_tokens, and both moved away from the base.
    merged = model.merge_and_unload()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert merged.lm_head.weight.data_ptr() == merged.get_input_embeddings().weight.data_ptr()
    assert not torch.equal(merged.get_input_embeddings().weight, base.get_input_embeddings().weight)
    assert row["tied_embeddings"] is True

    # No secret from the environment reached a file (MLflow's database, the adapter, the model card).
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_lora_model_without_cuda_fails_with_the_fix(tiny_model_dir: Path, data_dir: Path) -> None:
    train = write_conversations(data_dir / "dataset" / "train.jsonl", 4)
    eval_ = write_conversations(data_dir / "dataset" / "eval.jsonl", 2)
    result = dg.materialize(
        [_standin_dataset(train, eval_), lora_model],
        resources={"training": _executor(tiny_model_dir, backend="auto"), "io_manager": ParquetIOManager()},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert failure.description.startswith("no CUDA GPU found:") and "set backend='hf'" in failure.description


# -- the generic worker runner (the evaluation stage runs its generation worker through it) ------------------


def _worker_asset(params: dict) -> dg.AssetsDefinition:
    # context unannotated: under ``from __future__ import annotations`` Dagster cannot read the annotation.
    @dg.asset(name="echo")
    def echo(context, training: TrainingExecutor) -> dg.MaterializeResult:
        outcome = training.run_worker(context, "tests.pipes_echo_worker", params)
        assert outcome.result == {"echo": params}
        assert outcome.messages == [{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}]
        return dg.MaterializeResult(metadata=outcome.metadata)

    return echo


def test_run_worker_returns_result_messages_and_metadata(data_dir: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    params = {"mode": "echo", "items": [1, 2, 3]}
    result = dg.materialize([_worker_asset(params)], resources={"training": TrainingExecutor()}, instance=instance)
    assert result.success
    metadata = result.asset_materializations_for_node("echo")[0].metadata
    assert metadata["answer"].value == 42 and metadata["note"].value == "# hi"
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert "echo worker got ['items', 'mode']" in logs and "step 2: loss 0.5" in logs


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("user_error", "the widget is misconfigured: set widget=1"),
        ("crash", "the worker tests.pipes_echo_worker died (External execution process failed with code 3)"),
    ],
)
def test_run_worker_failures_are_one_clear_line(data_dir: Path, mode: str, expected: str) -> None:
    result = dg.materialize(
        [_worker_asset({"mode": mode})], resources={"training": TrainingExecutor()}, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert failure.description.startswith(expected) and "\n" not in failure.description


def test_a_step_with_a_gradient_that_is_not_finite_is_skipped_and_counted() -> None:
    """One inf/nan gradient (a bf16 overflow on one batch) must not reach the optimizer: AdamW would turn every
    weight into nan for the rest of the run (seen on a real 1.5B run). A finite step is left alone."""
    import torch

    from zigtune.training.run import StepMonitor

    class Log:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def log(self, message: str) -> None:
            self.lines.append(message)

    class State:
        global_step = 6

    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    log = Log()
    monitor = StepMonitor(log, None, None, None, cuda=False)  # type: ignore[arg-type]
    for poison in (1.0, float("inf")):
        optimizer.zero_grad()
        (model(torch.ones(1, 3)) * poison - model(torch.ones(1, 3)) * poison).sum().backward()  # inf - inf: nan
        before = [p.detach().clone() for p in model.parameters()]
        monitor.guard(model, State())
        optimizer.step()
        assert all(torch.isfinite(p).all() for p in model.parameters())
    assert monitor.skipped == [7]
    assert log.lines == ["step 7: the gradient is not finite (inf/nan); step skipped"]
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))  # moments still decay


def test_the_pipes_reader_waits_for_the_end_of_a_line_the_worker_is_still_writing(tmp_path: Path) -> None:
    """A message file read while the worker is halfway through a line: the half is not a message (dagster's own
    tail yields it, and its reader thread dies on the broken JSON: a real CI failure under load)."""
    from zigtune.resources.training import whole_lines

    messages = tmp_path / "messages"
    messages.write_text('{"method": "opened"}\n{"method": "log", "params": {"message": "step 6: loss 5.7')
    polls: list[str] = []

    def should_stop() -> bool:  # called only when nothing new is in the file: the worker finishes its line
        polls.append("poll")
        if len(polls) == 1:
            with messages.open("a", encoding="utf-8") as stream:
                stream.write('78"}}\n{"method": "closed"}')
            return False
        return True

    assert [json.loads(line)["method"] for line in whole_lines(messages, should_stop, poll_s=0)] == [
        "opened",
        "log",
        "closed",
    ]

"""model_evaluation without a GPU: the eval split as tasks, and a scripted model served by a local
OpenAI-compatible server that gives exactly the expected verdicts and rates through Dagster, judged by the real
Zig compiler. (The suite format, judging rules and CLI: tests/test_evaluation_suite.py, test_evaluation_cli.py.)"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from tests.test_dataset import validated_from, write
from zigtune.dataset.build import DatasetSettings
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.evaluation.decoding import Decoding, DecodingError
from zigtune.evaluation.eval_split import (
    EVAL_SPLIT,
    PROMPT_HOLDS_ANSWER,
    RUN_TASK,
    SOLUTION_FILE,
    TEST_FILE,
    eval_split_suite,
)
from zigtune.evaluation.scoring import BASE, FINE_TUNED
from zigtune.evaluation.steps import verify_tasks
from zigtune.evaluation.suite import SuiteError, load_suite
from zigtune.generation.docs_generator import docs_pairs
from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.validation.checking import CANARY_EXAMPLES, CheckStats
from zigtune.validation.sandbox import LocalZigEngine

SECRET = "sk-zigtune-eval-secret-0123456789"
HAND_SUITE = Path(__file__).parent / "data" / "hand_written_suite.jsonl"
HELLO = 'const std = @import("std");\n\npub fn main() void {\n    std.debug.print("Hello, world!\\n", .{});\n}\n'
COUNTDOWN = (
    'const std = @import("std");\n\npub fn main() void {\n    var i: u32 = 3;\n'
    '    while (i > 0) : (i -= 1) std.debug.print("{d}\\n", .{i});\n    std.debug.print("liftoff\\n", .{});\n}\n'
)


@pytest.fixture(scope="module")
def reference(docs_markdown: str) -> dict[str, pl.DataFrame]:
    """The six canary sections of the real reference, their docs pairs, and a dataset split by section."""
    sections = sections_frame(split_sections(docs_markdown))
    names = pl.col("examples").list.eval(pl.element().struct.field("name").is_in(list(CANARY_EXAMPLES)))
    sliced = sections.filter(names.list.any())
    pairs = pl.DataFrame(docs_pairs(sliced).rows, schema=QA_PAIRS_SCHEMA)
    return {"all_sections": sections, "sections": sliced, "qa_pairs": pairs, "validated": validated_from(pairs)}


@pytest.fixture(scope="module")
def dataset_files(reference: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    directory = tmp_path_factory.mktemp("dataset")
    return write(reference, directory, DatasetSettings(eval_fraction=0.5, seed=1))


def _split(files: pl.DataFrame, name: str) -> pl.DataFrame:
    return pl.read_parquet(files.filter(pl.col("split") == name)["provenance_path"][0])


def test_decoding_is_greedy_by_default_and_rejects_greedy_pass_at_k() -> None:
    decoding = Decoding().validate()
    assert decoding.greedy and decoding.num_samples == 1 and decoding.stop == ("<|im_end|>",)
    assert Decoding.from_dict(json.loads(json.dumps(decoding.as_dict()))) == decoding
    with pytest.raises(DecodingError, match="set temperature > 0"):
        Decoding(num_samples=5).validate()
    with pytest.raises(DecodingError) as error:
        Decoding(temperature=-1, top_p=0, max_new_tokens=0).validate()
    assert all(part in str(error.value) for part in ("temperature=-1", "top_p=0", "max_new_tokens=0"))


# -- the eval split as tasks ------------------------------------------------------------------------------------


def test_the_eval_split_becomes_tasks_whose_prompts_do_not_give_the_answer(dataset_files) -> None:
    eval_rows = _split(dataset_files, "eval")
    conversion = eval_split_suite(eval_rows)
    tasks = conversion.suite.by_id()
    assert sorted(tasks) == ["testing_introduction.zig"]
    assert conversion.dropped == Counter(
        {"not a code pair (concept)": 1, "its tests call no top-level function: nothing to implement": 1, RUN_TASK: 2}
    )  # test_labeled_break.zig: its test needs nothing from a solution; hello.zig twice: judged by its exact output
    tests = tasks["testing_introduction.zig"]
    section = eval_rows.filter(pl.col("example_name") == "testing_introduction.zig")["section_id"][0]
    assert tests.source == f"{EVAL_SPLIT}#{section}"  # its independent source: the section it was made from
    stub, hidden = tests.files[SOLUTION_FILE], tests.hidden_files[TEST_FILE]
    assert 'pub fn addOne(number: i32) i32 {\n    _ = number;\n    @panic("TODO: implement");\n}' in stub
    assert "return number + 1;" in (tests.reference_solution or "") and "return number + 1;" not in tests.prompt
    assert stub in tests.prompt and hidden not in tests.prompt and "test " not in stub
    assert 'const zigtune_solution = @import("solution.zig");' in hidden and "addOne(41)" in hidden
    with pytest.raises(SuiteError, match="lacks columns"):
        eval_split_suite(eval_rows.drop("conversations"))


def test_an_eval_prompt_that_holds_its_answer_is_dropped(dataset_files) -> None:
    """A migration or repair prompt quotes the whole program with one regression: the answer is in the prompt."""
    eval_rows = _split(dataset_files, "eval").filter(pl.col("example_name") == "testing_introduction.zig")
    turns = eval_rows["conversations"][0].to_list()
    answer = next(turn["content"] for turn in turns if turn["role"] == "assistant")
    program = answer.split("```zig\n", 1)[1].split("```", 1)[0].replace("number + 1", "number + 2")
    quoting = [
        {**turn, "content": f"This program has a bug; fix it:\n```zig\n{program}```"}
        if turn["role"] == "user"
        else turn
        for turn in turns
    ]
    rows = eval_rows.with_columns(conversations=pl.Series([quoting], dtype=eval_rows.schema["conversations"]))
    conversion = eval_split_suite(rows)
    assert conversion.suite.tasks == [] and conversion.dropped == Counter({PROMPT_HOLDS_ANSWER: 1})


def test_eval_split_tasks_are_kept_only_when_their_check_tells_right_from_wrong(
    dataset_files, zig_sandbox_root: Path
) -> None:
    suite = eval_split_suite(_split(dataset_files, "eval")).suite
    broken = suite.by_id()["testing_introduction.zig"]
    suite.tasks.append(replace(broken, id="broken-reference", reference_solution="pub fn addOne() void {}\n"))
    dropped = asyncio.run(verify_tasks(suite, LocalZigEngine(zig_sandbox_root), None, CheckStats()))
    assert dropped == Counter({"eval_split: the reference fails": 1})
    assert [task.id for task in suite.tasks] == ["testing_introduction.zig"]


# -- a scripted model through Dagster ---------------------------------------------------------------------------


def _standins(dataset_files: pl.DataFrame, adapter_dir: str) -> list:
    @dg.asset(name="lora_model", group_name="training")
    def lora_model() -> pl.DataFrame:
        return pl.DataFrame({"adapter_dir": [adapter_dir], "base_model": ["base-model"], "mlflow_run_id": [None]},
                            schema_overrides={"mlflow_run_id": pl.Utf8})  # fmt: skip

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return dataset_files

    return [lora_model, chatml_dataset]


#: What the fine-tuned "model" hands in per task, and the verdict that must come of it.
PLAN = {
    ("hand_written_suite", "clamp"): ("reference", "ok"),
    ("hand_written_suite", "sum-to-stdout"): ("wrong sum", "wrong_output"),
    ("hand_written_suite", "countdown-to-stderr"): ("countdown", "ok"),
    (EVAL_SPLIT, "testing_introduction.zig"): ("stub", "runtime_error"),  # the placeholder panics
}


def test_a_scripted_model_gets_exactly_the_expected_verdicts_and_rates(
    dataset_files, data_dir: Path, zig_sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    suites = {
        "hand_written_suite": load_suite(HAND_SUITE),
        EVAL_SPLIT: eval_split_suite(_split(dataset_files, "eval")).suite,
    }
    by_prompt = {task.prompt: (name, task) for name, suite in suites.items() for task in suite.tasks}

    def respond(request: RecordedRequest) -> Reply:
        name, task = by_prompt[request.prompt]
        if request.body["model"] != "zigtune":
            return Reply("Zig is a programming language.")  # no fenced block: taken as the file, which won't compile
        code = {
            "reference": task.reference_solution,
            "wrong sum": (task.reference_solution or "").replace("101", "100"),
            "countdown": COUNTDOWN,
            "broken": "pub fn main() void {\n    undefined_name();\n}\n",
            "stub": task.stub,
        }[PLAN[name, task.id][0]]
        return Reply(f"Sure:\n```zig\n{code}```")

    server = OpenAIServer(api_key=SECRET)
    server.responder = respond
    monkeypatch.setenv("ZIGTUNE_EVAL_API_KEY", SECRET)
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [*_standins(dataset_files, "/models/adapter"), evaluation.model_evaluation,
                 evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse],
                resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                           "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
                run_config={"ops": {"model_evaluation": {"config": {
                    "backend": "openai", "openai_base_url": server.base_url, "max_new_tokens": 300,
                    "suites": [str(HAND_SUITE), "eval_split"], "bootstrap_resamples": 500}}}},
                instance=instance,
            )  # fmt: skip
            logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    finally:
        server.close()
    assert result.success
    frame = pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet")
    assert frame.height == 2 * len(PLAN) and len(server.requests) == 2 * len(PLAN)
    sent = server.requests[0].body
    assert (sent["temperature"], sent["max_tokens"], sent["stop"]) == (0.0, 300, ["<|im_end|>"])
    assert {r.body["model"] for r in server.requests} == {"base-model", "zigtune"}

    tuned = frame.filter(pl.col("role") == FINE_TUNED)
    verdicts = {(row["suite"], row["task_id"]): row["verdict"] for row in tuned.iter_rows(named=True)}
    assert verdicts == {key: verdict for key, (_, verdict) in PLAN.items()}
    assert set(frame.filter(pl.col("role") == BASE)["verdict"]) == {"compile_error"}
    # Contamination: the eval split's one task is asked with the docs generator's test-task sentence, which the
    # training conversations hold too. A suite of one task has no template of its own, and how often the training
    # data repeats a text does not make it common: the task is seen.
    seen = frame.filter(pl.col("seen") & (pl.col("role") == BASE))
    assert seen["task_id"].to_list() == ["testing_introduction.zig"]
    assert "section of the Zig 0.14 reference. All tests must pass under `zig test`" in seen["seen_span"][0]

    metadata = result.asset_materializations_for_node("model_evaluation")[0].metadata
    assert metadata["headline"].value == "pass@1 on unseen tasks of hand_written_suite"
    assert metadata["fine_tuned_pass_at_1"].value == round(2 / 3, 4) and metadata["base_pass_at_1"].value == 0.0
    assert metadata["difference_pass_at_1"].value == round(2 / 3, 4)
    assert 0.0 <= metadata["difference_low"].value <= 2 / 3 <= metadata["difference_high"].value <= 1.0
    assert metadata["fine_tuned_compile_rate"].value == 1.0 and metadata["base_compile_rate"].value == 0.0
    by_suite = metadata["pass_at_1_by_suite"].value
    assert by_suite[EVAL_SPLIT][FINE_TUNED] is None and by_suite[EVAL_SPLIT]["subset"] == "unseen"  # none unseen
    assert metadata["tasks_by_suite"].value == {"hand_written_suite": 3, EVAL_SPLIT: 1}
    assert metadata["dropped_tasks"].value == {
        "eval_split: not a code pair (concept)": 1,
        "eval_split: its tests call no top-level function: nothing to implement": 1,
        f"eval_split: {RUN_TASK}": 2,
    }
    report = metadata["report"].value
    assert "**hand_written_suite** — 3 tasks: 3 unseen, 0 seen in training; rates on **unseen** tasks" in report
    assert "| pass_at_1 | 0.0% | 66.7% | +66.7 pts |" in report
    assert "fine-tuned − base pass@1 on unseen tasks: **+66.7 points** (95% interval" in report
    assert "| eval_split |" not in metadata["per_category"].value  # per category on unseen tasks: none
    assert metadata["chart"].value.startswith("![pass@1 per suite and category](data:image/png;base64,iVBOR")
    assert set(frame["model"]) == {"base-model", "zigtune"} and set(frame["engine"]) == {"local"}
    # Progress lines with rate and ETA, for generating and for judging.
    assert any(line.startswith("generating: 8/8 replies (100%)") and "ETA done" in line for line in logs)
    assert any(line.startswith("judging: ") and "checks/" in line and "ETA done" in line for line in logs)

    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["evaluation_ran_tasks"].passed and checks["fine_tuned_not_worse"].passed

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(metadata["mlflow_run_id"].value)
    assert run.data.metrics["hand_written_suite.fine_tuned.unseen.pass_at_1"] == round(2 / 3, 4)
    assert run.data.metrics["hand_written_suite.difference.pass_at_1"] == round(2 / 3, 4)
    assert run.data.params["backend"] == "openai" and run.data.params["decoding.temperature"] == "0.0"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"evaluation.parquet", "summary.md", "pass_at_1.png"}
    for path in data_dir.rglob("*"):  # the server's key reached no file (MLflow, parquet, caches)
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_empty_evaluation_fails_the_blocking_check(dataset_files, data_dir: Path, zig_sandbox_root: Path) -> None:
    """An empty eval split and only that suite asked for: nothing to run, so nothing downstream may run."""
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    data_dir.mkdir(parents=True, exist_ok=True)
    for split in ("train", "eval"):
        _split(dataset_files, split).head(0).write_parquet(data_dir / f"{split}.parquet")
    paths = [str(data_dir / f"{split}.jsonl") for split in ("train", "eval")]
    empty = pl.DataFrame({"split": ["train", "eval"], "path": paths})

    @dg.asset(name="deployment_stand_in", deps=["model_evaluation"])
    def downstream() -> None:
        return None

    result = dg.materialize(
        [*_standins(empty, "/models/adapter"), evaluation.model_evaluation,
         evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse, downstream],
        resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                   "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
        run_config={"ops": {"model_evaluation": {"config": {"suites": ["eval_split"], "backend": "openai"}}}},
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["evaluation_ran_tasks"].passed
    assert "nothing judged for ['base', 'fine_tuned']" in checks["evaluation_ran_tasks"].description
    assert not checks["fine_tuned_not_worse"].passed
    materialized = {
        e.event_specific_data.materialization.asset_key.path[-1] for e in result.get_asset_materialization_events()
    }
    assert "model_evaluation" in materialized and "deployment_stand_in" not in materialized
    assert pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet").height == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "cannot read the dataset's provenance: /nowhere/train.parquet does not exist; "
             "re-materialize the asset that wrote it"),
        ({"suites": ["/nowhere/suite.jsonl"]}, "/nowhere/suite.jsonl: no such suite file"),
    ],
)  # fmt: skip
def test_missing_inputs_fail_with_one_line(data_dir: Path, zig_sandbox_root: Path, changes: dict, message: str) -> None:
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    missing = pl.DataFrame({"split": ["train", "eval"], "path": ["/nowhere/train.jsonl", "/nowhere/eval.jsonl"]})
    if changes:  # a suite file that is not there: the dataset is fine (no provenance to read)
        missing = pl.DataFrame({"split": ["train"], "path": [None]}, schema={"split": pl.Utf8, "path": pl.Utf8})
    result = dg.materialize(
        [*_standins(missing, "/models/adapter"), evaluation.model_evaluation],
        resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                   "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
        run_config={"ops": {"model_evaluation": {"config": changes}}} if changes else None,
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "model_evaluation"
    assert message in failure.step_failure_data.error.message.strip().splitlines()[-1]

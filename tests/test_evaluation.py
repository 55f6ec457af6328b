"""model_evaluation without a GPU: tasks, scoring and pass@k with the real Zig compiler, and a scripted model
served by a local OpenAI-compatible server that gives exactly the expected rates through Dagster."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from math import comb
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from tests.test_dataset import validated_from, write
from zigtune.dataset.build import DatasetSettings
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.evaluation.decoding import Decoding, DecodingError
from zigtune.evaluation.report import side_by_side, task_table
from zigtune.evaluation.scoring import (
    BASE,
    EVALUATION_SCHEMA,
    FINE_TUNED,
    Completion,
    ModelStamp,
    check_completions,
    judge,
    pass_at_k,
    score_completions,
    summarize,
    verified_gold,
)
from zigtune.evaluation.tasks import EVAL_SPLIT, GOLD, TaskError, build_tasks
from zigtune.generation.docs_generator import docs_pairs
from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.validation.checking import CANARY_EXAMPLES, CheckStats
from zigtune.validation.sandbox import LocalZigEngine
from zigtune.validation.verdicts import ExecResult, Verdict

SECRET = "sk-zigtune-eval-secret-0123456789"
HELLO = 'const std = @import("std");\n\npub fn main() void {\n    std.debug.print("Hello, world!\\n", .{});\n}\n'


@pytest.fixture(scope="module")
def reference(docs_markdown: str) -> dict[str, pl.DataFrame]:
    """The six canary sections of the real reference, their docs pairs, and a dataset split 3/3 by section."""
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


# -- pass@k -----------------------------------------------------------------------------------------------------


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    for n, c, k in itertools.product(range(1, 9), range(9), range(1, 9)):
        if c > n or k > n:
            continue
        # P(at least one of k samples drawn without replacement from n passes) = 1 - C(n-c, k) / C(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k)), (n, c, k)
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3) and pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert pass_at_k(200, 0, 10) == 0.0 and pass_at_k(5, 3, 3) == 1.0
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(3, 1, 4)


def test_decoding_is_greedy_by_default_and_rejects_greedy_pass_at_k() -> None:
    decoding = Decoding().validate()
    assert decoding.greedy and decoding.num_samples == 1 and decoding.stop == ("<|im_end|>",)
    assert Decoding.from_dict(json.loads(json.dumps(decoding.as_dict()))) == decoding
    with pytest.raises(DecodingError, match="set temperature > 0"):
        Decoding(num_samples=5).validate()
    with pytest.raises(DecodingError) as error:
        Decoding(temperature=-1, top_p=0, max_new_tokens=0).validate()
    assert all(part in str(error.value) for part in ("temperature=-1", "top_p=0", "max_new_tokens=0"))


# -- tasks ------------------------------------------------------------------------------------------------------


def test_gold_tasks_come_from_runnable_examples_with_published_output(reference) -> None:
    tasks = build_tasks(None, reference["all_sections"], {"hello-world-0a7bb6bd39"}, sources=(GOLD,))
    gold = tasks.tasks
    assert gold.height == 27 and set(gold["source"]) == {GOLD}
    assert tasks.dropped == Counter({"gold: built for another target": 3, "gold: no published output": 1})
    hello = gold.filter(pl.col("task_id") == "gold:hello.zig").row(0, named=True)
    assert hello["expected_output"] == "Hello, world!\n" and "pub fn main" in hello["reference_code"]
    assert hello["seen_in_training"] is True
    prompt = hello["messages"][-1]
    assert prompt["role"] == "user" and "prints exactly:\n```\nHello, world!\n```" in prompt["content"]
    assert gold["seen_in_training"].sum() == 2  # hello.zig and hello_again.zig share the one train section


def test_eval_split_tasks_are_its_code_rows_without_the_answer(reference, dataset_files) -> None:
    eval_rows, train_rows = _split(dataset_files, "eval"), _split(dataset_files, "train")
    tasks = build_tasks(eval_rows, reference["sections"], set(train_rows["section_id"]))
    split = tasks.tasks.filter(pl.col("source") == EVAL_SPLIT)
    code_rows = eval_rows.filter(pl.col("kind") == "code")
    assert split.height == code_rows.height > 0
    assert tasks.dropped[f"{EVAL_SPLIT}: not a code task (concept)"] == eval_rows.height - code_rows.height
    assert not split["seen_in_training"].any()
    first = split.row(0, named=True)
    assert [turn["role"] for turn in first["messages"]] == ["user"]  # the assistant's answer is not in the prompt
    assert first["reference_code"] is not None
    # Only gold tasks of held-out sections are unseen.
    gold = tasks.tasks.filter(pl.col("source") == GOLD)
    held_out = gold.filter(~pl.col("section_id").is_in(train_rows["section_id"].implode()))
    assert (~gold["seen_in_training"]).sum() == held_out.height
    limited = build_tasks(eval_rows, reference["sections"], set(), max_tasks_per_source=1, seed=3)
    assert Counter(limited.tasks["source"]) == {EVAL_SPLIT: 1, GOLD: 1}
    with pytest.raises(TaskError, match="unknown task sources"):
        build_tasks(eval_rows, None, set(), sources=("train",))
    with pytest.raises(TaskError, match="lacks columns"):
        build_tasks(eval_rows.drop("conversations"), None, set())


# -- scoring ----------------------------------------------------------------------------------------------------


def _result(verdict: Verdict, stdout: str = "", stderr: str = "") -> ExecResult:
    return ExecResult(verdict, 1.0, stdout, stderr, "0.14.0", "local")


def test_judge_reads_each_outcome() -> None:
    ok, expected = _result(Verdict.OK, stderr="hi\n"), "hi\n"
    assert judge("code", "run", None, ok).passed and judge("code", "run", None, ok).output_correct is None
    assert judge("code", "run", expected, ok).passed and judge("code", "run", expected, ok).output_correct
    wrong = judge("code", "run", "bye\n", ok)
    assert (wrong.verdict, wrong.compiled, wrong.ran, wrong.output_correct, wrong.passed) == (
        Verdict.WRONG_OUTPUT, True, True, False, False)  # fmt: skip
    tests_only = judge("code", "test", expected, ok)  # a task that wants output, answered with tests
    assert tests_only.verdict is Verdict.WRONG_OUTPUT and not tests_only.passed
    broken = judge("code", "run", expected, _result(Verdict.COMPILE_ERROR))
    assert (broken.compiled, broken.ran, broken.output_correct) == (False, False, False)
    panicked = judge("code", "run", None, _result(Verdict.RUNTIME_ERROR))
    assert (panicked.compiled, panicked.ran, panicked.output_correct) == (True, False, None)
    slow_compile = judge("code", "run", None, _result(Verdict.TIMEOUT, stderr="[compile timed out]"))
    assert not slow_compile.compiled and judge("code", "run", None, _result(Verdict.TIMEOUT)).compiled
    nothing = judge(None, None, expected, None)
    assert (nothing.verdict, nothing.output_correct) == (Verdict.NO_CODE, False)


def test_scores_with_the_real_compiler(zig_sandbox_root: Path) -> None:
    """Four answers to a task wanting "Hello, world!" and one without an expected output, two samples each."""
    tasks = pl.DataFrame(
        [
            {"task_id": "hello", "source": GOLD, "section_id": "s1", "breadcrumb": "Hello", "example_name": None,
             "messages": [{"role": "user", "content": "hi"}], "expected_output": "Hello, world!\n",
             "reference_code": HELLO, "seen_in_training": False},
            {"task_id": "free", "source": EVAL_SPLIT, "section_id": "s2", "breadcrumb": "Free", "example_name": None,
             "messages": [{"role": "user", "content": "any"}], "expected_output": None, "reference_code": None,
             "seen_in_training": False},
        ]
    )  # fmt: skip
    fenced = f"Here:\n```zig\n{HELLO}```"
    completions = [
        Completion("hello", FINE_TUNED, 0, fenced),
        Completion("hello", FINE_TUNED, 1, f"```zig\n{HELLO.replace('Hello', 'Bye')}```"),
        Completion("free", FINE_TUNED, 0, "```zig\nconst x: u8 = 300;\ntest { _ = x; }\n```"),
        Completion("free", FINE_TUNED, 1, "I would write a loop.", "length"),
        Completion("hello", BASE, 0, "No idea."),
        Completion("hello", BASE, 1, "No idea."),
        Completion("free", BASE, 0, fenced),
        Completion("free", BASE, 1, fenced),
    ]
    engine, stats = LocalZigEngine(zig_sandbox_root), CheckStats()
    results = asyncio.run(check_completions(completions, engine, None, stats))
    assert stats.compiled == 3  # the same hello program is compiled once
    stamps = {BASE: ModelStamp("tiny", None, "hf"), FINE_TUNED: ModelStamp("tiny", "/adapter", "hf")}
    decoding = Decoding(temperature=0.7, num_samples=2)
    frame = score_completions(tasks, completions, results, stamps, decoding, "0.14.0", "local")
    assert frame.schema == EVALUATION_SCHEMA and frame.height == 8
    assert frame["verdict"].to_list() == [
        "no_code", "no_code", "ok", "ok",  # base: hello ×2, free ×2
        "ok", "wrong_output", "compile_error", "no_code",  # fine-tuned
    ]  # fmt: skip
    assert set(frame["zig_version"]) == {"0.14.0"} and set(frame.filter(pl.col("role") == BASE)["adapter"]) == {None}
    summary = {(r["role"], r["source"]): r for r in summarize(frame, (1, 2)).iter_rows(named=True)}
    tuned = summary[FINE_TUNED, "all"]
    assert (tuned["tasks"], tuned["samples"]) == (2, 4)
    assert tuned["pass_at_1"] == pytest.approx((1 / 2 + 0 / 2) / 2)  # hello: 1 of 2; free: 0 of 2
    assert tuned["pass_at_2"] == pytest.approx((1.0 + 0.0) / 2)
    assert (tuned["no_code_rate"], tuned["compile_rate"], tuned["run_rate"]) == (0.25, 0.5, 0.5)
    assert tuned["correct_output_rate"] == 0.5 and tuned["truncated_rate"] == 0.25  # over the 2 hello samples
    base = summary[BASE, "all"]
    assert (base["pass_at_1"], base["no_code_rate"], base["correct_output_rate"]) == (0.5, 0.5, 0.0)
    assert summary[BASE, GOLD]["pass_at_1"] == 0.0 and summary[BASE, EVAL_SPLIT]["pass_at_1"] == 1.0
    text = side_by_side(summarize(frame, (1, 2)))
    assert "| pass_at_1 | 50.0% | 25.0% | -25.0% |" in text and "**gold** (1 tasks)" in text
    assert "| hello | gold | Hello | False | 0/2 | no_code | 1/2 | ok |" in task_table(frame)


def test_gold_tasks_are_kept_only_when_the_reference_program_passes(zig_sandbox_root: Path, reference) -> None:
    tasks = build_tasks(None, reference["sections"], set(), sources=(GOLD,)).tasks
    broken = tasks.head(1).with_columns(task_id=pl.lit("gold:broken"), reference_code=pl.lit("pub fn main() void {"))
    stats = CheckStats()
    kept, dropped = asyncio.run(
        verified_gold(pl.concat([tasks, broken]), LocalZigEngine(zig_sandbox_root), None, stats)
    )
    assert dropped == 1 and kept.height == tasks.height == 3 and "gold:broken" not in kept["task_id"]


# -- a scripted model through Dagster ---------------------------------------------------------------------------


def _standins(reference: dict[str, pl.DataFrame], dataset_files: pl.DataFrame, adapter_dir: str) -> list:
    @dg.asset(name="lora_model", group_name="training")
    def lora_model() -> pl.DataFrame:
        return pl.DataFrame({"adapter_dir": [adapter_dir], "base_model": ["base-model"], "mlflow_run_id": [None]},
                            schema_overrides={"mlflow_run_id": pl.Utf8})  # fmt: skip

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return dataset_files

    @dg.asset(name="doc_sections", group_name="docs")
    def doc_sections() -> pl.DataFrame:
        return reference["sections"]

    return [lora_model, chatml_dataset, doc_sections]


def test_a_scripted_model_gets_exactly_the_expected_rates(
    reference, dataset_files, data_dir: Path, zig_sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    candidates = build_tasks(_split(dataset_files, "eval"), reference["sections"], set()).tasks
    # The docs generator writes the gold tasks' instructions, so a held-out gold example and its eval-split
    # pair share one prompt: the "model" answers by prompt, and both get the same answer.
    by_prompt = {row["messages"][-1]["content"]: row for row in candidates.iter_rows(named=True)}
    plan = {}  # prompt -> what the fine-tuned "model" answers: good, broken, wrong (output) or prose
    for index, prompt in enumerate(sorted(by_prompt)):
        plan[prompt] = ("good", "broken", "wrong" if by_prompt[prompt]["expected_output"] else "prose")[index % 3]
    kind_of = {row["task_id"]: plan[row["messages"][-1]["content"]] for row in candidates.iter_rows(named=True)}

    def respond(request: RecordedRequest) -> Reply:
        task = by_prompt[request.prompt]
        if request.body["model"] != "zigtune":
            return Reply("Zig is a programming language.")
        code = {
            "good": task["reference_code"],
            "broken": "pub fn main() void {\n    undefined_name();\n}\n",
            "wrong": HELLO.replace("Hello, world!", "not what was asked"),
        }.get(plan[request.prompt])
        return Reply(f"Sure:\n```zig\n{code}```" if code else "You would use a loop.")

    server = OpenAIServer(api_key=SECRET)
    server.responder = respond
    monkeypatch.setenv("ZIGTUNE_EVAL_API_KEY", SECRET)
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [*_standins(reference, dataset_files, "/models/adapter"), evaluation.model_evaluation,
                 evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse],
                resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                           "zig": ZigEngine(sandbox_dir=str(zig_sandbox_root))},
                run_config={"ops": {"model_evaluation": {"config": {
                    "backend": "openai", "openai_base_url": server.base_url, "max_new_tokens": 300}}}},
                instance=instance,
            )  # fmt: skip
    finally:
        server.close()
    assert result.success
    frame = pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet")
    tasks = frame["task_id"].n_unique()
    assert (
        tasks == len(kind_of) == candidates.height > len(plan) and frame.height == 2 * tasks
    )  # every task, both models
    assert len(server.requests) == 2 * tasks and len(plan) >= 3
    sent = server.requests[0].body
    assert (sent["temperature"], sent["max_tokens"], sent["stop"]) == (0.0, 300, ["<|im_end|>"])
    assert {r.body["model"] for r in server.requests} == {"base-model", "zigtune"}

    tuned = frame.filter(pl.col("role") == FINE_TUNED)
    verdicts = dict(zip(tuned["task_id"], tuned["verdict"], strict=True))
    expected_verdicts = {"good": "ok", "broken": "compile_error", "wrong": "wrong_output", "prose": "no_code"}
    assert verdicts == {task_id: expected_verdicts[kind] for task_id, kind in kind_of.items()}
    counts = Counter(kind_of.values())
    metadata = result.asset_materializations_for_node("model_evaluation")[0].metadata
    assert metadata["fine_tuned_pass_at_1"].value == round(counts["good"] / tasks, 4)
    assert metadata["fine_tuned_compile_rate"].value == round((counts["good"] + counts["wrong"]) / tasks, 4)
    assert metadata["fine_tuned_no_code_rate"].value == round(counts["prose"] / tasks, 4)
    assert metadata["base_pass_at_1"].value == 0.0 and metadata["tasks"].value == tasks
    assert "| pass_at_1 | 0.0% |" in metadata["side_by_side"].value
    assert set(frame["model"]) == {"base-model", "zigtune"} and set(frame["engine"]) == {"local"}
    assert set(frame["zig_version"]) == {"0.14.0"} and set(frame["temperature"]) == {0.0}

    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["evaluation_ran_tasks"].passed and checks["fine_tuned_not_worse"].passed

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(metadata["mlflow_run_id"].value)
    assert run.data.metrics["fine_tuned.all.pass_at_1"] == metadata["fine_tuned_pass_at_1"].value
    assert run.data.params["backend"] == "openai" and run.data.params["decoding.temperature"] == "0.0"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"evaluation.parquet", "summary.md"}
    for path in data_dir.rglob("*"):  # the server's key reached no file (MLflow, parquet, caches)
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_empty_evaluation_fails_the_blocking_check(
    reference, dataset_files, data_dir: Path, zig_sandbox_root: Path
) -> None:
    """An empty eval split and only that source asked for: nothing to run, so nothing downstream may run."""
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import ZigEngine
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
        [*_standins(reference, empty, "/models/adapter"), evaluation.model_evaluation,
         evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse, downstream],
        resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                   "zig": ZigEngine(sandbox_dir=str(zig_sandbox_root))},
        run_config={"ops": {"model_evaluation": {"config": {"sources": ["eval_split"], "backend": "openai"}}}},
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["evaluation_ran_tasks"].passed
    assert "nothing judged for ['base', 'fine_tuned']" in checks["evaluation_ran_tasks"].description
    assert not checks["fine_tuned_not_worse"].passed
    materialized = {
        m.asset_key.path[-1]
        for m in result.get_asset_materialization_events()
        and [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    }
    assert "model_evaluation" in materialized and "deployment_stand_in" not in materialized
    assert pl.read_parquet(data_dir / "assets" / "model_evaluation.parquet").height == 0


def test_a_dataset_file_that_is_gone_fails_with_one_line(reference, data_dir: Path, zig_sandbox_root: Path) -> None:
    from zigtune.assets import evaluation
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    missing = pl.DataFrame({"split": ["train", "eval"], "path": ["/nowhere/train.jsonl", "/nowhere/eval.jsonl"]})
    result = dg.materialize(
        [*_standins(reference, missing, "/models/adapter"), evaluation.model_evaluation],
        resources={"io_manager": ParquetIOManager(), "training": TrainingExecutor(),
                   "zig": ZigEngine(sandbox_dir=str(zig_sandbox_root))},
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "model_evaluation"
    assert failure.step_failure_data.error.message.strip().endswith(
        "cannot read the dataset's provenance: /nowhere/train.parquet does not exist; "
        "re-materialize the asset that wrote it"
    )

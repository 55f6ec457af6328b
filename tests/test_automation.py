"""Regeneration when the docs change: observation, Declarative Automation ticks, a real Dagster instance.

Each tick is evaluated with ``dg.evaluate_automation_conditions`` (the function the automation sensor
runs) against a real instance, and what it requests is materialized as the sensor would: one run of
exactly the requested assets. The docs are a copy of the real Zig 0.14.0 reference; the LLM is the
local OpenAI-compatible test server; Zig code is compiled by the real local engine.
"""

import json
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import DOCS_MD
from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune import definitions, settings
from zigtune.resources.llm import LLMClient
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.io_manager import ParquetIOManager

SECRET = "sk-zigtune-automation-test"
EDITED_SECTION = "# Comments"
EDIT = "Zigtune-edit: a comment never changes what a program prints, so this one prints 42."


def pairs_for(request: RecordedRequest) -> list[dict[str, str]]:
    """A concept pair for every section; a code pair only for the section that carries the edit."""
    prompt = request.prompt
    pairs = [{"instruction": f"Explain this part of Zig ({len(prompt)}).", "response": "It is explained above."}]
    if "Zigtune-edit" in prompt:
        code = 'const std = @import("std");\n\npub fn main() void {\n    std.debug.print("{d}\\n", .{42});\n}'
        pairs.append({"instruction": "Write a Zig program that prints 42.", "response": f"```zig\n{code}\n```"})
    return pairs


@pytest.fixture
def llm() -> OpenAIServer:
    server = OpenAIServer(api_key=SECRET)
    server.responder = lambda request: Reply(json.dumps({"pairs": pairs_for(request)}))
    yield server
    server.close()


@pytest.fixture
def pipeline(llm: OpenAIServer, data_dir: Path, tmp_path: Path, zig_sandbox_root: Path, monkeypatch):
    """The project's own definitions (assets with their automation conditions, jobs), local resources."""
    docs = tmp_path / "zig-docs.md"
    docs.write_text(DOCS_MD.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("ZIGTUNE_DOCS", str(docs))
    monkeypatch.setenv("ZIGTUNE_GENERATOR", "llm")
    # The scripted LLM answers every section but the edited one with prose, which nothing can check: the
    # dataset keeps unchecked pairs only when asked, so this test asks (the chain needs a non-empty dataset).
    monkeypatch.setenv(settings.KEEP_UNCHECKED_ENV, "1")
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    resources = {
        "io_manager": ParquetIOManager(),
        "llm": LLMClient(base_url=llm.base_url, api_key=dg.EnvVar("NOVITA_API_KEY"), requests_per_minute=0),
        "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
    }
    defs = dg.Definitions(
        assets=definitions.assets,
        asset_checks=definitions.asset_checks,
        resources={**definitions.resources, **resources},
        jobs=[definitions.observe_zig_docs],
    )
    return defs, docs


class Ticks:
    """The automation sensor's loop, one tick at a time, on a real instance."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance, self.cursor = defs, instance, None

    def observe(self) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def("observe_zig_docs")
        return job.execute_in_process(instance=self.instance, raise_on_error=False)

    def tick(self) -> set[str]:
        """Evaluate every automation condition; run what it requests; return the requested asset names."""
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        keys = self.defs.resolve_asset_graph().get_all_asset_keys()
        requested = {key for key in keys if result.get_num_requested(key)}
        if requested:
            run = dg.materialize(
                self.defs.assets, selection=list(requested), resources=self.defs.resources, instance=self.instance
            )
            assert run.success
            self.last_run = run
        return {key.to_user_string() for key in requested}

    def metadata(self, asset: str) -> dict:
        event = self.instance.get_latest_materialization_event(dg.AssetKey(asset))
        return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def dataset_files(data_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data_dir / "dataset").glob("*.jsonl"))}


def test_docs_change_regenerates_only_what_changed(pipeline, llm: OpenAIServer, data_dir: Path) -> None:
    defs, docs = pipeline
    with dg.instance_for_test() as instance:
        ticks = Ticks(defs, instance)
        # The first materialization, as `make run` does it, then the first observation and tick.
        assert dg.materialize(
            defs.assets, selection=definitions.data_pipeline.selection, resources=defs.resources, instance=instance
        ).success
        calls_first_run = len(llm.requests)
        dataset_before = dataset_files(data_dir)
        assert ticks.observe().success
        assert ticks.tick() == set()

        # Unchanged docs: the observation records the same version; ticks evaluate and nothing runs.
        assert ticks.observe().success
        assert ticks.tick() == set()
        assert ticks.tick() == set()
        assert len(llm.requests) == calls_first_run

        # One section edited: the whole chain runs in one run, and only that section costs calls and compiles.
        text = docs.read_text(encoding="utf-8")
        assert text.count(f"\n{EDITED_SECTION}\n") == 1
        docs.write_text(text.replace(f"\n{EDITED_SECTION}\n", f"\n{EDITED_SECTION}\n\n{EDIT}\n"), encoding="utf-8")
        assert ticks.observe().success
        ran = ticks.tick()
        assert {"zig_docs", "doc_sections", "qa_pairs", "validated_pairs", "chatml_dataset"} <= ran
        assert not ran & {"lora_model", "model_evaluation"}  # training is opt-in (ZIGTUNE_AUTO_TRAIN)
        new_calls = llm.requests[calls_first_run:]
        assert len(new_calls) == 1 and EDIT in new_calls[0].prompt
        generation = ticks.metadata("qa_pairs")
        assert generation["llm_calls_made"] == 1 and generation["llm_calls_cached"] > 300
        # The edited section's program, nothing else, compiled once by generation (which checks the LLM's code
        # before it emits it) and once by validation, which checks again with its own cache.
        assert generation["code_checks_compiled"] == 1, generation
        validation = ticks.metadata("validated_pairs")
        assert validation["compiled"] == 1, validation
        dataset_after = dataset_files(data_dir)
        assert dataset_after != dataset_before
        assert b"prints 42" in dataset_after["train.jsonl"] + dataset_after["eval.jsonl"]

        # The change has been carried through: the next ticks request nothing.
        assert ticks.tick() == set()


def test_unreachable_docs_source_reports_and_changes_nothing(pipeline, data_dir: Path, monkeypatch) -> None:
    defs, docs = pipeline
    with dg.instance_for_test() as instance:
        ticks = Ticks(defs, instance)
        assert ticks.observe().success
        ticks.tick()  # the first evaluation records the observed state
        monkeypatch.setenv("ZIGTUNE_DOCS", "http://127.0.0.1:9/zig-docs.md")  # nothing listens on port 9
        observation = ticks.observe()
        assert not observation.success
        failure = observation.get_step_failure_events()[0].step_failure_data.user_failure_data
        assert failure.description.startswith(
            "docs source unreachable, nothing changed: cannot reach http://127.0.0.1:9"
        )
        assert ticks.tick() == set()
        records = instance.fetch_observations(dg.AssetKey("zig_docs_source"), limit=10).records
        assert len(records) == 1  # the failed observation recorded no new version
        assert docs.exists()


class ContentConfig(dg.Config):
    content: str = "v1"


@dg.asset(group_name="dataset")
def toy_dataset(config: ContentConfig) -> dg.Output[None]:
    return dg.Output(None, data_version=dg.DataVersion(config.content))


@dg.asset(group_name="training", deps=[toy_dataset])
def toy_model() -> None:
    return None


@pytest.mark.parametrize("auto_train", [True, False])
def test_retraining_follows_only_a_real_dataset_change_and_only_when_enabled(auto_train: bool) -> None:
    from zigtune.automation import with_automation

    assets = with_automation([toy_dataset, toy_model], gpu=auto_train)
    with dg.instance_for_test() as instance:

        def make_dataset(content: str) -> None:
            config = {"ops": {"toy_dataset": {"config": {"content": content}}}}
            assert dg.materialize(assets, selection=["toy_dataset"], run_config=config, instance=instance).success

        cursor = None

        def tick() -> int:
            nonlocal cursor
            result = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=cursor)
            cursor = result.cursor
            return result.get_num_requested(toy_model.key)

        make_dataset("v1")
        assert dg.materialize(assets, selection=["toy_model"], instance=instance).success
        assert tick() == 0
        make_dataset("v1")  # re-materialized, same content: no retraining
        assert tick() == 0
        make_dataset("v2")  # new content: retrain, if enabled
        assert tick() == (1 if auto_train else 0)

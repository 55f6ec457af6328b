"""The ``spec_solution_llm`` family against the local OpenAI-compatible server and the real Zig 0.14.0 compiler.

A scripted model answers each task by the function its prompt names, and answers repair requests by the
round it is in; every answer is judged by running the task's hidden tests with the real local engine. An
answer repeated in a later round is judged from the verdict cache, so the whole file compiles about eight
files.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.llm_runs import FAST_RETRIES, SECRET, TEMPLATES
from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune.assets import docs, qa_pairs
from zigtune.assets.qa_pairs import QAPairsConfig
from zigtune.generation.calls import CallSettings, CallStats, LLMCaller, build_client
from zigtune.generation.code_checks import EngineChecker
from zigtune.generation.spec_bank import all_tasks
from zigtune.generation.spec_llm import FAMILY, SpecLLMResult, hidden_tasks, spec_solution_pairs
from zigtune.generation.spec_tasks import SpecTask, task_prompt
from zigtune.resources.llm import LLMClient
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.cache import ContentCache
from zigtune.storage.io_manager import ParquetIOManager

MODEL = "scripted-coder"
SECTION = "Slices"


def _task(name: str) -> SpecTask:
    """``name(items)``: the sum of the odd numbers in ``items``; the spec shows one example, the tests check more."""
    return SpecTask(
        f"odd/{name}",
        SECTION,
        f"`{name}(items)`: the sum of the odd numbers in `items`. For example, `{name}(&.{{ 1, 2, 3 }})` is 4.",
        f"pub fn {name}(items: []const u32) u32 {{\n    var total: u32 = 0;\n    for (items) |item| {{\n"
        "        if (item % 2 == 1) total += item;\n    }\n    return total;\n}\n",
        f'test "{name} example" {{\n    try std.testing.expectEqual(@as(u32, 4), {name}(&.{{ 1, 2, 3 }}));\n}}\n\n'
        f'test "{name} more" {{\n    try std.testing.expectEqual(@as(u32, 0), {name}(&.{{}}));\n'
        f"    try std.testing.expectEqual(@as(u32, 16), {name}(&.{{ 7, 8, 9 }}));\n}}\n",
    )


def _fn(name: str, body: str) -> str:
    return f'```zig\nconst std = @import("std");\n\npub fn {name}(items: []const u32) u32 {{\n{body}}}\n```'


LOOP = "    var total: u32 = 0;\n    for (items) |item| {\n        if (item % 2 == 1) total += item;\n    }\n"
LOOP += "    return total;\n"
#: Each task's answers: the first reply, then one per repair round (the last one repeats).
ANSWERS: dict[str, list[str]] = {
    # The reference, its whitespace changed.
    "correctSum": [
        "Here it is:\n\n" + _fn("correctSum", LOOP.replace("total += item", "total  +=  item")) + "\n\nDone."
    ],
    # Old Zig (a pre-0.13 range loop): the compiler's words fix it.
    "repairedSum": [
        _fn(
            "repairedSum",
            "    var total: u32 = 0;\n    for (items) |item, i| {\n        _ = i;\n"
            "        if (item % 2 == 1) total += item;\n    }\n    return total;\n",
        ),
        _fn(
            "repairedSum",
            "    var total: u32 = 0;\n    for (items) |item| {\n"
            "        if (item & 1 == 1) total += item;\n    }\n    return total;\n",
        ),
    ],
    # Sums every number: the hidden tests fail, round after round.
    "wrongSum": [
        _fn("wrongSum", "    var total: u32 = 0;\n    for (items) |item| total += item;\n    return total;\n")
    ],
    "proseSum": ["I would loop over the items and add the odd ones. Good luck!"],
    "garbageSum": ["```zig\n}}{{ ))( pub fn fn fn ;;; @@@\n```"],
    # Cheats: the spec's example hardcoded; an empty test instead of the API; exit before the tests report.
    "hardcodedSum": [_fn("hardcodedSum", "    _ = items;\n    return 4;\n")],
    "emptyTestSum": ['```zig\nconst std = @import("std");\n\ntest {}\n```'],
    "exitingSum": [_fn("exitingSum", "    _ = items;\n    std.process.exit(0);\n")],
}


def respond(request: RecordedRequest) -> Reply:
    first = request.body["messages"][0]["content"]
    name = next(name for name in ANSWERS if f"`{name}(items)`" in first)
    repairs = sum(message["role"] == "user" for message in request.body["messages"]) - 1
    answers = ANSWERS[name]
    return Reply(answers[min(repairs, len(answers) - 1)])


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    server = OpenAIServer()
    server.responder = respond
    yield server
    server.close()


def solve(server: OpenAIServer, cache: Path, checker: EngineChecker, repair_rounds: int = 1) -> SpecLLMResult:
    sections = pl.DataFrame([{"section_id": "id-slices", "order": 0, "title": SECTION, "breadcrumb": "Ref > Slices"}])
    tasks, left_out = hidden_tasks(sections, [_task(name) for name in ANSWERS])
    assert len(tasks) == len(ANSWERS) and not left_out
    stats = CallStats()
    settings = CallSettings(**{**FAST_RETRIES, "model": MODEL, "structured_output": "off"})  # type: ignore[arg-type]

    async def run() -> SpecLLMResult:
        client = build_client(base_url=server.base_url, api_key=SECRET, requests=stats.requests, timeout=60)
        try:
            caller = LLMCaller(client, ContentCache(cache), settings, stats)
            return await spec_solution_pairs(
                tasks, caller=caller, templates=TEMPLATES, checker=checker, repair_rounds=repair_rounds
            )
        finally:
            await client.close()

    return asyncio.run(run())


def test_only_answers_that_pass_the_hidden_tests_are_kept(
    server: OpenAIServer, checker: EngineChecker, tmp_path: Path
) -> None:
    result = solve(server, tmp_path / "llm", checker)

    kept = {row["example_name"]: row for row in result.rows}
    assert set(kept) == {"spec:odd/correctSum", "spec:odd/repairedSum"}
    stats = result.stats
    assert stats.tried == len(ANSWERS) and stats.passed_first_try == 1 and dict(stats.recovered_in_round) == {1: 1}
    assert stats.first_failures == Counter(
        {"compile_error": 3, "test_failure": 2, "no_code": 1, "incomplete_report": 1}
    )
    assert stats.unrepaired == 5  # every failing answer with code, but the repaired one
    assert dict(stats.dropped) == {"test_failure": 2, "compile_error": 2, "no_code": 1, "incomplete_report": 1}

    # The ledger: one row per dropped task, and the repaired task's first failing answer.
    ledger = {(row["raw"].split("\n", 1)[0], row["reason"]) for row in result.rejects}
    assert ledger == {
        ("spec:odd/repairedSum", "code_repaired_round_1"),
        ("spec:odd/wrongSum", "test_failure"),
        ("spec:odd/hardcodedSum", "test_failure"),  # the visible example alone does not pass
        ("spec:odd/garbageSum", "compile_error"),
        ("spec:odd/emptyTestSum", "compile_error"),  # the hidden tests call what it never declared
        ("spec:odd/exitingSum", "incomplete_report"),  # exit 0 before the tests reported
        ("spec:odd/proseSum", "no_code"),
    }
    unrepaired = next(row for row in result.rejects if row["raw"].startswith("spec:odd/wrongSum"))
    assert "unrepaired after 1 repair rounds" in unrepaired["raw"]

    # The pair: the task prompt, and the passing code in a zig block; its provenance.
    correct = kept["spec:odd/correctSum"]
    task = _task("correctSum")
    assert correct["instruction"] == task_prompt(task.spec, task.stub())
    assert correct["response"].startswith("```zig\n") and "Done." not in correct["response"]
    assert correct["generator"] == "llm" and correct["model"] == MODEL and correct["family"] == FAMILY
    assert correct["template_hash"] == TEMPLATES.hash and correct["checked"] and correct["behaviour_check"] == "tests"
    assert "item & 1" in kept["spec:odd/repairedSum"]["response"]
    assert result.differs == {correct["pair_id"]: False, kept["spec:odd/repairedSum"]["pair_id"]: True}
    assert stats.same_as_reference == 1

    # What the model was sent: exactly the task prompt, plain text; a repair shows the compiler's words.
    first = [r for r in server.requests if len(r.body["messages"]) == 1]
    assert len(first) == len(ANSWERS)
    assert all("response_format" not in r.body for r in server.requests)
    repair = next(
        r for r in server.requests if "repairedSum" in r.body["messages"][0]["content"] and r.body["messages"][1:]
    )
    assert [m["role"] for m in repair.body["messages"]] == ["user", "assistant", "user"]
    assert "compile_error" in repair.prompt and "error:" in repair.prompt and "```zig code block" in repair.prompt
    assert len(server.requests) == len(ANSWERS) + 6  # one repair round for every failing answer with code
    assert result.calls.tokens.completion > 0 and result.pairs_per_hour > 0

    # A second run asks nothing: every answer comes from the cache.
    asked = len(server.requests)
    again = solve(server, tmp_path / "llm", checker)
    assert len(server.requests) == asked and [r["pair_id"] for r in again.rows] == [r["pair_id"] for r in result.rows]


# --- the family in the qa_generation asset -------------------------------------------------------------


def test_the_family_is_off_by_default_and_runs_in_qa_generation_when_switched_on(
    server: OpenAIServer, data_dir: Path, tmp_path: Path, zig_sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A docs file whose one section (``try``, under 200 characters: no LLM section request) has one bank task;
    the model answers it with the bank's own solution."""
    assert QAPairsConfig().spec_solution_llm is False  # make run stays offline
    (task,) = [task for task in all_tasks() if task.section == "try"]
    server.responder = lambda request: Reply(f"```zig\n{task.solution}```")
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    docs_path = tmp_path / "docs.md"
    docs_path.write_text("# Zig Language Reference\n\nThe reference.\n\n## try\n\nShort.\n")
    llm = LLMClient(base_url=server.base_url, model=MODEL, requests_per_minute=0)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*dg.load_assets_from_modules([docs]), *dg.load_assets_from_modules([qa_pairs])],
            resources={
                "io_manager": ParquetIOManager(),
                "llm": llm,
                "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
            },
            run_config={
                "ops": {
                    "zig_docs": {"config": {"source": str(docs_path)}},
                    "qa_generation": {"config": {"generator": "llm", "spec_solution_llm": True}},
                }
            },
            instance=instance,
        )
    assert result.success
    meta = next(
        {key: value.value for key, value in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key.to_user_string() == "qa_pairs"
    )
    assert meta["pairs_by_family"] == {FAMILY: 1}
    assert meta["spec_llm"]["passed_first_try"] == 1 and meta["spec_llm"]["same_as_reference"] == 1
    assert meta["spec_llm_pairs_per_hour"] > 0
    (request,) = server.requests
    assert request.body["messages"] == [{"role": "user", "content": task_prompt(task.spec, task.stub())}]
    pairs = pl.read_parquet(data_dir / "assets" / "qa_pairs.parquet")
    assert pairs["example_name"].to_list() == [f"spec:{task.name}"] and pairs["model"].to_list() == [MODEL]

"""LLM generation against a local OpenAI-compatible server, and the qa_pairs assets in Dagster.

The server (tests/openai_server.py) is a real aiohttp server on 127.0.0.1 speaking the chat-completions
protocol; each test scripts its replies. Nothing inside zigtune is patched.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.llm_runs import SECRET, TEMPLATES
from tests.llm_runs import generate as run_generation
from tests.openai_server import OpenAIServer, Reply, default_pairs, jsonl
from zigtune.assets import docs, qa_pairs
from zigtune.generation.llm import GenerationResult, SectionInput
from zigtune.resources.llm import LLMClient
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.cache import ContentCache, cache_key
from zigtune.storage.io_manager import ParquetIOManager

SECTION = SectionInput(
    "language.defer-0123456789", "Language > Defer", "## Defer\n\n" + "Defer runs at scope exit. " * 20
)
LONG_SECTION = SectionInput("language.long-abcdef0123", "Language > Long", "## Long\n\n" + "Many words here. " * 400)


@pytest.fixture
def server():
    server = OpenAIServer(api_key=SECRET)
    yield server
    server.close()


def generate(
    server: OpenAIServer, cache_dir: Path, sections: list[SectionInput] | None = None, **calls: object
) -> GenerationResult:
    return run_generation(server, cache_dir, sections or [SECTION], **calls)


def reasons(result: GenerationResult) -> list[str]:
    return [row["reason"] for row in result.rejects]


def test_structured_output_gives_validated_pairs(server: OpenAIServer, tmp_path: Path) -> None:
    result = generate(server, tmp_path)
    assert [r["kind"] for r in result.pairs] == ["concept", "code"]
    assert {r["generator"] for r in result.pairs} == {"llm"}
    assert {r["template_hash"] for r in result.pairs} == {TEMPLATES.hash}
    assert result.rejects == []
    (request,) = server.requests
    assert request.structured and request.body["temperature"] == 0.7 and request.body["max_tokens"] == 2048
    assert request.body["stop"] == ["\n\n\n\n"]
    assert request.body["messages"][0]["content"].startswith("You are a Zig 0.14 expert")
    assert SECTION.text in request.prompt and "Zig 0.14" in request.prompt and "Expected output:" in request.prompt
    assert '{"pairs": [' in request.prompt  # the JSON format paragraph, as the schema asks
    assert result.stats.response_format == "json_schema" and result.stats.response_format_source == "probed"
    assert result.stats.calls_made == 1 and result.stats.tokens.prompt > 0 and result.stats.tokens.completion > 0


def test_messy_jsonl_in_fences(server: OpenAIServer, tmp_path: Path) -> None:
    pairs = default_pairs("x")
    server.queue(Reply(f"Sure! Here you go:\n\n```jsonl\n{jsonl(pairs)}\n```\n\nLet me know if you need more."))
    result = generate(server, tmp_path, structured_output="off")
    assert [r["instruction"] for r in result.pairs] == [p["instruction"] for p in pairs]
    assert result.rejects == [] and server.requests[0].response_format == "text"
    assert "Respond ONLY in JSONL format" in server.requests[0].prompt


def test_objects_split_across_lines(server: OpenAIServer, tmp_path: Path) -> None:
    split = '{"instruction": "How does\nerrdefer differ from defer?",\n"response":\n"It runs only on error return."\n}'
    server.queue(Reply(split))
    result = generate(server, tmp_path, structured_output="off")
    assert [r["instruction"] for r in result.pairs] == ["How does\nerrdefer differ from defer?"]


def test_truncated_json_gets_one_repair_and_is_ledgered(server: OpenAIServer, tmp_path: Path) -> None:
    cut = json.dumps({"pairs": default_pairs("y")})[:30]
    server.queue(Reply(cut, finish_reason="length"))
    result = generate(server, tmp_path)
    assert len(result.pairs) == 2  # from the repair reply
    assert reasons(result) == ["truncated_json"]
    assert result.rejects[0]["raw"] == cut[cut.index("{", 1) :]
    assert len(server.requests) == 2 and result.stats.parse_repairs == 1
    repair = server.requests[1].body["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == cut and "truncated_json" in repair[3]["content"]


def test_prose_only_twice_goes_to_the_reject_ledger(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Reply("Defer is great."), Reply("I really think defer is great."))
    result = generate(server, tmp_path)
    assert result.pairs == []
    assert reasons(result) == ["no_json", "no_json"]
    assert [row["raw"] for row in result.rejects] == ["Defer is great.", "I really think defer is great."]
    assert result.rejects[0]["section_id"] == SECTION.section_id and result.rejects[0]["generator"] == "llm"


def test_429_waits_for_retry_after(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Reply(status=429, headers={"Retry-After": "1"}))
    result = generate(server, tmp_path)
    assert len(result.pairs) == 2 and result.stats.requests.retries == 1 and result.stats.calls_made == 1
    first, second = server.requests
    assert second.received_at - first.received_at >= 0.95


def test_500_then_success(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Reply(status=500))
    result = generate(server, tmp_path)
    assert len(result.pairs) == 2 and result.stats.requests.retries == 1 and len(server.requests) == 2


def test_reply_slower_than_the_timeout_is_retried(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Reply(delay=3.0))
    result = generate(server, tmp_path, timeout_seconds=0.5)
    assert len(result.pairs) == 2 and result.stats.requests.retries == 1 and result.stats.requests.timeouts == 1


def test_failures_after_retries_are_ledgered_and_not_cached(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Reply(status=503), Reply(status=503))
    result = generate(server, tmp_path, max_retries=1)
    assert result.pairs == [] and reasons(result) == ["api_status_503"]
    assert result.stats.requests.retries == 1 and dict(result.stats.failures) == {"api_status_503": 1}
    again = generate(server, tmp_path, max_retries=1)
    assert len(again.pairs) == 2 and again.stats.calls_made == 1


def test_server_without_json_schema_falls_back_once_and_remembers(tmp_path: Path) -> None:
    server = OpenAIServer(supports_json_schema=False)
    try:
        first = generate(server, tmp_path)
        assert len(first.pairs) == 2 and first.stats.response_format == "json_object"
        assert [r.response_format for r in server.requests] == ["json_schema", "json_object"]
        second = generate(server, tmp_path)
        assert second.stats.response_format == "json_object" and second.stats.response_format_source == "remembered"
        assert len(second.pairs) == 2 and second.stats.calls_made == 0 and len(server.requests) == 2
    finally:
        server.close()


def test_long_sections_get_continuation_rounds_and_cache_them(server: OpenAIServer, tmp_path: Path) -> None:
    result = generate(server, tmp_path, [LONG_SECTION, SECTION])
    assert result.stats.calls_made == 4 and len(result.pairs) == 8
    long_prompts = [r.prompt for r in server.requests if "Continue generating" in r.prompt]
    assert len(long_prompts) == 2
    first_long = next(r for r in server.requests if LONG_SECTION.text in r.prompt)
    carried = jsonl(default_pairs(first_long.prompt))
    assert any(carried in prompt for prompt in long_prompts)  # the previous answer is carried on
    assert all(LONG_SECTION.text in prompt for prompt in long_prompts)  # and the section's text
    again = generate(server, tmp_path, [LONG_SECTION, SECTION])
    assert again.stats.calls_made == 0 and again.stats.calls_cached == 4 and again.pairs == result.pairs


def test_concurrency_is_bounded_and_reached(tmp_path: Path) -> None:
    server = OpenAIServer(latency=0.2)
    try:
        sections = [SectionInput(f"s{i}", f"S{i}", f"## S{i}\n\n" + f"text {i} " * 60) for i in range(12)]
        result = generate(server, tmp_path, sections, max_concurrency=4)
        assert len(result.pairs) == 24
        assert server.peak_in_flight == 4 and result.stats.concurrency.peak_in_flight == 4
    finally:
        server.close()


# --- Dagster -----------------------------------------------------------------------------------

EXAMPLE = """<!-- example: hello.zig kind=exe expect=pass -->
```zig
const std = @import("std");

pub fn main() void {
    std.debug.print("Hello, world!\\n", .{});
}
```

<!-- output: hello.zig -->
**Shell**
```
$ zig build-exe hello.zig
$ ./hello
Hello, world!
```
"""


def small_docs(sections: int, *, prose_section: bool = False) -> str:
    parts = ["# Zig Language Reference\n\nThe reference of the Zig programming language, version 0.14.\n\n"]
    for i in range(sections):
        parts.append(f"## Topic {i}\n\n" + f"Topic {i} explains a part of the language in some detail. " * 5 + "\n\n")
    parts.append("## Hello World\n\n" + "A first program prints a greeting to standard error. " * 3 + "\n\n" + EXAMPLE)
    if prose_section:
        parts.append("## PROSE-SECTION\n\n" + "This section makes the model answer in prose. " * 6 + "\n")
    return "".join(parts)


def pipeline_assets() -> list:
    return [*dg.load_assets_from_modules([docs]), *dg.load_assets_from_modules([qa_pairs])]


def materialize(
    instance: dg.DagsterInstance, docs_path: Path, llm: LLMClient, zig_root: Path | None = None
) -> dict[str, dict]:
    zig = ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_root))) if zig_root else ZigEngine()
    result = dg.materialize(
        pipeline_assets(),
        resources={"io_manager": ParquetIOManager(), "llm": llm, "zig": zig},
        run_config={"ops": {"zig_docs": {"config": {"source": str(docs_path)}}}},
        instance=instance,
    )
    assert result.success
    return {
        e.materialization.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def test_materialize_twice_second_run_makes_no_calls_and_no_secret_is_stored(
    server: OpenAIServer,
    data_dir: Path,
    tmp_path: Path,
    zig_sandbox_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(5, prose_section=True))
    server.latency = 0.1
    server.responder = lambda request: (
        Reply("I would rather explain it in prose.")
        if any("PROSE-SECTION" in m["content"] for m in request.body["messages"])
        else server.default_reply(request)
    )
    llm = LLMClient(
        base_url=server.base_url, api_key=dg.EnvVar("NOVITA_API_KEY"), max_concurrency=4, requests_per_minute=0
    )
    instance_dir = tmp_path / "dagster_home"
    instance_dir.mkdir()
    with dg.instance_for_test(temp_dir=str(instance_dir)) as instance:
        first = materialize(instance, docs_path, llm, zig_sandbox_root)
        meta = first["qa_pairs"]
        # 7 sections over 200 characters; the prose one is asked twice (one repair).
        assert meta["generator"] == "both" and meta["llm_calls_made"] == 8 and meta["llm_calls_cached"] == 0
        by_kind = meta["pairs_by_generator_kind"]
        assert {k: v for k, v in by_kind.items() if k.startswith("llm/")} == {"llm/code": 6, "llm/concept": 6}
        assert by_kind["docs/code"] + by_kind["docs/concept"] == meta["offline_pairs"] > 8
        assert meta["rejects_by_reason"] == {"no_json": 2}
        assert meta["tokens_in"] > 0 and meta["estimated_cost_usd"] > 0 and meta["concurrency"]["peak_in_flight"] == 4
        assert meta["response_format"] == "json_schema" and meta["llm_server"] == server.base_url
        # Every LLM code answer was compiled and run before it was emitted (one program, six pairs).
        assert meta["code_repair"]["checked"] == 6 and meta["code_repair"]["passed_first_try"] == 6
        rejects = pl.read_parquet(data_dir / "assets" / "qa_rejects.parquet")
        assert rejects["breadcrumb"].to_list() == ["Zig Language Reference > PROSE-SECTION"] * 2
        # The prose section gave no pair: a failed section, within the 20% the run allows, and said so.
        assert meta["llm_sections_failed"] == 1 and meta["llm_sections_not_tried"] == 0
        assert meta["llm_failed_sections"] == {"Zig Language Reference > PROSE-SECTION": "no_usable_pair"}
        assert meta["llm_outcome"].startswith(
            "partial: 1 of 7 sections gave no pair (Zig Language Reference > PROSE-SECTION): no usable pair"
        )
        # The LLM's code pairs were compiled and run when they were made, and say so.
        llm_rows = pl.read_parquet(data_dir / "assets" / "qa_pairs.parquet").filter(pl.col("generator") == "llm")
        code_rows = llm_rows.filter(pl.col("kind") == "code")
        assert code_rows.height == 6 and code_rows["checked"].all()
        assert set(code_rows["behaviour_check"]) == {"runs"}  # it prints, with no output stated to compare
        assert not llm_rows.filter(pl.col("kind") == "concept")["checked"].any()
        requests_after_first = len(server.requests)

        second = materialize(instance, docs_path, llm, zig_sandbox_root)
        assert second["qa_pairs"]["llm_calls_made"] == 0 and second["qa_pairs"]["llm_calls_cached"] == 8
        assert second["qa_pairs"]["offline_zig_compiled"] == 0  # the offline generator's runs are cached too
        assert len(server.requests) == requests_after_first
        pairs = pl.read_parquet(data_dir / "assets" / "qa_pairs.parquet")
        assert pairs.height == 12 + meta["offline_pairs"]

    # The run and event-log databases and compute logs are written where we are about to look.
    assert list(instance_dir.rglob("*.db"))
    output = capfd.readouterr()
    assert SECRET not in output.out + output.err
    for root in (data_dir, instance_dir):
        for path in root.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"API key found in {path}"
    assert all(r.headers["Authorization"] == f"Bearer {SECRET}" for r in server.requests)  # it was used


def test_without_a_key_the_docs_generator_runs_alone(data_dir: Path, tmp_path: Path, zig_sandbox_root: Path) -> None:
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(2))
    with dg.instance_for_test() as instance:
        meta = materialize(instance, docs_path, LLMClient(), zig_sandbox_root)["qa_pairs"]
    assert meta["generator"] == "docs" and "llm_calls_made" not in meta
    assert set(meta["pairs_by_generator_kind"]) == {"docs/code", "docs/concept"}
    assert {"reference_example", "predict_output", "variant", "concept"} <= set(meta["pairs_by_family"])


KILLED_RUN = textwrap.dedent(
    """
    import os, sys
    import dagster as dg
    from zigtune.assets import docs, qa_pairs
    from zigtune.storage.io_manager import ParquetIOManager
    from zigtune.resources.llm import LLMClient
    from zigtune.resources.zig import LocalSandbox, ZigEngine

    llm = LLMClient(base_url=sys.argv[1], api_key=dg.EnvVar("NOVITA_API_KEY"), max_concurrency=4)
    zig = ZigEngine(local=LocalSandbox(sandbox_dir=sys.argv[3]))
    dg.materialize(
        [*dg.load_assets_from_modules([docs]), *dg.load_assets_from_modules([qa_pairs])],
        resources={"io_manager": ParquetIOManager(), "llm": llm, "zig": zig},
        run_config={"ops": {"zig_docs": {"config": {"source": sys.argv[2]}}}},
    )
    """
)


def test_killed_run_resumes_without_repeating_answered_calls(
    data_dir: Path, tmp_path: Path, zig_sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    server = OpenAIServer(latency=0.3, api_key=SECRET)
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(23))  # 24 sections over 200 characters: 24 calls
    cache_dir = data_dir / "cache" / "llm"

    def cached_keys() -> set[str]:
        return {p.stem for p in cache_dir.glob("*/*.json")} if cache_dir.exists() else set()

    try:
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN, server.base_url, str(docs_path), str(zig_sandbox_root)],
            env={**os.environ, "ZIGTUNE_DATA_DIR": str(data_dir)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Several answers cached, more requests in flight: now is halfway.
            assert server.wait_until(lambda: len(cached_keys()) >= 6 and server.in_flight > 0, timeout=90)
            in_flight_at_kill = server.in_flight
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert in_flight_at_kill > 0
        # Cached chat answers (dicts), not the remembered server capability (a bool).
        answered = {key for key in cached_keys() if isinstance(ContentCache(cache_dir).get(key), dict)}
        first_run_requests = len(server.requests)
        assert 5 <= len(answered) < 24  # six cache entries: five answers and the server capability

        llm = LLMClient(base_url=server.base_url, api_key=dg.EnvVar("NOVITA_API_KEY"), max_concurrency=4)
        with dg.instance_for_test() as instance:
            meta = materialize(instance, docs_path, llm, zig_sandbox_root)["qa_pairs"]
        resumed = server.requests[first_run_requests:]
        resumed_keys = {cache_key("chat.completions", r.body) for r in resumed}
        assert resumed_keys.isdisjoint(answered)
        assert len(resumed) == 24 - len(answered)
        assert meta["llm_calls_made"] == len(resumed) and meta["llm_calls_cached"] == len(answered)
        assert meta["pairs_by_generator_kind"]["llm/concept"] == 24
    finally:
        server.close()


# --- failing loudly, in Dagster ----------------------------------------------------------------------


def materialize_failing(instance: dg.DagsterInstance, docs_path: Path) -> dg.ExecuteInProcessResult:
    """The LLM generator alone, with the resources as zigtune.definitions makes them (settings from NOVITA_*)."""
    return dg.materialize(
        pipeline_assets(),
        resources={"io_manager": ParquetIOManager(), "llm": LLMClient(), "zig": ZigEngine()},
        run_config={
            "ops": {
                "zig_docs": {"config": {"source": str(docs_path)}},
                "qa_generation": {"config": {"generator": "llm"}},
            }
        },
        instance=instance,
        raise_on_error=False,
    )


def step_failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = result.get_step_failure_events()
    return event.step_failure_data.user_failure_data.description  # type: ignore[union-attr]


def test_a_server_that_is_down_fails_the_generation_with_one_line_and_a_failed_check(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_llm_calls import closed_port_url

    url = closed_port_url()
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    monkeypatch.setenv("NOVITA_BASE_URL", url)
    monkeypatch.setenv("NOVITA_MAX_RETRIES", "1")
    monkeypatch.setenv("NOVITA_RETRY_BACKOFF_SECONDS", "0.01")
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(3))
    with dg.instance_for_test() as instance:
        result = materialize_failing(instance, docs_path)
        assert not result.success
        line = step_failure(result)
        # The first call probes the server alone; once it failed, one section in four is past 20%, so the
        # other three are not tried at all.
        assert line == (
            f"1 of 4 sections failed (3 not tried: more than 20% had failed): connection refused at {url} "
            "(failed: Zig Language Reference > Topic 0); is the server running? check NOVITA_BASE_URL"
        )
        (check,) = result.get_asset_check_evaluations()
        assert check.check_name == "llm_section_failures" and not check.passed
        assert check.description == line and check.metadata["llm_sections_failed"].value == 1
        # Nothing was stored: the next run is not handed an empty table as if it were the answer.
        assert not (data_dir / "assets" / "qa_pairs.parquet").exists()


def test_a_model_that_echoes_the_prompt_fails_the_generation_as_no_pairs(
    server: OpenAIServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    monkeypatch.setenv("NOVITA_BASE_URL", server.base_url)
    server.responder = lambda request: Reply(request.prompt)
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(2))
    with dg.instance_for_test() as instance:
        result = materialize_failing(instance, docs_path)
    assert not result.success
    # The first section probes alone; its echo is past 20% of three, so the other two are never sent.
    assert step_failure(result) == (
        "1 of 3 sections failed (2 not tried: more than 20% had failed): no usable pair in the replies "
        f"(template_echo 2) at {server.base_url} (failed: Zig Language Reference > Topic 0); see qa_rejects for "
        "the replies; a stronger NOVITA_MODEL, or NOVITA_STRUCTURED_OUTPUT=json_object or off, may help"
    )
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed


def test_a_failed_run_still_writes_every_failed_calls_whole_error_to_qa_rejects(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.openai_server import LLAMA_CPP_REFUSAL

    server = OpenAIServer(refuse={"json_schema": (500, LLAMA_CPP_REFUSAL)})
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    monkeypatch.setenv("NOVITA_BASE_URL", server.base_url)
    monkeypatch.setenv("NOVITA_STRUCTURED_OUTPUT", "json_schema")  # fixed: the refusal fails every section
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(small_docs(2))
    try:
        with dg.instance_for_test() as instance:
            result = materialize_failing(instance, docs_path)
    finally:
        server.close()
    assert not result.success and step_failure(result).startswith("1 of 3 sections failed")
    rejects = pl.read_parquet(data_dir / "assets" / "qa_rejects.parquet")
    (row,) = rejects.filter(pl.col("reason") == "format_refused").to_dicts()
    # The server's whole error, its third line included (the failure's metadata preview cuts it at 160).
    assert "Input should be 'text' or 'json_object' [type=literal_error" in row["raw"]
    assert row["breadcrumb"] == "Zig Language Reference > Topic 0"
    assert not (data_dir / "assets" / "qa_pairs.parquet").exists()

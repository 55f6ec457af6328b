"""The LLM path against a slow, imperfect server, as llama.cpp with a small model is (issue 28).

Each server is tests/openai_server.py, a real aiohttp server on 127.0.0.1 speaking the chat-completions
protocol: one that refuses ``json_schema`` with HTTP 500 as llama-cpp-python's server does, one whose
first reply is slow, a model that rambles until ``max_tokens``, replies that never come, replies that
hold no pair. Nothing inside zigtune is patched.
"""

from __future__ import annotations

from pathlib import Path

from tests.llm_runs import generate, sections
from tests.openai_server import LLAMA_CPP_REFUSAL, OpenAIServer, RecordedRequest, Reply, default_pairs, jsonl
from zigtune.generation.llm import GenerationSettings, failure_summary

ANY_SHARE = GenerationSettings(max_failed_share=1.0)


def schema_requests(server: OpenAIServer) -> int:
    return sum(1 for request in server.requests if request.response_format == "json_schema")


# --- 1. a refusal is remembered the moment it happens -----------------------------------------------


def test_a_refusal_is_remembered_at_once_even_when_the_fallback_then_fails(tmp_path: Path) -> None:
    """The issue's run: json_schema refused (HTTP 500), the fallback request then timed out, and every
    other section probed json_schema again. Now: one json_schema request in the run, none in the next."""
    server = OpenAIServer(refuse={"json_schema": (500, LLAMA_CPP_REFUSAL)})
    server.queue(Reply(delay=3.0))  # the probe's json_object request: slower than the 1 s timeout
    try:
        result = generate(server, tmp_path, sections(6), timeout_seconds=1.0, max_retries=0, settings=ANY_SHARE)
        assert schema_requests(server) == 1
        assert dict(result.stats.format_refusals) == {"json_schema": 1}
        assert [f.reason for f in result.failures] == ["api_timeout"] and len(result.pairs) == 10

        # Remembered in the cache: a later run does not ask for json_schema at all.
        before = len(server.requests)
        again = generate(server, tmp_path, sections(3, prefix="t"))
        assert [r.response_format for r in server.requests[before:]] == ["json_object"] * 3
        assert again.stats.response_format_source == "remembered" and not again.stats.format_refusals
    finally:
        server.close()


# --- 2. no section waits behind a slow reply; replies bounded; timeouts reported once ------------------


def test_other_sections_do_not_wait_for_the_probes_slow_reply(tmp_path: Path) -> None:
    server = OpenAIServer(refuse={"json_schema": (500, LLAMA_CPP_REFUSAL)})
    server.queue(Reply(delay=6.0))  # the probe's accepted json_object reply takes 6 s to write
    try:
        result = generate(server, tmp_path, sections(6), timeout_seconds=30.0)
        assert len(result.pairs) == 12 and result.failures == []
        slow, *others = [r for r in server.requests if r.response_format == "json_object"]
        assert len(others) == 5
        # The other five went out (and were answered) while the slow reply was still being written.
        assert all(r.received_at < slow.received_at + 5.0 for r in others)
        assert schema_requests(server) == 1
    finally:
        server.close()


def rambling(request: RecordedRequest) -> Reply:
    """A small model that never closes its JSON and pads with newlines, as under a JSON grammar."""
    return Reply(rambling=True, seconds_per_token=0.0005)


def test_a_rambling_model_is_cut_short_by_the_default_budget_and_stop_sequence(tmp_path: Path) -> None:
    server = OpenAIServer()
    server.responder = rambling
    try:
        result = generate(server, tmp_path, sections(2), settings=ANY_SHARE)
        bodies = [r.body for r in server.requests]
        assert bodies and all(b["max_tokens"] <= 2048 and "\n\n\n\n" in b["stop"] for b in bodies)
        # Each reply stopped at the padding after a few tokens instead of running to the budget.
        assert result.stats.tokens.completion < 20 * len(bodies)
        assert {f.reason for f in result.failures} == {"no_usable_pair"}
    finally:
        server.close()


def test_a_timeout_that_keeps_firing_is_given_up_and_reported_once_with_the_settings(tmp_path: Path) -> None:
    server = OpenAIServer(latency=2.0)  # no reply comes within the 0.3 s timeout
    notices: list[str] = []
    try:
        result = generate(
            server, tmp_path, sections(4), timeout_seconds=0.3, max_retries=4, notices=notices, settings=ANY_SHARE
        )
        assert {f.reason for f in result.failures} == {"api_timeout"} and len(result.failures) == 4
        # Each call is tried twice, not 1 + max_retries times.
        assert len(server.requests) == 8 and result.stats.requests.timeouts == 8
        (notice,) = notices
        assert "keep timing out" in notice and "NOVITA_TIMEOUT_SECONDS" in notice and "NOVITA_MAX_TOKENS" in notice
        assert result.stats.timeout_notice == notice
        line = failure_summary(result, server.base_url, 0.2)
        assert line is not None and "no reply within" in line and "raise NOVITA_TIMEOUT_SECONDS (now 0.3)" in line
    finally:
        server.close()


# --- 3. the outcome tells the truth ---------------------------------------------------------------------


def prose_except(good: str):
    """Every section but ``good`` gets prose (no pair) however often it is asked."""

    def respond(request: RecordedRequest) -> Reply:
        text = "\n".join(m["content"] for m in request.body["messages"])
        if f"text {good} " in text:
            return Reply(jsonl(default_pairs(request.prompt)))
        return Reply("Sure! Zig is a great language, and this section explains it well.")

    return respond


def test_sections_that_give_no_pair_fail_the_run_with_one_line(tmp_path: Path) -> None:
    """The issue's run: 8 of 9 sections unparseable even after the repair, yet "1 pairs; within 20%"."""
    server = OpenAIServer()
    server.responder = prose_except("s8")
    try:
        result = generate(server, tmp_path, sections(9), structured_output="off", settings=ANY_SHARE)
        assert len(result.pairs) == 2
        assert len(result.failures) == 8 and {f.reason for f in result.failures} == {"no_usable_pair"}
        assert result.sections_stopped == 0
        line = failure_summary(result, server.base_url, 0.2)
        assert line == (
            f"8 of 9 sections failed: no usable pair in the replies (no_json 2) at {server.base_url} "
            "(failed: S0, S1, S2 and 5 more); see qa_rejects for the replies; a stronger NOVITA_MODEL, or "
            "NOVITA_STRUCTURED_OUTPUT=json_object or off, may help"
        )
    finally:
        server.close()


def test_a_run_without_a_few_sections_succeeds_and_says_which(tmp_path: Path) -> None:
    from zigtune.generation.llm import partial_summary  # new in issue 28

    server = OpenAIServer()

    def respond(request: RecordedRequest) -> Reply:
        text = "\n".join(m["content"] for m in request.body["messages"])
        return Reply("No pairs today.") if "text s3 " in text else server.default_reply(request)

    server.responder = respond
    try:
        result = generate(server, tmp_path, sections(10))
        assert len(result.pairs) == 18 and failure_summary(result, server.base_url, 0.2) is None
        assert partial_summary(result) == (
            "partial: 1 of 10 sections gave no pair (S3): no usable pair in the replies (no_json 2); see qa_rejects "
            "for the replies; a stronger NOVITA_MODEL, or NOVITA_STRUCTURED_OUTPUT=json_object or off, may help"
        )
    finally:
        server.close()


def section_of(request: RecordedRequest) -> str:
    return request.prompt.split("text ", 1)[1].split(" ", 1)[0]


def test_not_tried_counts_only_sections_never_sent(tmp_path: Path) -> None:
    """The first section is answered, then the server answers 503 to everything, the later sections more
    slowly: once more than 20% have failed, the sections still retrying are failed with their error (they
    were sent), not counted as "not tried", and no further retry goes out."""
    server = OpenAIServer()
    server.queue(Reply())
    server.responder = lambda request: Reply(status=503, content="overloaded", delay=0.1 * int(section_of(request)[1:]))
    try:
        result = generate(server, tmp_path, sections(10), max_retries=3, adaptive_concurrency=False)
        assert {section_of(request) for request in server.requests} == {f"s{i}" for i in range(10)}
        assert len(result.pairs) == 2 and result.sections_stopped == 0
        assert len(result.failures) == 9 and {f.reason for f in result.failures} == {"api_status_503"}
        assert len(server.requests) < 1 + 9 * 4  # the slow sections' last retries were not sent
        line = failure_summary(result, server.base_url, 0.2)
        assert line is not None and line.startswith("9 of 10 sections failed: HTTP 503: ")
    finally:
        server.close()

"""The LLM path against real local servers that behave as real ones do (issue 21).

Each server is tests/openai_server.py, a real aiohttp server on 127.0.0.1 speaking the chat-completions
protocol: one that answers HTTP 500 to ``json_schema``, one that works on one request at a time with a
real delay, one that goes away mid-run, one whose port is closed, and a model that echoes the prompt.
Nothing inside zigtune is patched.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from tests.llm_runs import generate, sections
from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune.generation.llm import GenerationSettings, failure_summary
from zigtune.storage.cache import ContentCache

#: What one real server answers to ``response_format: json_schema`` (a pydantic error, as HTTP 500).
PYDANTIC_REFUSAL = (
    "1 validation error for ChatCompletionRequest\n"
    "response_format.type\n"
    "  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)


def closed_port_url() -> str:
    """An address where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- capability fallback ----------------------------------------------------------------------------


def test_500_on_json_schema_falls_back_once_per_server_and_model_and_is_remembered(tmp_path: Path) -> None:
    server = OpenAIServer(refuse={"json_schema": (500, PYDANTIC_REFUSAL)})
    try:
        first = generate(server, tmp_path, sections(8), max_concurrency=4)
        assert len(first.pairs) == 16 and first.rejects == []
        # One probe: the first call found the refusal and the next format alone; the other calls waited for it.
        formats = [r.response_format for r in server.requests]
        assert formats == ["json_schema"] + ["json_object"] * 8
        assert first.stats.requests.retries == 0 and not first.stats.failures
        assert first.stats.response_format == "json_object" and first.stats.response_format_source == "probed"
        assert dict(first.stats.format_refusals) == {"json_schema": 1}

        # Remembered in the cache: a new run with new sections asks json_object straight away.
        second = generate(server, tmp_path, sections(3, prefix="t"), max_concurrency=4)
        assert [r.response_format for r in server.requests[9:]] == ["json_object"] * 3
        assert second.stats.response_format_source == "remembered" and not second.stats.format_refusals
        # A different model on the same server is probed again.
        generate(server, tmp_path, sections(1, prefix="u"), model="another-model")
        assert [r.response_format for r in server.requests[12:]] == ["json_schema", "json_object"]
    finally:
        server.close()


def test_server_taking_neither_json_mode_gets_plain_jsonl(tmp_path: Path) -> None:
    refusal = (422, "Unsupported value: 'response_format' is not supported with this model.")
    server = OpenAIServer(refuse={"json_schema": refusal, "json_object": refusal})
    try:
        result = generate(server, tmp_path, sections(3))
        assert len(result.pairs) == 6
        assert [r.response_format for r in server.requests] == ["json_schema", "json_object", "text", "text", "text"]
        assert result.stats.response_format == "text"
        assert "Respond ONLY in JSONL format" in server.requests[-1].prompt  # the prompt follows the format
    finally:
        server.close()


def test_a_fixed_format_the_server_refuses_fails_with_the_whole_error(tmp_path: Path) -> None:
    server = OpenAIServer(refuse={"json_schema": (500, PYDANTIC_REFUSAL)})
    try:
        result = generate(server, tmp_path, sections(2), structured_output="json_schema")
        assert result.pairs == [] and len(server.requests) == 2  # no retries of a refusal
        assert {row["reason"] for row in result.rejects} == {"format_refused"}
        assert "Input should be 'text' or 'json_object'" in result.rejects[0]["raw"]  # the third line, kept
        line = failure_summary(result, server.base_url, 0.2)
        assert line is not None and line.startswith("2 of 2 sections failed: the server refuses")
        assert "NOVITA_STRUCTURED_OUTPUT=auto" in line and line.endswith(f"at {server.base_url} (failed: S0, S1)")
    finally:
        server.close()


def test_rejects_keep_the_whole_error_text_capped(tmp_path: Path) -> None:
    server = OpenAIServer()
    message = "upstream model crashed\n" + "\n".join(f"  frame {i}: generate()" for i in range(400))
    server.queue(Reply(status=503, content=message), Reply(status=503, content=message))
    try:
        result = generate(server, tmp_path, sections(1), max_retries=1)
        (reject,) = result.rejects
        assert reject["reason"] == "api_status_503"
        assert "upstream model crashed" in reject["raw"] and "frame 5: generate()" in reject["raw"]
        assert len(reject["raw"]) <= 2000  # capped
    finally:
        server.close()


# --- failing loudly ---------------------------------------------------------------------------------


def test_nothing_listening_fails_with_one_line_naming_cause_and_server(tmp_path: Path) -> None:
    url = closed_port_url()
    result = generate(url, tmp_path, sections(38), max_retries=1)
    assert result.pairs == []
    tried = len(result.failures)
    assert tried + result.sections_stopped == 38 and tried > 0.2 * 38
    assert {failure.reason for failure in result.failures} == {"api_connection_error"}
    # The run stops once more than 20% of the sections failed: no retry goes out after that (a refused
    # connection fails at once, so every section's first request may have gone before).
    assert result.stats.requests.sent < 2 * tried
    line = failure_summary(result, url, 0.2)
    not_tried = f" ({result.sections_stopped} not tried: more than 20% had failed)" if result.sections_stopped else ""
    assert line == (
        f"{tried} of 38 sections failed{not_tried}: connection refused at {url} "
        f"(failed: S0, S1, S2 and {tried - 3} more); is the server running? check NOVITA_BASE_URL"
    )


def test_server_that_goes_away_mid_run_fails_loudly_and_keeps_what_it_answered(tmp_path: Path) -> None:
    server = OpenAIServer(latency=0.05)
    work = sections(20)

    def stop_after_six() -> None:
        if server.wait_until(lambda: server.answered >= 6, timeout=60):
            server.close()

    stopper = threading.Thread(target=stop_after_six)
    stopper.start()
    try:
        first = generate(server, tmp_path, work, max_concurrency=2, max_retries=1)
    finally:
        stopper.join()
    assert 6 <= len(first.pairs) // 2 < 20
    line = failure_summary(first, server.base_url, 0.2)
    assert line is not None and f"connection refused at {server.base_url}" in line
    answered = len(first.pairs) // 2
    assert len(ContentCache(tmp_path)) == answered + 1  # every answer it gave is cached, and the format

    # The server is back (on another port): only what is missing is asked for.
    again_server = OpenAIServer()
    try:
        again = generate(again_server, tmp_path, work, max_concurrency=2)
        assert len(again.pairs) == 40 and again.failures == []
        assert again.stats.calls_cached == answered and len(again_server.requests) == 20 - answered
    finally:
        again_server.close()


def test_a_few_failures_under_the_limit_do_not_fail_the_run(tmp_path: Path) -> None:
    server = OpenAIServer()
    server.queue(Reply(status=503), Reply(status=503))  # one section's call and its one retry
    try:
        result = generate(server, tmp_path, sections(10), max_concurrency=1, max_retries=1)
        assert len(result.failures) == 1 and len(result.pairs) == 18
        assert failure_summary(result, server.base_url, 0.2) is None
        assert failure_summary(result, server.base_url, 0.05) is not None  # 10% > 5%
    finally:
        server.close()


# --- degenerate pairs ---------------------------------------------------------------------------------


def echo(request: RecordedRequest) -> Reply:
    """A weak model: it hands the prompt back."""
    return Reply(request.prompt)


def test_a_model_that_echoes_the_prompt_yields_no_pairs_and_counted_reasons(tmp_path: Path) -> None:
    server = OpenAIServer()
    server.responder = echo
    try:
        result = generate(server, tmp_path, sections(3), structured_output="off")
        assert result.pairs == []
        reasons = [row["reason"] for row in result.rejects]
        # Each prompt's two example lines come back as two pairs; both are the template's.
        assert reasons.count("template_echo") == 6 and set(reasons) == {"template_echo"}
        assert "Question or instruction" in result.rejects[0]["raw"]
    finally:
        server.close()


def test_degenerate_pairs_are_rejected_with_their_reason(tmp_path: Path) -> None:
    server = OpenAIServer()
    pairs = [
        {"instruction": "Question or instruction", "response": "It explains defer."},
        {"instruction": "What does defer do?", "response": "N/A"},
        {"instruction": "What does defer do?", "response": "What does defer do?"},
        {
            "instruction": "Explain the prompt.",
            "response": "Based on this content from the Zig 0.14 language documentation, generate 2-3 "
            "instruction-response pairs.",
        },
        {"instruction": "When does defer run?", "response": "When the enclosing scope exits, in reverse order."},
    ]
    server.queue(Reply(json.dumps({"pairs": pairs})))
    try:
        result = generate(server, tmp_path, sections(1))
        assert [row["instruction"] for row in result.pairs] == ["When does defer run?"]
        assert [row["reason"] for row in result.rejects] == [
            "template_echo",
            "empty_content",
            "instruction_equals_response",
            "prompt_echo",
        ]
    finally:
        server.close()


# --- adaptive concurrency -------------------------------------------------------------------------------


def test_429s_halve_the_window_and_replies_grow_it_back(tmp_path: Path) -> None:
    server = OpenAIServer(latency=0.05)
    server.queue(*[Reply(status=429, headers={"Retry-After": "0.2"}) for _ in range(8)])
    try:
        result = generate(server, tmp_path, sections(24), max_concurrency=8, structured_output="off")
        assert len(result.pairs) == 48 and result.failures == []
        report = result.stats.concurrency
        assert report.decreases.get("429", 0) >= 1 and report.lowest_limit <= 4
        assert report.final_limit > report.lowest_limit  # it grew back once the server answered
    finally:
        server.close()


def test_one_slot_server_with_one_second_replies_drops_nothing(tmp_path: Path) -> None:
    """40 sections against a server that works on one request at a time, 1 s each, starting at 16 in flight
    with a 5 s timeout: the queue makes early requests wait far longer than 5 s, yet none is dropped.
    Takes ~45 s (40 replies of 1 s, one after the other, is the floor)."""
    server = OpenAIServer(latency=1.0, slots=1)
    try:
        result = generate(server, tmp_path, sections(40), max_concurrency=16, timeout_seconds=5.0)
        assert len(result.pairs) == 80 and result.failures == [] and result.rejects == []
        assert result.stats.requests.timeouts == 0 and result.stats.requests.retries == 0 and server.abandoned == 0
        assert len(server.requests) == 40  # one request per section: nothing was sent twice
        report = result.stats.concurrency
        assert report.peak_in_flight == 16 and report.lowest_limit <= 4 and report.decreases.get("queueing", 0) >= 2
        assert report.longest_timeout_s > 5.0  # sized from the latency the queue showed
    finally:
        server.close()


@pytest.mark.parametrize("adaptive", [False])
def test_without_adaptation_the_same_server_drops_requests(tmp_path: Path, adaptive: bool) -> None:
    """The control for the test above: a fixed window of 16 and a fixed 5 s timeout drop queued requests."""
    server = OpenAIServer(latency=1.0, slots=1)
    try:
        result = generate(
            server,
            tmp_path,
            sections(12),
            max_concurrency=12,
            timeout_seconds=5.0,
            adaptive_concurrency=adaptive,
            max_retries=0,
            settings=GenerationSettings(max_failed_share=1.0),
        )
        assert result.stats.requests.timeouts > 0 and len(result.failures) > 0
        assert {failure.reason for failure in result.failures} == {"api_timeout"}
    finally:
        server.close()

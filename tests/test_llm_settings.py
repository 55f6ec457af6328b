"""Every LLM client setting from the environment, and run config that overrides one field keeps the others.

The regression this guards: with the resource built from the environment when the definitions load,
run config setting ``resources.llm.config.structured_output`` replaced Dagster's default for the whole
resource config, so the key, base URL and model from the environment were lost and the run failed with
"the LLM generator needs an API key". The Dagster tests materialize against a local OpenAI-compatible
server and look at the requests it received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune.assets import docs, qa_pairs
from zigtune.resources.llm import ClientSettings, LLMClient, LLMSettingsError, llm_from_env, resolve_settings
from zigtune.resources.zig import ZigEngine
from zigtune.storage.io_manager import ParquetIOManager

SECRET = "sk-zigtune-settings-4b1d"
DOCS = "# Zig Language Reference\n\nIntro.\n\n" + "".join(
    f"## Topic {i}\n\n" + f"Topic {i} explains a part of the language in some detail. " * 5 + "\n\n" for i in range(4)
)


def test_each_setting_comes_from_config_else_environment_else_default() -> None:
    environ = {
        "NOVITA_BASE_URL": "http://127.0.0.1:8080/v1",
        "NOVITA_MODEL": "qwen2.5-0.5b-instruct",
        "NOVITA_STRUCTURED_OUTPUT": "off",
        "NOVITA_MAX_CONCURRENCY": "2",
        "NOVITA_REQUESTS_PER_MINUTE": "0",
        "NOVITA_TIMEOUT_SECONDS": "600",
        "NOVITA_ADAPTIVE_CONCURRENCY": "false",
    }
    settings = resolve_settings({"model": "from-config", "max_concurrency": None}, environ)
    assert settings.model == "from-config"  # config wins
    assert settings.base_url == "http://127.0.0.1:8080/v1" and settings.structured_output == "off"
    assert settings.max_concurrency == 2 and settings.requests_per_minute == 0
    assert settings.timeout_seconds == 600.0 and settings.adaptive_concurrency is False
    assert settings.temperature == ClientSettings().temperature  # neither: the default
    assert resolve_settings({}, {}) == ClientSettings()


def test_each_setting_is_one_optional_config_field_that_says_its_default_and_variable() -> None:
    schema = LLMClient.to_config_schema().as_field().config_type
    assert set(schema.fields) == {"api_key", *ClientSettings.model_fields}
    for name, spec in ClientSettings.model_fields.items():
        field = schema.fields[name]
        assert not field.is_required and getattr(LLMClient(), name) is None  # unset: environment, else default
        assert spec.description and field.description.startswith(spec.description)
        assert f"Unset: NOVITA_{name.upper()}, else " in field.description
    assert schema.fields["requests_per_minute"].description.endswith("else 1000.")  # Novita's default, not 0
    # The values given in run config are checked like the environment's.
    with pytest.raises(LLMSettingsError, match="max_concurrency=0: must be at least 1"):
        LLMClient(max_concurrency=0).resolved()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NOVITA_MAX_CONCURRENCY", "lots", "NOVITA_MAX_CONCURRENCY='lots': expected an integer"),
        ("NOVITA_TIMEOUT_SECONDS", "soon", "NOVITA_TIMEOUT_SECONDS='soon': expected a number"),
        ("NOVITA_STRUCTURED_OUTPUT", "maybe", "use auto, json_schema, json_object or off"),
        ("NOVITA_ADAPTIVE_CONCURRENCY", "sometimes", "use true or false"),
        ("NOVITA_MAX_CONCURRENCY", "0", "must be at least 1"),
        ("NOVITA_TIMEOUT_SECONDS", "inf", "NOVITA_TIMEOUT_SECONDS='inf': must be a finite number"),
        ("NOVITA_RETRY_BACKOFF_SECONDS", "nan", "must be a finite number"),
    ],
)
def test_a_bad_setting_is_one_clear_line(variable: str, value: str, message: str) -> None:
    with pytest.raises(LLMSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_settings({}, {variable: value})


def concept_pairs(request: RecordedRequest) -> Reply:
    pairs = [{"instruction": f"What is explained here? ({len(request.prompt)})", "response": "A part of Zig."}]
    if request.response_format == "text":
        return Reply("\n".join(json.dumps(pair) for pair in pairs))
    return Reply(json.dumps({"pairs": pairs}))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """A local OpenAI-compatible server, and the environment pointing the LLM client at it with its key."""
    server = OpenAIServer(api_key=SECRET, latency=0.05)
    server.responder = concept_pairs
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    monkeypatch.setenv("NOVITA_BASE_URL", server.base_url)
    yield server
    server.close()


def materialize(tmp_path: Path, run_config: dict) -> dg.ExecuteInProcessResult:
    docs_path = tmp_path / "docs.md"
    docs_path.write_text(DOCS)
    config = {
        "ops": {"zig_docs": {"config": {"source": str(docs_path)}}, "qa_generation": {"config": {"generator": "llm"}}}
    }
    with dg.instance_for_test() as instance:
        return dg.materialize(
            [*dg.load_assets_from_modules([docs]), *dg.load_assets_from_modules([qa_pairs])],
            # As zigtune.definitions wires them; no code comes back, so the Zig engine is never started.
            resources={"io_manager": ParquetIOManager(), "llm": llm_from_env(), "zig": ZigEngine()},
            run_config={**config, **run_config},
            instance=instance,
            raise_on_error=False,
        )


def test_run_config_for_one_field_keeps_the_environments_key_url_and_model(
    server: OpenAIServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_MODEL", "qwen2.5-0.5b-instruct")
    monkeypatch.setenv("NOVITA_MAX_CONCURRENCY", "2")
    result = materialize(tmp_path, {"resources": {"llm": {"config": {"structured_output": "off"}}}})
    assert result.success
    assert len(server.requests) == 4
    assert {r.body["model"] for r in server.requests} == {"qwen2.5-0.5b-instruct"}
    assert {r.response_format for r in server.requests} == {"text"}  # the run config's one field
    assert server.peak_in_flight <= 2  # the environment's concurrency, kept
    assert {r.headers["Authorization"] for r in server.requests} == {f"Bearer {SECRET}"}
    metadata = result.asset_materializations_for_node("qa_generation")[0].metadata
    assert metadata["response_format"].value == "text" and metadata["response_format_source"].value == "configured"
    assert metadata["model"].value == "qwen2.5-0.5b-instruct"
    # The key is in no run config Dagster stored.
    assert SECRET not in json.dumps(result.dagster_run.run_config)


def test_structured_output_can_be_switched_off_by_environment(
    server: OpenAIServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_STRUCTURED_OUTPUT", "json_object")
    result = materialize(tmp_path, {"resources": {"llm": {"config": {"temperature": 0.2}}}})
    assert result.success
    assert {r.response_format for r in server.requests} == {"json_object"}
    assert {r.body["temperature"] for r in server.requests} == {0.2}


def test_a_bad_environment_value_fails_the_run_with_one_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVITA_API_KEY", SECRET)
    monkeypatch.setenv("NOVITA_TIMEOUT_SECONDS", "soon")
    result = materialize(tmp_path, {})
    assert not result.success
    assert "LLM settings: NOVITA_TIMEOUT_SECONDS='soon': expected a number" in failure_messages(result)


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    """Every error message of the run's failure events, causes included."""
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)

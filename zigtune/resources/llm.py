"""Novita's OpenAI-compatible chat API (or any other: vLLM, llama.cpp, Ollama — change ``base_url``).

Every field can come from the environment (``NOVITA_<FIELD>``, e.g. ``NOVITA_STRUCTURED_OUTPUT``) or
from run config, and each is resolved on its own when the run starts: explicit config, else the
environment variable, else the default. Why not fill the fields from the environment when the
definitions load (as ``LLMClient(base_url=os.environ[...])``)? Dagster turns a resource instance's
values into the default of the resource's *whole* config: run config that sets one field
(``resources.llm.config.structured_output``) replaces that default, and every other field falls back
to its class default — the key, the URL and the model from the environment were lost that way. Here
the fields' own defaults are ``None`` ("from the environment"), so there is nothing to lose.

The API key is read from ``NOVITA_API_KEY`` in the run's own process, never written into run config,
the UI or metadata (``api_key`` may also be set to ``dg.EnvVar("...")``; never to a literal key).
"""

import os
from dataclasses import dataclass, fields
from typing import Any

import dagster as dg
import openai
from pydantic import PrivateAttr

from zigtune.generation.calls import STRUCTURED_OUTPUT_VALUES, CallSettings, CallStats, build_client
from zigtune.generation.concurrency import TIMEOUT_CEILING_FACTOR

NOVITA_BASE_URL = "https://api.novita.ai/v3/openai"
API_KEY_ENV = "NOVITA_API_KEY"
ENV_PREFIX = "NOVITA_"


class LLMSettingsError(ValueError):
    """A client setting (from the environment or run config) that cannot be used."""


@dataclass(frozen=True)
class ClientSettings(CallSettings):
    """Every client setting, resolved: the call settings with Novita's defaults (its pacing and list prices), and
    the server's URL. ``structured_output`` is normalised (``on`` becomes ``json_schema``, ``text`` becomes ``off``).
    """

    base_url: str = NOVITA_BASE_URL
    requests_per_minute: int = 1000
    input_price_per_million: float = 0.02
    output_price_per_million: float = 0.05

    def call_settings(self) -> CallSettings:
        return CallSettings(**{spec.name: getattr(self, spec.name) for spec in fields(CallSettings)})


def env_variable(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse(name: str, kind: type, text: str) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise LLMSettingsError(f"{name}={text!r}: use true or false")
    try:
        return kind(text.strip())
    except ValueError:
        raise LLMSettingsError(f"{name}={text!r}: expected {'an integer' if kind is int else 'a number'}") from None


def resolve_settings(explicit: dict[str, Any], environ: dict[str, str] | os._Environ[str]) -> ClientSettings:
    """Each setting from ``explicit`` (run config) if given, else ``NOVITA_<FIELD>``, else the default."""
    values: dict[str, Any] = {}
    for spec in fields(ClientSettings):
        name = env_variable(spec.name)
        if explicit.get(spec.name) is not None:
            values[spec.name] = explicit[spec.name]
        elif environ.get(name, "").strip():
            values[spec.name] = _parse(name, type(spec.default), environ[name])
    structured_output = values.get("structured_output", "auto")
    if structured_output not in STRUCTURED_OUTPUT_VALUES:
        raise LLMSettingsError(
            f"structured_output={structured_output!r} ({env_variable('structured_output')}): "
            "use auto, json_schema, json_object or off"
        )
    settings = ClientSettings(**values | {"structured_output": STRUCTURED_OUTPUT_VALUES[structured_output]})
    for name in ("max_concurrency", "max_tokens"):
        if getattr(settings, name) < 1:
            raise LLMSettingsError(f"{name}={getattr(settings, name)} ({env_variable(name)}): must be at least 1")
    if settings.timeout_seconds <= 0:
        raise LLMSettingsError(f"timeout_seconds={settings.timeout_seconds}: must be positive")
    return settings


class LLMClient(dg.ConfigurableResource):
    """An OpenAI-compatible chat-completions endpoint, with adaptive concurrency, retries and prices.

    Leave a field unset to take it from ``NOVITA_<FIELD>`` (``NOVITA_BASE_URL``, ``NOVITA_MODEL``,
    ``NOVITA_STRUCTURED_OUTPUT``, ``NOVITA_MAX_CONCURRENCY``, ...) or else the default; the key comes
    from ``NOVITA_API_KEY``. Setting one field in run config leaves the others as they were.
    """

    base_url: str | None = None
    """The API root; e.g. ``http://localhost:8000/v1`` for a local vLLM server. Default: Novita."""

    api_key: str | None = None
    """Leave unset (read from ``NOVITA_API_KEY`` at run time) or ``dg.EnvVar(...)``; never a literal key."""

    model: str | None = None
    """The model name as the server knows it (default ``meta-llama/llama-3.1-8b-instruct``, the original's)."""

    temperature: float | None = None
    """Sampling temperature (default 0.7, the original's)."""

    max_tokens: int | None = None
    """Reply budget per call (default 8192, the original's)."""

    structured_output: str | None = None
    """``auto`` (default): json_schema, else json_object, else plain JSONL, probed once per server and model.
    ``json_schema``, ``json_object`` or ``off`` (plain JSONL) to fix it."""

    max_concurrency: int | None = None
    """Requests in flight at the start (default 16); fewer when the server shows it is overloaded."""

    adaptive_concurrency: bool | None = None
    """Back off on timeouts, 429s, 5xx and queueing (default true); false keeps ``max_concurrency`` fixed."""

    requests_per_minute: int | None = None
    """Client-side pacing of request starts; your account's limit (default 1000; 0: no pacing)."""

    timeout_seconds: float | None = None
    """Per request while nothing is known (default 120); it grows to 4x the slowest recent reply."""

    max_retries: int | None = None
    """Retries of a timeout, 429, 5xx or dropped connection (default 4)."""

    retry_backoff_seconds: float | None = None
    """First wait before a retry when the server names none (default 1); doubles each time."""

    input_price_per_million: float | None = None
    """USD per million prompt tokens (default 0.02: Novita's list price for the default model when written)."""

    output_price_per_million: float | None = None
    """USD per million completion tokens (default 0.05: Novita's list price when written)."""

    _resolved: ClientSettings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self._resolved = self.resolved()
        except LLMSettingsError as error:
            raise dg.Failure(description=f"LLM settings: {error}", allow_retries=False) from None

    def resolved(self) -> ClientSettings:
        """The settings this run uses (config, else environment, else default)."""
        if self._resolved is not None:
            return self._resolved
        explicit = {spec.name: getattr(self, spec.name) for spec in fields(ClientSettings)}
        return resolve_settings(explicit, os.environ)

    def _key(self) -> str | None:
        return self.api_key or os.environ.get(API_KEY_ENV) or None

    @property
    def has_key(self) -> bool:
        return bool(self._key())

    def call_settings(self) -> CallSettings:
        return self.resolved().call_settings()

    def client(self, stats: CallStats) -> openai.AsyncOpenAI:
        """A fresh async client (one per event loop) whose requests are counted into ``stats``."""
        key = self._key()
        if not key:
            raise dg.Failure(description=f"the LLM generator needs an API key: set {API_KEY_ENV}", allow_retries=False)
        settings = self.resolved()
        return build_client(
            base_url=settings.base_url,
            api_key=key,
            stats=stats,
            timeout=settings.timeout_seconds * TIMEOUT_CEILING_FACTOR,
        )


def llm_from_env() -> LLMClient:
    """The default resource: every setting from ``NOVITA_*`` at run time (see the module docstring)."""
    return LLMClient()

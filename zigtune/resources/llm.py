"""Novita's OpenAI-compatible chat API (or any other: vLLM, llama.cpp, Ollama — change ``base_url``)."""

from typing import Literal

import dagster as dg
import openai

from zigtune.generation.llm import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_TEMPERATURE,
    CallStats,
    GenerationSettings,
    build_client,
)
from zigtune.resources import env_overrides

NOVITA_BASE_URL = "https://api.novita.ai/v3/openai"
API_KEY_ENV = "NOVITA_API_KEY"


class LLMClient(dg.ConfigurableResource):
    """An OpenAI-compatible chat-completions endpoint, with limits, retries and prices.

    Retries are the ``openai`` client's own: 429 (waiting what ``Retry-After`` says, up to two
    minutes), 408/409, 5xx, timeouts and dropped connections, with exponential backoff between.
    """

    base_url: str = NOVITA_BASE_URL
    """The API root; e.g. ``http://localhost:8000/v1`` for a local vLLM server."""

    api_key: str | None = None
    """Set it with ``dg.EnvVar("NOVITA_API_KEY")``; never write a key into config. Empty: the LLM is off."""

    model: str = DEFAULT_MODEL
    """The model name as the server knows it (the original uses Llama 3.1 8B Instruct on Novita)."""

    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = DEFAULT_MAX_TOKENS
    """Reply budget per call (the original's 8192)."""

    max_concurrency: int = 16
    """Requests in flight at once, per run. Runs share the ``llm_api`` concurrency pool."""

    requests_per_minute: int = 1000
    """Client-side pacing of request starts; set it to your account's limit (0: no pacing)."""

    timeout_seconds: float = 120.0
    """Per request; a slower reply is abandoned and retried."""

    max_retries: int = 4

    structured_output: Literal["auto", "on", "off"] = "auto"
    """Ask for a JSON-schema reply. ``auto``: try it, fall back to JSONL if the server refuses."""

    input_price_per_million: float = 0.02
    """USD per million prompt tokens; Novita's list price for this model when written — check yours."""

    output_price_per_million: float = 0.05
    """USD per million completion tokens; Novita's list price for this model when written — check yours."""

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def generation_settings(self) -> GenerationSettings:
        return GenerationSettings(
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            structured_output=self.structured_output,
            max_concurrency=self.max_concurrency,
            requests_per_minute=self.requests_per_minute,
            input_price_per_million=self.input_price_per_million,
            output_price_per_million=self.output_price_per_million,
        )

    def client(self, stats: CallStats) -> openai.AsyncOpenAI:
        """A fresh async client (one per event loop) whose requests are counted into ``stats``."""
        if not self.api_key:
            raise dg.Failure(description=f"the LLM generator needs an API key: set {API_KEY_ENV}", allow_retries=False)
        return build_client(
            base_url=self.base_url,
            api_key=self.api_key,
            timeout=self.timeout_seconds,
            max_retries=self.max_retries,
            stats=stats,
        )


def llm_from_env() -> LLMClient:
    """The default resource: the key comes from ``NOVITA_API_KEY`` when that is set, else no LLM;
    ``NOVITA_BASE_URL`` and ``NOVITA_MODEL`` point it at another OpenAI-compatible server or model.

    ``dg.EnvVar`` fails a run when its variable is unset, so it is used only when the key exists.
    """
    return LLMClient(
        **env_overrides({"base_url": "NOVITA_BASE_URL", "model": "NOVITA_MODEL"}, {"api_key": API_KEY_ENV})
    )

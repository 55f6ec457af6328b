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
from collections.abc import Mapping
from typing import Any, Literal, get_origin

import dagster as dg
import openai
from pydantic import Field, PrivateAttr, ValidationError, create_model

from zigtune.generation.calls import CallSettings, CallStats, build_client
from zigtune.generation.concurrency import TIMEOUT_CEILING_FACTOR

NOVITA_BASE_URL = "https://api.novita.ai/v3/openai"
API_KEY_ENV = "NOVITA_API_KEY"
ENV_PREFIX = "NOVITA_"
#: How a pydantic error type reads in a one-line settings error.
_PROBLEMS = {
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "bool_parsing": "use true or false",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "finite_number": "must be a finite number",
}


class LLMSettingsError(ValueError):
    """A client setting (from the environment or run config) that cannot be used."""


class ClientSettings(CallSettings):
    """Every client setting, resolved: the call settings with Novita's defaults (its pacing and list prices), and
    the server's URL. ``structured_output`` is normalised (``on`` becomes ``json_schema``, ``text`` becomes ``off``).
    """

    base_url: str = NOVITA_BASE_URL
    """The API root (default: Novita's); e.g. ``http://localhost:8000/v1`` for a local vLLM server."""
    requests_per_minute: int = Field(1000, ge=0)
    """Client-side pacing of request starts: your account's limit (0: no pacing)."""
    input_price_per_million: float = Field(0.02, ge=0.0)
    """USD per million prompt tokens (Novita's list price for the default model when written)."""
    output_price_per_million: float = Field(0.05, ge=0.0)
    """USD per million completion tokens (Novita's list price when written)."""


def env_variable(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _problem(error: ValidationError) -> tuple[str, str]:
    """The first bad setting's name, and what is wrong with it in words."""
    first = error.errors()[0]
    context = first.get("ctx", {})
    if first["type"] == "value_error":
        return str(first["loc"][0]), str(context["error"])
    return str(first["loc"][0]), _PROBLEMS.get(first["type"], first["msg"]).format(**context)


def resolve_settings(explicit: Mapping[str, Any], environ: Mapping[str, str]) -> ClientSettings:
    """Each setting from ``explicit`` (run config) if given, else ``NOVITA_<FIELD>``, else the default; a bad
    value is one line naming where it came from."""
    given: dict[str, tuple[str, Any]] = {}  # setting -> (where it came from, the value as given)
    for name in ClientSettings.model_fields:
        if explicit.get(name) is not None:
            given[name] = (name, explicit[name])
        elif environ.get(env_variable(name), "").strip():
            given[name] = (env_variable(name), environ[env_variable(name)].strip())
    try:
        return ClientSettings(**{name: value for name, (_, value) in given.items()})
    except ValidationError as error:
        name, problem = _problem(error)
        where, value = given[name]
        raise LLMSettingsError(f"{where}={value!r}: {problem}") from None


def _shown(value: object) -> str:
    return f"``{value}``" if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _optional_fields() -> dict[str, Any]:
    """Each client setting as a config field that may be left unset (``None``: from the environment, else the
    default), described by the setting's own words, its default and its variable."""
    return {
        name: (
            (str if get_origin(spec.annotation) is Literal else spec.annotation) | None,  # aliases such as ``on``
            Field(None, description=f"{spec.description} Unset: {env_variable(name)}, else {_shown(spec.default)}."),
        )
        for name, spec in ClientSettings.model_fields.items()
    }


class _LLMClientResource(dg.ConfigurableResource):
    """An OpenAI-compatible chat-completions endpoint, with adaptive concurrency, retries and prices.

    Leave a field unset to take it from ``NOVITA_<FIELD>`` (``NOVITA_BASE_URL``, ``NOVITA_MODEL``,
    ``NOVITA_STRUCTURED_OUTPUT``, ``NOVITA_MAX_CONCURRENCY``, ...) or else the default; the key comes
    from ``NOVITA_API_KEY``. Setting one field in run config leaves the others as they were. The other
    fields are the settings of ``ClientSettings``, made into optional config fields below.
    """

    api_key: str | None = Field(
        None, description="Leave unset (read from NOVITA_API_KEY at run time) or dg.EnvVar(...); never a literal key."
    )

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
        return resolve_settings({name: getattr(self, name) for name in ClientSettings.model_fields}, os.environ)

    def _key(self) -> str | None:
        return self.api_key or os.environ.get(API_KEY_ENV) or None

    @property
    def has_key(self) -> bool:
        return bool(self._key())

    def call_settings(self) -> CallSettings:
        return self.resolved()

    def client(self, stats: CallStats) -> openai.AsyncOpenAI:
        """A fresh async client (one per event loop) whose requests are counted into ``stats``."""
        key = self._key()
        if not key:
            raise dg.Failure(description=f"the LLM generator needs an API key: set {API_KEY_ENV}", allow_retries=False)
        settings = self.resolved()
        return build_client(
            base_url=settings.base_url,
            api_key=key,
            requests=stats.requests,
            timeout=settings.timeout_seconds * TIMEOUT_CEILING_FACTOR,
        )


#: The ``llm`` resource: ``api_key`` and one optional field per client setting (see ``_optional_fields``).
LLMClient = create_model(
    "LLMClient",
    __base__=_LLMClientResource,
    __module__=__name__,
    __doc__=_LLMClientResource.__doc__,
    **_optional_fields(),
)


def llm_from_env() -> _LLMClientResource:
    """The default resource: every setting from ``NOVITA_*`` at run time (see the module docstring)."""
    return LLMClient()

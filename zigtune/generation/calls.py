"""One chat call to an OpenAI-compatible server: cached, paced, retried, adapted to what the server takes.

``LLMCaller.chat`` looks the request up in the content cache first (model, parameters, response
format and the full rendered messages are the key) and otherwise sends it under ``AdaptiveLimit``
(see ``concurrency.py``), writing the answer to the cache the moment it arrives, so a killed run
resumes without paying twice.

Retries are this module's, not the ``openai`` client's (built with ``max_retries=0``), because each
failure is a signal: a timeout, 429, 5xx or dropped connection shrinks the concurrency window, waits
(``Retry-After`` when the server gives one, else exponential backoff with jitter) and tries again, up
to ``max_retries`` times; other 4xx (a wrong key, an unknown model) fail at once.

Response format, in ``auto`` mode: ``json_schema``, then ``json_object``, then plain text (JSONL in
the prompt). A refusal of ``response_format`` is judged by the error, whatever its status code (one
server answers HTTP 500 "Input should be 'text' or 'json_object'"): a 400/422, or any error whose text
names the response format. It is not retried; the call moves one step down at once, and the step down
is remembered for the run and in the cache the moment the refusal comes, so no other call asks for the
refused format again. While the format is unknown, the first call probes it and the others wait for
its answer, but at most ``PROBE_GRACE_S``: a server refuses a format when it reads the request, before
it generates anything, so a probe that has not been refused by then was accepted, and a slow reply
must not hold every other section behind it.

A timeout is retried once (``MAX_TIMEOUT_RETRIES``): a reply that did not come within the timeout twice
will not come the third time either. When that happens the caller reports it once (``on_notice``),
naming the settings that change it. No dagster here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import openai
from pydantic import BaseModel, ConfigDict, Field, field_validator

from zigtune.generation.concurrency import AdaptiveLimit, ConcurrencyReport
from zigtune.generation.parsing import PAIRS_JSON_SCHEMA
from zigtune.storage.cache import ContentCache, cache_key

#: The original write-up's model and sampling settings (Etapa 2).
DEFAULT_MODEL = "meta-llama/llama-3.1-8b-instruct"
DEFAULT_TEMPERATURE = 0.7
#: The original asked for 8192; a reply of 2-3 pairs needs far less (the README's "Reply length" says
#: how this was measured), and a small model that rambles to the limit holds its slot for minutes.
DEFAULT_MAX_TOKENS = 2048
#: Stop sequences sent with every request: three blank lines in a row are in no JSON or JSONL reply
#: (newlines inside strings are escaped), but they are what a model emits when a JSON grammar lets it
#: pad whitespace until ``max_tokens``.
STOP_SEQUENCES = ("\n\n\n\n",)
#: How long other calls wait for the format probe's answer before going ahead with the current format.
PROBE_GRACE_S = 3.0
#: A timeout is retried this many times at most (other retryable failures: ``max_retries``).
MAX_TIMEOUT_RETRIES = 1

ResponseFormat = Literal["json_schema", "json_object", "text"]
#: What ``auto`` tries, best first.
FORMAT_LADDER: tuple[ResponseFormat, ...] = ("json_schema", "json_object", "text")
StructuredOutput = Literal["auto", "json_schema", "json_object", "off"]
STRUCTURED_OUTPUT_VALUES: dict[str, StructuredOutput] = {
    "auto": "auto",
    "json_schema": "json_schema",
    "on": "json_schema",
    "json_object": "json_object",
    "off": "off",
    "text": "off",
}

#: An error message that names the response format (whatever the status code that came with it).
FORMAT_REFUSAL = re.compile(
    r"response[_ ]?format|json[_ ]?schema|json[_ ]?object|structured[_ ]output|guided[_ ]|grammar"
    r"|input should be 'text'",
    re.IGNORECASE,
)
#: Statuses that mean "try again later" rather than "this request is wrong".
RETRYABLE_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
#: The failure reason of a call never sent because the run had already failed.
STOPPED = "stopped"
#: Error text kept in a reject row (the whole message, not its first line, up to this many characters).
MAX_ERROR_CHARS = 2000
MAX_RETRY_AFTER_S = 120.0
MAX_BACKOFF_S = 60.0


class CallSettings(BaseModel):
    """How calls are made: the model's parameters and the client's limits. Each setting is declared here, once:
    the ``llm`` resource's config fields are made from these (``zigtune/resources/llm.py``), and pydantic checks
    the values, whether they come from run config or from ``NOVITA_*`` variables."""

    # No inf or nan: an infinite timeout or backoff is no limit at all.
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)

    model: str = DEFAULT_MODEL
    """The model name as the server knows it (the original's Llama 3.1 8B Instruct)."""
    temperature: float = Field(DEFAULT_TEMPERATURE, ge=0.0)
    """Sampling temperature (the original's)."""
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1)
    """Reply budget per call: room for 2-3 pairs with their code (the original's 8192 let a model ramble)."""
    structured_output: StructuredOutput = "auto"
    """``auto``: json_schema, else json_object, else plain JSONL, probed once per server and model.
    ``json_schema`` (or ``on``), ``json_object`` or ``off`` (or ``text``: plain JSONL) to fix it."""
    max_concurrency: int = Field(16, ge=1)
    """Requests in flight at the start; fewer when the server shows it is overloaded."""
    adaptive_concurrency: bool = True
    """Back off on timeouts, 429s, 5xx and queueing; false keeps ``max_concurrency`` fixed."""
    requests_per_minute: int = Field(0, ge=0)
    """Client-side pacing of request starts (0: none; the server's 429s are still honoured)."""
    timeout_seconds: float = Field(120.0, gt=0.0)
    """Per request while nothing is known; it grows to 4x the slowest recent reply."""
    max_retries: int = Field(4, ge=0)
    """Retries of a 429, 5xx or dropped connection (a timeout is retried once)."""
    retry_backoff_seconds: float = Field(1.0, ge=0.0)
    """First wait before a retry when the server names none; doubles each time."""
    input_price_per_million: float = Field(0.0, ge=0.0)
    """USD per million prompt tokens."""
    output_price_per_million: float = Field(0.0, ge=0.0)
    """USD per million completion tokens."""

    @field_validator("structured_output", mode="before")
    @classmethod
    def _structured_output(cls, value: object) -> StructuredOutput:
        if not isinstance(value, str) or value not in STRUCTURED_OUTPUT_VALUES:
            raise ValueError("use auto, json_schema, json_object or off")
        return STRUCTURED_OUTPUT_VALUES[value]


@dataclass
class RequestCounts:
    """The HTTP requests of the calls: every one sent (first tries and retries alike), the retries, and the
    requests abandoned at their timeout (the dropped requests)."""

    sent: int = 0
    retries: int = 0
    timeouts: int = 0

    def on_request(self, request: Any) -> None:
        """httpx request hook: every request that goes out."""
        self.sent += 1


@dataclass
class TokenUsage:
    """The tokens the server billed for the calls made (an answer from the cache costs nothing)."""

    prompt: int = 0
    completion: int = 0

    def cost(self, settings: CallSettings) -> float:
        return (
            self.prompt * settings.input_price_per_million + self.completion * settings.output_price_per_million
        ) / 1_000_000


@dataclass
class CallStats:
    """What the LLM calls of one run cost and how they went."""

    calls_made: int = 0
    calls_cached: int = 0
    parse_repairs: int = 0
    """Replies that held no pair and were asked for again."""
    requests: RequestCounts = field(default_factory=RequestCounts)
    tokens: TokenUsage = field(default_factory=TokenUsage)
    failures: Counter[str] = field(default_factory=Counter)
    """Calls that still failed after their retries, by reason."""
    format_refusals: Counter[str] = field(default_factory=Counter)
    response_format: ResponseFormat | None = None
    response_format_source: str = ""
    concurrency: ConcurrencyReport | None = None
    timeout_notice: str | None = None
    """Said once when requests keep timing out: how long they were given, and which settings to change."""


class LLMCallError(Exception):
    """A chat call that failed for good; ``reason`` names the kind, the message is the server's whole error."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message[:MAX_ERROR_CHARS])
        self.reason = reason


class _NotSentError(Exception):
    """The run had failed by the time this request's turn came: it was not sent."""


class _FormatRefusedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


def build_client(
    *, base_url: str, api_key: str, requests: RequestCounts, timeout: float, max_retries: int = 0
) -> openai.AsyncOpenAI:
    """An ``AsyncOpenAI`` whose requests are counted into ``requests``.

    ``LLMCaller`` retries by itself and enforces a latency-sized timeout, so it wants ``max_retries=0``
    and ``timeout`` only as a backstop; callers that send requests directly (evaluation) may leave the
    retries to the ``openai`` client.
    """

    async def count(request: Any) -> None:
        requests.on_request(request)

    http_client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [count]})
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, http_client=http_client
    )


def error_text(error: BaseException) -> str:
    """The whole error: the client's message, the server's body, and the network cause when there is one."""
    parts = [str(error) or type(error).__name__]
    body = getattr(error, "body", None)
    if body is not None and str(body) not in parts[0]:
        parts.append(str(body))
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause) and str(cause) not in parts[0]:
        parts.append(f"{type(cause).__name__}: {cause}")
    return "\n".join(parts)[:MAX_ERROR_CHARS]


def is_format_refusal(status: int | None, message: str) -> bool:
    """A server refusing ``response_format``: a 400/422, or any error whose text names the format."""
    if status in (401, 403, 404, 429):
        return False
    return status in (400, 422) or bool(FORMAT_REFUSAL.search(message))


def retry_after_seconds(headers: Any) -> float | None:
    """What ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms`` asks for, capped."""
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms"):
            return min(MAX_RETRY_AFTER_S, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
        except ValueError:
            return min(MAX_RETRY_AFTER_S, max(0.0, parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError):
        return None


def failure_reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError | openai.APITimeoutError):
        return "api_timeout"
    if isinstance(error, openai.APIConnectionError):
        return "api_connection_error"
    if isinstance(error, openai.RateLimitError):
        return "api_rate_limited"
    if isinstance(error, openai.APIStatusError):
        return f"api_status_{error.status_code}"
    return f"api_{type(error).__name__}"


def timeout_hint(settings: CallSettings | None) -> str:
    """What to change when replies do not come in time."""
    if settings is None:
        return "raise NOVITA_TIMEOUT_SECONDS or lower NOVITA_MAX_TOKENS"
    return (
        f"raise NOVITA_TIMEOUT_SECONDS (now {settings.timeout_seconds:g}) or lower NOVITA_MAX_TOKENS "
        f"(now {settings.max_tokens}) so that a reply ends sooner"
    )


def describe_failure(reason: str, message: str, timeout_s: float, settings: CallSettings | None = None) -> str:
    """A few words a person reads in a one-line failure: ``connection refused``, ``HTTP 500: ...``."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if reason == "api_connection_error":
        lowered = message.lower()
        if "refused" in lowered or "all connection attempts failed" in lowered:
            return "connection refused"
        return f"connection error ({first[:160]})" if first else "connection error"
    if reason == "api_timeout":
        return f"no reply within {timeout_s:g} s ({timeout_hint(settings)})"
    if reason == "api_rate_limited":
        return "rate limited (HTTP 429) after every retry"
    if reason.startswith("api_status_"):
        status = reason.removeprefix("api_status_")
        hint = " (check NOVITA_API_KEY)" if status in ("401", "403") else ""
        hint = " (check NOVITA_BASE_URL and NOVITA_MODEL)" if status == "404" else hint
        return f"HTTP {status}{hint}: {first[:200]}"
    if reason == "format_refused":
        return (
            f"the server refuses the configured response format ({first[:160]}; "
            "set NOVITA_STRUCTURED_OUTPUT=auto to fall back)"
        )
    return f"{reason}: {first[:200]}"


class Pacer:
    """Spaces request starts at least ``60 / requests_per_minute`` seconds apart (0: no pacing)."""

    def __init__(self, requests_per_minute: int) -> None:
        self.interval = 60.0 / requests_per_minute if requests_per_minute > 0 else 0.0
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class FormatChoice:
    """The response format this server and model take; in ``auto``, probed once and remembered.

    A refusal lowers the format for every later call at once and writes it to the cache; a reply
    confirms it. While nothing is known, the first call probes and the others wait for it in ``turn``,
    ``PROBE_GRACE_S`` at most (see the module docstring).
    """

    def __init__(self, cache: ContentCache, base_url: str, settings: CallSettings) -> None:
        self.cache = cache
        self.key = cache_key("response_format", base_url, settings.model)
        self.auto = settings.structured_output == "auto"
        self.decided = asyncio.Event()
        self.probe_started: float | None = None
        if not self.auto:
            fixed = settings.structured_output
            self.current: ResponseFormat = "text" if fixed == "off" else fixed  # type: ignore[assignment]
            self.known, self.source = True, "configured"
        else:
            remembered = self.cache.get(self.key)
            if remembered in FORMAT_LADDER:
                self.current, self.known, self.source = remembered, True, "remembered"
            else:
                self.current, self.known, self.source = FORMAT_LADDER[0], False, "probed"
        if self.known:
            self.decided.set()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """The first call while the format is unknown probes it; the others wait for its first answer (a reply,
        a refusal of every format, or a failure) or ``PROBE_GRACE_S``, whichever comes first."""
        if self.decided.is_set():
            yield
            return
        if self.probe_started is None:
            self.probe_started = time.monotonic()
            try:
                yield
            finally:
                self.decided.set()  # whatever happened, the others stop waiting
            return
        remaining = self.probe_started + PROBE_GRACE_S - time.monotonic()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.decided.wait(), remaining)
        yield

    def worked(self, used: ResponseFormat) -> None:
        """A reply came back in ``used``: that is what this server takes (a lower step sticks)."""
        if not self.auto:
            return
        if FORMAT_LADDER.index(used) > FORMAT_LADDER.index(self.current) or not self.known:
            self.current = used
        if not self.known or self.cache.get(self.key) != self.current:
            self.cache.put(self.key, self.current)
        self.known = True
        self.decided.set()

    def refused(self, used: ResponseFormat) -> ResponseFormat | None:
        """The server refused ``used``: the format to try next, remembered now for every later call and run
        (``None`` when there is none: a fixed format, or plain text refused)."""
        if not self.auto or used == FORMAT_LADDER[-1]:
            return None
        lower = FORMAT_LADDER[FORMAT_LADDER.index(used) + 1]
        if FORMAT_LADDER.index(lower) > FORMAT_LADDER.index(self.current):
            self.current = lower
            self.cache.put(self.key, lower)
        return self.current

    def failed_otherwise(self) -> None:
        """The probe failed for another reason (the server is down): stop holding the other calls."""
        self.decided.set()


MessagesFor = Callable[[ResponseFormat], list[dict[str, str]]]


class LLMCaller:
    """Cached, bounded, paced, retried chat calls; the answer dict is what the cache stores."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        cache: ContentCache,
        settings: CallSettings,
        stats: CallStats,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.on_notice = on_notice
        self.cache = cache
        self.settings = settings
        self.stats = stats
        self.base_url = str(client.base_url).rstrip("/")
        self.limit = AdaptiveLimit(
            settings.max_concurrency, settings.timeout_seconds, adaptive=settings.adaptive_concurrency
        )
        self.pacer = Pacer(settings.requests_per_minute)
        self.format = FormatChoice(cache, self.base_url, settings)
        self.stopped = False
        self._sleep = sleep
        self._request_ids: Iterator[int] = itertools.count()

    def stop(self) -> None:
        """No new request goes out after this (calls in flight finish and are cached)."""
        self.stopped = True

    def finish(self) -> None:
        """Record the format and concurrency outcome in the stats."""
        self.stats.response_format = self.format.current if self.format.known else None
        self.stats.response_format_source = self.format.source
        self.stats.concurrency = self.limit.report()

    def request(self, messages: list[dict[str, str]], response_format: ResponseFormat) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "stop": list(STOP_SEQUENCES),
        }
        if response_format == "json_schema":
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "qa_pairs", "schema": PAIRS_JSON_SCHEMA, "strict": True},
            }
        elif response_format == "json_object":
            request["response_format"] = {"type": "json_object"}
        return request

    async def chat(self, messages_for: MessagesFor, priority: int = 0) -> dict[str, Any]:
        """One chat answer, from the cache or the server; ``messages_for(format)`` renders the prompt
        for the response format in use. Lower ``priority`` values go first."""
        current = self.format.current
        first = self.request(messages_for(current), current)
        first_key = cache_key("chat.completions", first)
        cached = self.cache.get(first_key)
        if cached is not None:
            self.stats.calls_cached += 1
            return cached
        async with self.format.turn():
            used = self.format.current
            while True:
                request = first if used == current else self.request(messages_for(used), used)
                key = first_key if used == current else cache_key("chat.completions", request)
                try:
                    answer = await self._cached_call(request, key, priority)
                except _FormatRefusedError as refusal:
                    self.stats.format_refusals[used] += 1
                    lower = self.format.refused(used)
                    if lower is None:
                        self.stats.failures["format_refused"] += 1
                        raise LLMCallError("format_refused", f"response_format {used}: {refusal}") from None
                    used = lower
                    continue
                except LLMCallError:
                    if not self.format.known:
                        self.format.failed_otherwise()
                    raise
                self.format.worked(used)
                return answer

    async def _cached_call(self, request: dict[str, Any], key: str, priority: int) -> dict[str, Any]:
        cached = self.cache.get(key)
        if cached is not None:  # another call with the same request finished first
            self.stats.calls_cached += 1
            return cached
        self.stats.calls_made += 1
        completion = await self._send_with_retries(request, priority)
        usage = completion.usage
        choice = completion.choices[0] if completion.choices else None
        answer = {
            "content": (choice.message.content or "") if choice else "",
            "finish_reason": choice.finish_reason if choice else None,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "format": request.get("response_format", {}).get("type", "text"),
        }
        self.stats.tokens.prompt += answer["prompt_tokens"]
        self.stats.tokens.completion += answer["completion_tokens"]
        self.cache.put(key, answer)
        return answer

    async def _send_with_retries(self, request: dict[str, Any], priority: int) -> Any:
        structured = "response_format" in request
        timeouts = 0
        reason, text = "", ""
        for attempt in range(self.settings.max_retries + 1):
            started = time.monotonic()
            try:
                return await self._send_once(request, priority, retry=attempt > 0)
            except _NotSentError:
                if not attempt:
                    raise LLMCallError(STOPPED, "not sent: the run had already failed") from None
                self.stats.failures[reason] += 1  # sent and failed; not retried because the run has failed
                raise LLMCallError(reason, text) from None
            except (TimeoutError, openai.APIError) as error:
                failure = error
            reason = failure_reason(failure)
            status = getattr(failure, "status_code", None)
            text = error_text(failure)
            if structured and status is not None and is_format_refusal(status, text):
                raise _FormatRefusedError(text)
            retryable = status is None or status in RETRYABLE_STATUSES
            if retryable:
                signal = (
                    "timeout"
                    if reason == "api_timeout"
                    else "429"
                    if status == 429
                    else "5xx"
                    if status
                    else "connection"
                )
                self.limit.on_overload(started, signal)
            if reason == "api_timeout":
                timeouts += 1
                retryable = retryable and timeouts <= MAX_TIMEOUT_RETRIES
            if not retryable or attempt == self.settings.max_retries:
                self.stats.failures[reason] += 1
                if reason == "api_timeout":
                    self._timeouts_keep_firing()
                raise LLMCallError(reason, text)
            response = getattr(failure, "response", None)
            wait = retry_after_seconds(response.headers if response is not None else None)
            backoff = self.settings.retry_backoff_seconds * 2**attempt * (0.5 + random.random())
            await self._sleep(wait if wait is not None else min(MAX_BACKOFF_S, backoff))
        raise AssertionError("unreachable")

    def _timeouts_keep_firing(self) -> None:
        """Say once, for the run, that replies do not come in time and what to change."""
        if self.stats.timeout_notice is not None:
            return
        self.stats.timeout_notice = (
            f"LLM requests keep timing out: a call got no reply within {self.limit.timeout():g} s "
            f"({self.stats.requests.timeouts} requests timed out so far) and was given up; "
            f"{timeout_hint(self.settings)}"
        )
        if self.on_notice is not None:
            self.on_notice(self.stats.timeout_notice)

    async def _send_once(self, request: dict[str, Any], priority: int, *, retry: bool) -> Any:
        """One request under the concurrency window and the latency-sized timeout; ``_NotSentError`` when the
        run was stopped before its turn came."""
        if self.stopped:
            raise _NotSentError
        await self.limit.acquire(priority)
        request_id = next(self._request_ids)
        try:
            await self.pacer.wait()
            if self.stopped:
                raise _NotSentError
            if retry:
                self.stats.requests.retries += 1
            started = time.monotonic()
            timeout = self.limit.timeout()
            try:
                async with asyncio.timeout(timeout) as deadline:
                    self.limit.watch(request_id, started, deadline)
                    completion = await self.client.chat.completions.create(**request)
            except TimeoutError:
                self.stats.requests.timeouts += 1
                raise TimeoutError(f"no reply within {time.monotonic() - started:.1f} s (timeout)") from None
            except openai.APITimeoutError:
                self.stats.requests.timeouts += 1
                raise
        finally:
            self.limit.unwatch(request_id)
            self.limit.release()
        tokens = completion.usage.completion_tokens if completion.usage else 0
        self.limit.on_reply(started, time.monotonic() - started, tokens)
        return completion

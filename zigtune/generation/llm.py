"""LLM generation of instruction/response pairs: many sections in flight, every answer cached.

``generate_pairs`` runs one coroutine per section over one event loop. Each chat call goes through
``LLMCaller``: a content-addressed cache lookup first (model, parameters and the full rendered
messages are the key), else a request under a bounded semaphore and an optional requests-per-minute
pacer; the answer is written to the cache the moment it arrives, so a killed run resumes without
paying for it twice. Retries (429 with ``Retry-After``, 5xx, timeouts, dropped connections) are the
``openai`` client's own; an httpx request hook counts them. Sections longer than
``long_section_chars`` get the original's continuation rounds. No dagster here.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from zigtune.generation.pairs import pair_row, reject_row
from zigtune.generation.parsing import PAIRS_JSON_SCHEMA, Problem, parse_reply
from zigtune.generation.prompts import PromptTemplates
from zigtune.storage.cache import ContentCache, cache_key

#: The original write-up's model, sampling settings and thresholds (Etapa 2).
DEFAULT_MODEL = "meta-llama/llama-3.1-8b-instruct"
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 8192
#: The original only sends sections "with more than 200 characters".
MIN_SECTION_CHARS = 200
#: Sections "longer than 5000 characters" get continuation rounds, "up to 3 iterations" in all.
LONG_SECTION_CHARS = 5000
MAX_ROUNDS = 3

StructuredOutput = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class GenerationSettings:
    model: str = DEFAULT_MODEL
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = DEFAULT_MAX_TOKENS
    min_section_chars: int = MIN_SECTION_CHARS
    long_section_chars: int = LONG_SECTION_CHARS
    max_rounds: int = MAX_ROUNDS
    structured_output: StructuredOutput = "auto"
    max_concurrency: int = 16
    requests_per_minute: int = 0
    """0: no client-side pacing (the server's 429s are still honoured)."""
    input_price_per_million: float = 0.0
    output_price_per_million: float = 0.0


@dataclass(frozen=True)
class SectionInput:
    section_id: str
    breadcrumb: str
    text: str


@dataclass
class CallStats:
    """What the LLM calls of one run cost and how they went."""

    calls_made: int = 0
    calls_cached: int = 0
    requests_sent: int = 0
    retries: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    structured_output_used: bool | None = None

    def on_request(self, request: Any) -> None:
        """httpx request hook: the openai client marks each retry with ``x-stainless-retry-count``."""
        self.requests_sent += 1
        if request.headers.get("x-stainless-retry-count", "0") != "0":
            self.retries += 1

    def cost(self, settings: GenerationSettings) -> float:
        return (
            self.prompt_tokens * settings.input_price_per_million
            + self.completion_tokens * settings.output_price_per_million
        ) / 1_000_000


@dataclass
class GenerationResult:
    pairs: list[dict[str, str | None]]
    rejects: list[dict[str, str]]
    stats: CallStats
    sections_seen: int
    sections_skipped: int
    wall_seconds: float


class LLMCallError(Exception):
    """A chat call that still failed after the client's retries; ``reason`` names the kind."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def build_client(
    *, base_url: str, api_key: str, timeout: float, max_retries: int, stats: CallStats
) -> openai.AsyncOpenAI:
    """An ``AsyncOpenAI`` whose retries honour ``Retry-After`` and are counted into ``stats``."""
    http_client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [_async_hook(stats.on_request)]})
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, http_client=http_client
    )


def _async_hook(function: Callable[[Any], None]) -> Callable[[Any], Any]:
    async def hook(request: Any) -> None:
        function(request)

    return hook


def _failure_reason(error: Exception) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "api_timeout"
    if isinstance(error, openai.APIConnectionError):
        return "api_connection_error"
    if isinstance(error, openai.RateLimitError):
        return "api_rate_limited"
    if isinstance(error, openai.APIStatusError):
        return f"api_status_{error.status_code}"
    return f"api_{type(error).__name__}"


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


class PriorityGate:
    """A bounded semaphore whose waiters enter lowest ``priority`` first (FIFO among equals).

    Later rounds of a section's chain (continuations, repairs) wait ahead of first rounds, so a
    long section's chain does not trail behind every other section at the end of a run.
    """

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self.sequence = 0

    async def acquire(self, priority: int) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sequence += 1
        heapq.heappush(self.waiters, (priority, self.sequence, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self.waiters:
            _, _, future = heapq.heappop(self.waiters)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1


class LLMCaller:
    """Cached, bounded, paced chat calls; the answer dict is what the cache stores."""

    def __init__(
        self, client: openai.AsyncOpenAI, cache: ContentCache, settings: GenerationSettings, stats: CallStats
    ) -> None:
        self.client = client
        self.cache = cache
        self.settings = settings
        self.stats = stats
        self.gate = PriorityGate(settings.max_concurrency)
        self.pacer = Pacer(settings.requests_per_minute)
        # Whether this server takes a json_schema response_format, remembered across runs so an
        # unchanged re-run against a server without it still makes no call.
        self.capability_key = cache_key("supports_json_schema", str(client.base_url), settings.model)
        remembered = cache.get(self.capability_key)
        self.capability_saved = remembered is True
        if settings.structured_output == "auto":
            self.structured = remembered if isinstance(remembered, bool) else True
        else:
            self.structured = settings.structured_output == "on"

    def _request(self, messages: list[dict[str, str]], structured: bool) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }
        if structured:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "qa_pairs", "schema": PAIRS_JSON_SCHEMA, "strict": True},
            }
        return request

    async def chat(self, messages: list[dict[str, str]], priority: int = 0) -> dict[str, Any]:
        """One chat answer, from the cache or the server; lower ``priority`` values go first."""
        structured = self.structured
        try:
            return await self._cached_call(self._request(messages, structured), priority)
        except LLMCallError as failure:
            fallback = structured and self.settings.structured_output == "auto"
            if not (fallback and failure.reason in ("api_status_400", "api_status_422")):
                raise
        answer = await self._cached_call(self._request(messages, False), priority)
        # Only a plain request that then works proves the schema was what the server refused.
        self.structured = False
        self.cache.put(self.capability_key, False)
        return answer

    async def _cached_call(self, request: dict[str, Any], priority: int) -> dict[str, Any]:
        key = cache_key("chat.completions", request)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.calls_cached += 1
            return cached
        await self.gate.acquire(priority)
        try:
            await self.pacer.wait()
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            self.stats.calls_made += 1
            try:
                completion = await self.client.chat.completions.create(**request)
            except openai.APIError as error:
                reason = _failure_reason(error)
                self.stats.failures[reason] += 1
                raise LLMCallError(reason, str(error).splitlines()[0][:300]) from None
            finally:
                self.stats.in_flight -= 1
        finally:
            self.gate.release()
        usage = completion.usage
        choice = completion.choices[0] if completion.choices else None
        answer = {
            "content": (choice.message.content or "") if choice else "",
            "finish_reason": choice.finish_reason if choice else None,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "structured": "response_format" in request,
        }
        self.stats.prompt_tokens += answer["prompt_tokens"]
        self.stats.completion_tokens += answer["completion_tokens"]
        if answer["structured"] and self.settings.structured_output == "auto" and not self.capability_saved:
            self.cache.put(self.capability_key, True)
            self.capability_saved = True
        self.cache.put(key, answer)
        return answer


async def _generate_section(
    section: SectionInput,
    caller: LLMCaller,
    templates: PromptTemplates,
    pairs: list[dict[str, str | None]],
    rejects: list[dict[str, str]],
) -> None:
    settings = caller.settings
    rounds = settings.max_rounds if len(section.text) > settings.long_section_chars else 1
    last_response: str | None = None

    def reject(problem: Problem) -> None:
        rejects.append(
            reject_row(
                section_id=section.section_id,
                breadcrumb=section.breadcrumb,
                generator="llm",
                model=settings.model,
                reason=problem.reason,
                raw=problem.raw,
            )
        )

    for round_number in range(rounds):
        prompt = (
            templates.render_first_round(section.text)
            if last_response is None
            else templates.render_continuation(last_response)
        )
        messages = [{"role": "system", "content": templates.system}, {"role": "user", "content": prompt}]
        try:
            answer = await caller.chat(messages, priority=-round_number)
            parsed = parse_reply(answer["content"])
            if not parsed.pairs:
                caller.stats.repairs += 1
                for problem in parsed.problems:
                    reject(problem)
                repair = [
                    *messages,
                    {"role": "assistant", "content": answer["content"]},
                    {"role": "user", "content": templates.render_repair(parsed.first_reason or "no pairs")},
                ]
                parsed = parse_reply((await caller.chat(repair, priority=-round_number - 1))["content"])
        except LLMCallError as failure:
            reject(Problem(failure.reason, str(failure)))
            return
        for problem in parsed.problems:
            reject(problem)
        for pair in parsed.pairs:
            pairs.append(
                pair_row(
                    section_id=section.section_id,
                    breadcrumb=section.breadcrumb,
                    instruction=pair.instruction,
                    response=pair.response,
                    generator="llm",
                    model=settings.model,
                    template_hash=templates.hash,
                )
            )
        last_response = answer["content"]


async def generate_pairs(
    sections: Sequence[SectionInput],
    *,
    client: openai.AsyncOpenAI,
    cache: ContentCache,
    templates: PromptTemplates,
    settings: GenerationSettings,
    stats: CallStats | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Pairs from every section over ``min_section_chars``, in section order whatever order calls end in."""
    stats = stats or CallStats()
    started = time.monotonic()
    caller = LLMCaller(client, cache, settings, stats)
    eligible = [s for s in sections if len(s.text.strip()) > settings.min_section_chars]
    per_section: list[tuple[list[dict[str, str | None]], list[dict[str, str]]]] = [([], []) for _ in eligible]
    done = 0

    async def run(index: int) -> None:
        nonlocal done
        await _generate_section(eligible[index], caller, templates, *per_section[index])
        done += 1
        if progress:
            progress(done, len(eligible))

    # Long sections first: their rounds are a chain, so they should not be the last to start.
    order = sorted(range(len(eligible)), key=lambda i: len(eligible[i].text) <= settings.long_section_chars)
    await asyncio.gather(*(run(i) for i in order))
    stats.structured_output_used = caller.structured
    return GenerationResult(
        pairs=[row for section_pairs, _ in per_section for row in section_pairs],
        rejects=[row for _, section_rejects in per_section for row in section_rejects],
        stats=stats,
        sections_seen=len(sections),
        sections_skipped=len(sections) - len(eligible),
        wall_seconds=time.monotonic() - started,
    )

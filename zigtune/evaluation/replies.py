"""The model's replies to the tasks, from two backends behind one interface: ``generate(stamps, prompts, decoding)``.

- ``hf``: transformers + peft, in a worker process (``zigtune.evaluation.worker``, started by the training
  executor's ``run_worker``). The adapter directory is loaded once with ``training.inference.load_adapter``;
  the fine-tuned answers come from the adapter, the base answers from the same weights with the adapter
  switched off (``disable_adapter``), so both are asked with the adapter's tokenizer and the training chat
  template (``training.inference.chat_prompt``). Batched, left-padded, longest prompts first; greedy unless a
  temperature is set; stops at ``<|im_end|>``. :func:`generate_hf` is that side; the Dagster side lives in
  the asset module.
- ``openai``: any OpenAI-compatible chat-completions server (vLLM serving the base with the adapter as a
  LoRA module, llama.cpp, Ollama...). The server applies its own chat template: serve the adapter's
  tokenizer to keep it the training one. One request per sample, ``n`` samples with seeds ``seed + i``. Every
  answer is kept in the project's content cache (``data/cache/llm``), keyed by the server, the model (and the
  adapter it stands for), the messages and the decoding, so a re-run or a resumed run asks nothing twice.

Both log progress lines (done/total, rate, ETA) about every 10%.

No dagster here; torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from zigtune.evaluation.decoding import Decoding
from zigtune.evaluation.progress import Progress
from zigtune.evaluation.samples import BASE, FINE_TUNED, Completion, ModelStamp
from zigtune.storage.cache import ContentCache, cache_key


@dataclass(frozen=True)
class Prompt:
    task_id: str
    messages: list[dict[str, str]]


class GenerationError(RuntimeError):
    """Generation cannot go on (an unreachable server, a model that cannot be loaded); one line."""


@dataclass
class GenerationStats:
    """What generation cost, per role: seconds, new tokens (when the backend counts them), requests."""

    seconds: dict[str, float] = field(default_factory=dict)
    new_tokens: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cached: int = 0
    device: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class GenerationBackend(Protocol):
    """Answers every prompt ``decoding.num_samples`` times for each role in ``stamps``."""

    name: str

    def generate(
        self, stamps: dict[str, ModelStamp], prompts: list[Prompt], decoding: Decoding
    ) -> tuple[list[Completion], GenerationStats]: ...


# -- hf: runs inside the worker process ---------------------------------------------------------------------


def _stop_token_ids(tokenizer: Any, decoding: Decoding) -> list[int]:
    ids = [tokenizer.eos_token_id]
    for text in decoding.stop:
        token = tokenizer.convert_tokens_to_ids(text)
        if isinstance(token, int) and token != tokenizer.unk_token_id:
            ids.append(token)
    return sorted({i for i in ids if i is not None})


def generate_batched(
    model: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    decoding: Decoding,
    role: str,
    batch_size: int,
    progress: Progress | None = None,
) -> tuple[list[Completion], int]:
    """Every prompt answered ``num_samples`` times; returns the completions and the new tokens generated.

    Prompts are batched longest first (less padding) and left-padded; a reply ends at the first stop token
    (``<|im_end|>`` or EOS), or is marked ``length`` when it used all ``max_new_tokens``.
    """
    import torch

    from zigtune.training.inference import chat_prompt

    tokenizer.padding_side = "left"
    stop_ids = _stop_token_ids(tokenizer, decoding)
    texts = [chat_prompt(tokenizer, prompt.messages) for prompt in prompts]
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    options: dict[str, Any] = {"max_new_tokens": decoding.max_new_tokens, "do_sample": not decoding.greedy}
    if not decoding.greedy:
        options |= {
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "num_return_sequences": decoding.num_samples,
        }
    else:  # unset sampling knobs a model's generation_config may carry, so greedy stays greedy and quiet
        options |= {"temperature": None, "top_p": None, "top_k": None}
    torch.manual_seed(decoding.seed)
    completions: list[Completion] = []
    new_tokens = 0
    per_prompt = decoding.num_samples if not decoding.greedy else 1
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = tokenizer([texts[i] for i in chosen], return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(model.device)
        with torch.inference_mode():
            output = model.generate(**batch, **options, eos_token_id=stop_ids, pad_token_id=tokenizer.pad_token_id)
        generated = output[:, batch["input_ids"].shape[1] :].tolist()
        for row, tokens in enumerate(generated):
            prompt = prompts[chosen[row // per_prompt]]
            end = next((i for i, token in enumerate(tokens) if token in stop_ids), None)
            kept = tokens if end is None else tokens[:end]
            new_tokens += len(kept) + (end is not None)
            text = tokenizer.decode(kept, skip_special_tokens=True)
            reason = "stop" if end is not None else "length"
            completions.append(Completion(prompt.task_id, role, row % per_prompt, text, reason))
        if progress is not None:
            progress.advance(len(chosen))
    return completions, new_tokens


def generate_hf(params: dict[str, Any], log: Any = print) -> dict[str, Any]:
    """The worker's job: load the adapter once, answer as each role asked; JSON in, JSON out.

    ``params``: ``adapter_dir``, ``roles`` (subset of ``base``/``fine_tuned``), ``prompts`` (``task_id``,
    ``messages``), ``decoding`` (``Decoding.as_dict``), ``batch_size``, ``load_in_4bit``.
    """
    import torch

    from zigtune.training.inference import load_adapter

    decoding = Decoding.from_dict(params["decoding"]).validate()
    prompts = [Prompt(p["task_id"], p["messages"]) for p in params["prompts"]]
    started = time.perf_counter()
    loaded = load_adapter(params["adapter_dir"], backend="hf", load_in_4bit=bool(params.get("load_in_4bit")))
    log(f"loaded {params['adapter_dir']} on {loaded.device} in {time.perf_counter() - started:.1f} s")
    stats = GenerationStats(device=loaded.device)
    if prompts:  # one short untimed call, so the first role's speed is not charged with CUDA's start-up
        generate_batched(loaded.model, loaded.tokenizer, prompts[:1], Decoding(max_new_tokens=2), FINE_TUNED, 1)
    completions: list[Completion] = []
    for role in params["roles"]:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        progress = Progress(f"{role}: generating", len(prompts), log, unit="prompts")
        if role == BASE:
            with loaded.model.disable_adapter():
                answered, tokens = generate_batched(
                    loaded.model, loaded.tokenizer, prompts, decoding, role, params["batch_size"], progress
                )
        elif role == FINE_TUNED:
            answered, tokens = generate_batched(
                loaded.model, loaded.tokenizer, prompts, decoding, role, params["batch_size"], progress
            )
        else:
            raise ValueError(f"unknown role {role!r}")
        stats.seconds[role] = round(time.perf_counter() - started, 3)
        stats.new_tokens[role] = tokens
        completions += answered
        log(
            f"{role}: {len(answered)} completions, {tokens} new tokens in {stats.seconds[role]:.1f} s "
            f"({tokens / max(stats.seconds[role], 1e-9):.0f} tokens/s)"
        )
    return {
        "completions": [c.__dict__ for c in completions],
        "stats": stats.as_dict(),
        "peak_vram_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else 0.0,
    }


def completions_from_json(result: dict[str, Any]) -> tuple[list[Completion], GenerationStats]:
    stats = result.get("stats") or {}
    return [Completion(**c) for c in result["completions"]], GenerationStats(
        seconds=stats.get("seconds", {}),
        new_tokens=stats.get("new_tokens", {}),
        requests=stats.get("requests", 0),
        cached=stats.get("cached", 0),
        device=stats.get("device", ""),
    )


# -- openai: any OpenAI-compatible server --------------------------------------------------------------------


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server, ``concurrency`` requests at a time, cached."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        concurrency: int = 8,
        timeout_s: float = 300.0,
        max_retries: int = 3,
        cache: ContentCache | None = None,
        log: Callable[[str], object] | None = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.cache = cache
        self.log = log

    def generate(
        self, stamps: dict[str, ModelStamp], prompts: list[Prompt], decoding: Decoding
    ) -> tuple[list[Completion], GenerationStats]:
        decoding.validate()
        return asyncio.run(self._generate(stamps, prompts, decoding))

    def request(self, stamp: ModelStamp, prompt: Prompt, decoding: Decoding, sample: int) -> dict[str, Any]:
        """The chat-completions request of one sample."""
        request: dict[str, Any] = {
            "model": stamp.model,
            "messages": prompt.messages,
            "max_tokens": decoding.max_new_tokens,
            "stop": list(decoding.stop),
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
        }
        if not decoding.greedy:
            request["seed"] = decoding.seed + sample
        return request

    def cache_key(self, stamp: ModelStamp, request: dict[str, Any]) -> str:
        # The adapter is part of the key: a new adapter served under the same name must not get old answers.
        return cache_key("chat.completions", request, {"server": self.base_url, "adapter": stamp.adapter})

    async def _generate(
        self, stamps: dict[str, ModelStamp], prompts: list[Prompt], decoding: Decoding
    ) -> tuple[list[Completion], GenerationStats]:
        import openai

        from zigtune.generation.calls import RequestCounts, build_client

        requests = RequestCounts()
        client = build_client(
            base_url=self.base_url,
            api_key=self.api_key,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            requests=requests,
        )
        semaphore = asyncio.Semaphore(self.concurrency)
        stats = GenerationStats(device=f"server {self.base_url}")
        tokens: dict[str, int] = {}
        progress = Progress("generating", len(stamps) * len(prompts) * decoding.num_samples, self.log, "replies")

        async def ask(role: str, request: dict[str, Any]) -> dict[str, Any]:
            async with semaphore:
                try:
                    reply = await client.chat.completions.create(**request)
                except openai.OpenAIError as error:
                    first = (str(error).splitlines() or [""])[0][:200]
                    raise GenerationError(
                        f"the OpenAI-compatible server at {self.base_url} failed for model {request['model']!r} "
                        f"({type(error).__name__}: {first}); check the server and the model names"
                    ) from None
            choice = reply.choices[0]
            return {
                "content": choice.message.content or "",
                "finish_reason": "length" if choice.finish_reason == "length" else "stop",
                "completion_tokens": reply.usage.completion_tokens if reply.usage is not None else 0,
            }

        async def one(role: str, prompt: Prompt, sample: int) -> Completion:
            request = self.request(stamps[role], prompt, decoding, sample)
            key = self.cache_key(stamps[role], request)
            answer = self.cache.get(key) if self.cache is not None else None
            if answer is not None:
                stats.cached += 1
            else:
                answer = await ask(role, request)
                tokens[role] = tokens.get(role, 0) + answer["completion_tokens"]
                if self.cache is not None:
                    self.cache.put(key, answer)
            progress.advance()
            return Completion(prompt.task_id, role, sample, answer["content"], answer["finish_reason"])

        completions: list[Completion] = []
        try:
            for role in stamps:
                started = time.perf_counter()
                samples = range(decoding.num_samples)
                completions += await asyncio.gather(*(one(role, p, s) for p in prompts for s in samples))
                stats.seconds[role] = round(time.perf_counter() - started, 3)
        finally:
            await client.close()
        stats.new_tokens = tokens
        stats.requests = requests.sent
        return completions, stats

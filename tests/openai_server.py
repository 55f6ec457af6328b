"""A scriptable OpenAI-compatible chat-completions server for tests and benchmarks.

A real aiohttp server on 127.0.0.1 (its own event loop in a background thread), speaking the
``POST /v1/chat/completions`` protocol the ``openai`` client uses. Each test scripts it:

- ``server.queue(Reply(...), ...)`` answers the next requests in order (status, content, delay,
  headers such as ``Retry-After``), then falls back to the responder;
- ``server.responder`` (a function of the request body) answers everything else; the default one
  returns two well-formed pairs derived from the prompt, as ``{"pairs": [...]}`` when the request
  asks for a ``json_schema`` response format and the server supports it, else as JSONL;
- ``latency`` delays every reply; ``slots=1`` makes it a server that works on one request at a time
  (the others wait their turn, as llama.cpp with one slot does), so latency grows with the queue;
- ``refuse`` maps a ``response_format`` type to the (status, message) the server answers it with, e.g.
  ``{"json_schema": (500, LLAMA_CPP_REFUSAL)}`` as llama-cpp-python's server does;
  ``supports_json_schema=False`` is ``{"json_schema": (400, ...)}``;
- ``Reply(rambling=True)`` is a small model that does not stop: it writes ``max_tokens`` tokens of
  whitespace-padded nonsense at ``seconds_per_token``, stopping early at the request's first ``stop``
  sequence it writes, as a real server does (``finish_reason`` ``length`` or ``stop``).

It records every request (body and headers), counts requests in flight and their peak, counts the
requests whose client had gone by the time the reply was ready (``abandoned``: dropped work), and
lets a test wait for a condition without sleeping (``wait_until``). Run it alone with
``python tests/openai_server.py --latency 0.3``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

#: What llama-cpp-python's server answers to ``response_format: json_schema`` (its request model's pydantic
#: error, as HTTP 500).
LLAMA_CPP_REFUSAL = (
    "1 validation error for CreateChatCompletionRequest\n"
    "response_format.type\n"
    "  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)
#: The rambling model's output, one token at a time: a JSON-ish start, then padding a JSON grammar allows.
RAMBLE_START = ('{"pairs": [{"instruction": "Explain', " the", " section", '."', ", ")
RAMBLE_PAD = "\n"


@dataclass
class Reply:
    """One scripted answer. ``content=None`` means: whatever the default responder would say; with an
    error ``status``, ``content`` is the error's message."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    rambling: bool = False
    seconds_per_token: float = 0.0


@dataclass
class RecordedRequest:
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float

    @property
    def prompt(self) -> str:
        return self.body["messages"][-1]["content"]

    @property
    def response_format(self) -> str:
        return (self.body.get("response_format") or {}).get("type", "text")

    @property
    def structured(self) -> bool:
        return self.response_format == "json_schema"


def default_pairs(prompt: str) -> list[dict[str, str]]:
    """Two pairs whose instructions depend on the prompt: one concept, one code (the same program each time,
    so a test that checks the code compiles it once)."""
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return [
        {"instruction": f"What does this section explain? ({tag})", "response": f"It explains topic {tag}."},
        {
            "instruction": f"Write a Zig program for topic {tag}.",
            "response": '```zig\nconst std = @import("std");\n\npub fn main() void {\n'
            '    std.debug.print("hello from the test server\\n", .{});\n}\n```',
        },
    ]


def jsonl(pairs: list[dict[str, str]]) -> str:
    return "\n".join(json.dumps(pair) for pair in pairs)


class OpenAIServer:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        supports_json_schema: bool = True,
        api_key: str | None = None,
        slots: int | None = None,
        refuse: dict[str, tuple[int, str]] | None = None,
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.api_key = api_key
        self.refuse = dict(refuse or {})
        if not supports_json_schema:
            self.refuse.setdefault("json_schema", (400, "response_format json_schema is not supported by this model"))
        self.slots = slots
        self.abandoned = 0
        self.requested_port = port
        self.script: deque[Reply] = deque()
        self.responder: Callable[[RecordedRequest], Reply] = self.default_reply
        self.requests: list[RecordedRequest] = []
        self.answered = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def default_reply(self, request: RecordedRequest) -> Reply:
        pairs = default_pairs(request.prompt)
        if request.response_format in ("json_schema", "json_object"):
            return Reply(json.dumps({"pairs": pairs}))
        return Reply(jsonl(pairs))

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Block until ``condition()`` holds (checked at every request event) or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(condition, timeout=timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self._slot = asyncio.Semaphore(self.slots) if self.slots else None
        site = web.TCPSite(self._runner, "127.0.0.1", self.requested_port)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _chat(self, http_request: web.Request) -> web.Response:
        body = await http_request.json()
        request = RecordedRequest(body, dict(http_request.headers), time.monotonic())
        self.requests.append(request)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self._notify()
        try:
            return await self._answer(http_request, request)
        finally:
            self.in_flight -= 1
            self._notify()

    async def _answer(self, http_request: web.Request, request: RecordedRequest) -> web.Response:
        if self.api_key is not None and http_request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid api key", "authentication_error")
        if request.response_format in self.refuse:  # a server validates the request before it queues it
            status, message = self.refuse[request.response_format]
            return _error(status, message, "invalid_request_error")
        reply = self.script.popleft() if self.script else self.responder(request)
        if self._slot is not None:
            async with self._slot:  # one request worked on at a time per slot; the rest wait their turn
                await asyncio.sleep(self.latency + reply.delay)
        else:
            await asyncio.sleep(self.latency + reply.delay)
        if http_request.transport is None or http_request.transport.is_closing():
            self.abandoned += 1  # the client gave up: this work is lost
        if reply.status != 200:
            message = reply.content or f"scripted status {reply.status}"
            return _error(reply.status, message, "server_error", reply.headers)
        finish_reason = reply.finish_reason
        if reply.rambling:
            content, finish_reason, completion_tokens = await self._ramble(request, reply)
        else:
            content = reply.content if reply.content is not None else self.default_reply(request).content or ""
            completion_tokens = len(content) // 4
        prompt_chars = sum(len(message["content"]) for message in request.body["messages"])
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model", "test-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_chars // 4 + completion_tokens,
            },
        }
        self.answered += 1
        return web.json_response(payload, headers=reply.headers)

    async def _ramble(self, request: RecordedRequest, reply: Reply) -> tuple[str, str, int]:
        """Up to ``max_tokens`` tokens, ``seconds_per_token`` each, cut at the first stop sequence written."""
        stops = request.body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else stops
        limit = request.body.get("max_tokens") or 16
        text = ""
        for index in range(limit):
            text += RAMBLE_START[index] if index < len(RAMBLE_START) else RAMBLE_PAD
            await asyncio.sleep(reply.seconds_per_token)
            for stop in stops:
                if stop in text:
                    return text[: text.index(stop)], "stop", index + 1
        return text, "length", limit

    async def _stop(self) -> None:
        await self._runner.cleanup()
        # Handlers still sleeping out a scripted delay: end them instead of leaving them pending.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": status}}, status=status, headers=headers
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    parser.add_argument("--no-json-schema", action="store_true", help="answer 400 to response_format json_schema")
    parser.add_argument("--slots", type=int, default=None, help="requests worked on at once (default: all)")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    server = OpenAIServer(
        latency=arguments.latency,
        supports_json_schema=not arguments.no_json_schema,
        slots=arguments.slots,
        port=arguments.port,
    )
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()

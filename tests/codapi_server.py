"""A local HTTP server that speaks Codapi's ``/v1/exec`` protocol, on a real socket.

It stands in for the public Codapi service (a remote service with a quota). By default it really
compiles and runs the code with the local Zig sandbox and answers the way Codapi's Docker engine
does: ``ok: true`` with both streams, or ``ok: false`` with the output merged into ``stderr`` and
the exit status appended, or ``"code execution timeout"``. Tests can queue scripted replies
(a status, a body, a delay) to play Codapi's error statuses, a busy server or a hung one.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from zigtune.validation.sandbox import LocalZigEngine
from zigtune.validation.verdicts import Verdict

SANDBOXES = {"zig": {"run", "test"}}


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    delay_s: float = 0.0
    headers: dict[str, str] | None = None


def execution(request_id: str, ok: bool, stdout: str = "", stderr: str = "", duration: int = 0) -> dict[str, Any]:
    """Codapi's answer body (its ``engine.Execution``)."""
    return {"id": request_id, "ok": ok, "duration": duration, "stdout": stdout, "stderr": stderr}


class CodapiServer:
    def __init__(self, sandbox_root: Path) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self._sandbox_root = sandbox_root
        self._engine: LocalZigEngine | None = None
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/v1/exec", self._exec)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        self._loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _exec(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.json_response(execution("-", False, stderr=f"unsupported method: {request.method}"), status=405)
        try:
            body = await request.json()
        except ValueError as error:
            return web.json_response(execution("-", False, stderr=str(error)), status=400)
        self.requests.append(body)
        self.authorizations.append(request.headers.get("Authorization"))
        request_id = f"{body.get('sandbox')}_{body.get('command')}_{secrets.token_hex(4)}"
        if self.replies:
            reply = self.replies.popleft()
            await asyncio.sleep(reply.delay_s)
            return web.json_response({**reply.body, "id": request_id}, status=reply.status, headers=reply.headers)
        if body.get("sandbox") not in SANDBOXES:
            return web.json_response(execution(request_id, False, stderr="unknown sandbox"), status=404)
        if body.get("command") not in SANDBOXES[body["sandbox"]]:
            return web.json_response(execution(request_id, False, stderr="unknown command"), status=404)
        files = body.get("files") or {}
        if not isinstance(files, dict) or not files:
            return web.json_response(execution(request_id, False, stderr="files: empty"), status=400)
        if self._engine is None:
            self._engine = LocalZigEngine(self._sandbox_root)
        result = await self._engine.execute(next(iter(files.values())), body["command"])
        duration = int(result.duration_ms)
        if result.verdict is Verdict.OK:
            return web.json_response(execution(request_id, True, result.stdout, result.stderr, duration))
        if result.verdict is Verdict.TIMEOUT:
            return web.json_response(execution(request_id, False, stderr="code execution timeout", duration=duration))
        merged = f"{result.stdout}{result.stderr} (exit status 1)"
        return web.json_response(execution(request_id, False, stderr=merged, duration=duration))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

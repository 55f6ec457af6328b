"""Codapi (codapi.org or self-hosted): compile and run Zig over HTTP. The ``zig`` resource picks it or the local engine.

Codapi's API, as its docs (``docs/api.md``) and router describe it: ``POST /v1/exec`` with
``{"sandbox", "command", "files"}`` (``files`` maps a file name to its content; ``""`` is the
command's entry file) answers ``200 {"id", "ok", "duration", "stdout", "stderr"}``. Code that fails
is a *successful* call with ``ok: false`` and the output merged into ``stderr``, and a run past the
sandbox's time limit is ``ok: false`` with ``stderr`` "code execution timeout". Error statuses carry
the same JSON: 400 (a bad request), 404 (unknown sandbox or command), 405 (not POST), 429 (busy:
try again later), 500 (internal error). 400/404/405 mean our configuration is wrong and stop the
run; 429 and 5xx are retried with backoff (honouring ``Retry-After``).
"""

import asyncio
import time
from typing import Any

import aiohttp
import dagster as dg
from pydantic import ConfigDict, Field

from zigtune.validation.sandbox import BuildOptions
from zigtune.validation.verdicts import ExecResult, Verdict, classify_codapi

#: The public Codapi service the original write-up uses.
DEFAULT_CODAPI_URL = "https://api.codapi.org"

#: Prints the compiler's version from inside the sandbox: Codapi answers carry no version field.
VERSION_PROBE = (
    'const std = @import("std");\n'
    "pub fn main() !void {\n"
    '    try std.io.getStdOut().writer().writeAll(@import("builtin").zig_version_string);\n'
    "}\n"
)

#: Codapi's Zig sandbox knows "run" and "test"; compiling a file without tests under "test" is
#: how a build-only check is done there.
DEFAULT_COMMANDS = {"run": "run", "test": "test", "build-obj": "test", "ast-check": "test"}


class CodapiError(RuntimeError):
    """Codapi refused the request in a way retrying cannot fix (bad request, unknown sandbox/command)."""


class CodapiSettings(dg.Config):
    """A Codapi server: where it is, which sandbox and commands run Zig, and how hard to push it."""

    # The docstrings below are Dagster's descriptions; no inf or nan (an infinite timeout is no limit).
    model_config = ConfigDict(use_attribute_docstrings=True, allow_inf_nan=False)

    base_url: str = DEFAULT_CODAPI_URL
    """Codapi's address (the public service, or a self-hosted one)."""

    sandbox: str = "zig"
    """The Codapi sandbox that runs Zig."""

    commands: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_COMMANDS))
    """Codapi command for each check mode (run, test, build-obj)."""

    api_key: str | None = Field(default=None, repr=False)
    """Bearer token for a self-hosted Codapi behind auth; set it with dg.EnvVar("CODAPI_API_KEY"), never as text."""

    concurrency: int = Field(default=4, ge=1)
    """Requests in flight at once to Codapi (be gentle with the public service)."""

    request_timeout_s: float = Field(default=60.0, gt=0)
    """Timeout of one Codapi request; timed-out requests are retried."""

    max_retries: int = Field(default=4, ge=0)
    """Retries of a request that got 429, 5xx, a network error or a timeout (exponential backoff)."""

    retry_backoff_s: float = Field(default=1.0, ge=0)
    """First retry delay; it doubles each time (a Retry-After header can make it longer)."""


def _secret(value: str | None) -> str | None:
    """A ``dg.EnvVar`` read from the environment: inside a run Dagster has already put the value in its place,
    outside one (the checker CLI) the field still holds the variable's name."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value


class CodapiEngine:
    """An aiohttp client of Codapi's ``/v1/exec`` with bounded concurrency, timeouts and retries."""

    name = "codapi"

    def __init__(self, settings: CodapiSettings | None = None) -> None:
        settings = settings or CodapiSettings()
        self.url = settings.base_url.rstrip("/") + "/v1/exec"
        self.sandbox = settings.sandbox
        self.commands = {**DEFAULT_COMMANDS, **settings.commands}
        api_key = _secret(settings.api_key)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.concurrency = settings.concurrency
        self.timeout = aiohttp.ClientTimeout(total=settings.request_timeout_s)
        self.max_retries = settings.max_retries
        self.backoff_s = settings.retry_backoff_s
        self.requests = 0  # every HTTP request made, retries included
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._version: str | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._semaphore = None

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One exec call with retries; the answer's JSON, or :class:`CodapiError`/``TimeoutError``."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self._headers)
            self._semaphore = asyncio.Semaphore(self.concurrency)
        assert self._semaphore is not None
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            delay = self.backoff_s * 2**attempt
            async with self._semaphore:
                self.requests += 1
                try:
                    async with self._session.post(self.url, json=payload) as response:
                        body = await response.json(content_type=None) if response.content_length != 0 else {}
                        if response.status == 200:
                            return body
                        message = (body or {}).get("stderr") or response.reason
                        if response.status in (400, 404, 405):
                            refused = f"{payload['command']!r} in sandbox {self.sandbox!r}"
                            raise CodapiError(f"Codapi refused {refused}: HTTP {response.status} {message}")
                        last_problem = f"HTTP {response.status} {message}"
                        retry_after = response.headers.get("Retry-After", "")
                        if retry_after.isdigit():
                            delay = max(delay, float(retry_after))
                except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                    last_problem = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            if attempt < self.max_retries:
                await asyncio.sleep(delay)
        raise TimeoutError(f"Codapi at {self.url} failed {self.max_retries + 1} times: {last_problem}")

    async def version(self) -> str:
        if self._version is None:
            answer = await self._post(
                {"sandbox": self.sandbox, "command": self.commands["run"], "files": {"": VERSION_PROBE}}
            )
            if not answer.get("ok"):
                problem = str(answer.get("stderr", ""))[:200]
                raise CodapiError(f"Codapi's {self.sandbox!r} sandbox could not report its Zig version: {problem}")
            self._version = str(answer.get("stdout", "")).strip()
        return self._version

    async def execute(self, code: str, mode: str, options: BuildOptions | None = None) -> ExecResult:
        """Check ``code``; Codapi's own limits apply, and of ``options`` only the extra files reach it."""
        version = await self.version()
        started = time.perf_counter()
        files = {"": code, **dict(options.extra_files if options else ())}
        payload = {"sandbox": self.sandbox, "command": self.commands[mode], "files": files}
        try:
            answer = await self._post(payload)
        except TimeoutError as error:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecResult(Verdict.SANDBOX_ERROR, round(elapsed, 1), "", str(error), version, self.name)
        stderr = str(answer.get("stderr", ""))
        verdict = classify_codapi(mode, bool(answer.get("ok")), stderr)
        duration = float(answer.get("duration") or (time.perf_counter() - started) * 1000)
        return ExecResult(verdict, duration, str(answer.get("stdout", "")), stderr, version, self.name)

"""The ``zig`` resource: where Zig code is compiled and run — the local sandbox or a Codapi server."""

import os
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field, field_validator

from zigtune import settings
from zigtune.resources import env_overrides
from zigtune.resources.codapi import DEFAULT_CODAPI_URL, DEFAULT_COMMANDS, CodapiEngine
from zigtune.validation.sandbox import LocalZigEngine, SandboxLimits


class ZigEngine(dg.ConfigurableResource):
    """Where Zig code is compiled and run: ``engine="local"`` (default) runs ziglang 0.14.0 in a sandbox on this
    machine (zigtune.validation.sandbox); ``engine="codapi"`` sends it to a Codapi server over HTTP
    (zigtune.resources.codapi). Validation, evaluation and the snippet checker all use this one resource."""

    engine: Literal["local", "codapi"] = "local"
    """``local``: ziglang 0.14.0 in a sandbox on this machine. ``codapi``: a Codapi server over HTTP (``base_url``)."""

    @field_validator("engine", mode="before")
    @classmethod
    def _legacy_remote(cls, value: str) -> str:
        return "codapi" if value == "remote" else value  # ZIGTUNE_ZIG_ENGINE=remote, the earlier name

    base_url: str = DEFAULT_CODAPI_URL
    """Codapi's address (the public service, or a self-hosted one)."""

    sandbox: str = "zig"
    """The Codapi sandbox that runs Zig."""

    commands: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_COMMANDS))
    """Codapi command for each check mode (run, test, build-obj)."""

    api_key: str | None = None
    """Bearer token for a self-hosted Codapi behind auth; set it with dg.EnvVar("CODAPI_API_KEY")."""

    remote_concurrency: int = 4
    """Requests in flight at once to Codapi (be gentle with the public service)."""

    request_timeout_s: float = 60.0
    """Timeout of one Codapi request; timed-out requests are retried."""

    max_retries: int = 4
    """Retries of a request that got 429, 5xx, a network error or a timeout (exponential backoff)."""

    retry_backoff_s: float = 1.0
    """First retry delay; it doubles each time (a Retry-After header can make it longer)."""

    local_concurrency: int = 0
    """Checks at once in the local sandbox; 0 = the number of CPU cores."""

    run_as_uid: int = 61000
    """Only when zigtune runs as root: the unprivileged uid the local sandbox runs programs as (the
    kernel does not limit root's processes). Without root, programs run as the calling user."""

    run_timeout_s: float = 10.0
    """Wall-clock limit of one program or test binary in the local sandbox."""

    memory_mb: int = 1024
    """Address-space limit of one program in the local sandbox (the compiler is not limited)."""

    sandbox_dir: str | None = None
    """Local sandbox directory (shared compiler cache, per-run dirs); default ``<data dir>/sandbox``
    (``ZIGTUNE_SANDBOX_DIR``)."""

    def create_engine(self) -> "LocalZigEngine | CodapiEngine":
        """A fresh engine (its HTTP session lives in the caller's event loop)."""
        if self.engine == "codapi":
            return CodapiEngine(
                base_url=self.base_url,
                sandbox=self.sandbox,
                commands=self.commands,
                api_key=self.api_key,
                concurrency=self.remote_concurrency,
                timeout_s=self.request_timeout_s,
                max_retries=self.max_retries,
                backoff_s=self.retry_backoff_s,
            )
        limits = SandboxLimits(run_timeout_s=self.run_timeout_s, memory_bytes=self.memory_mb * 1024 * 1024)
        engine = LocalZigEngine(
            Path(self.sandbox_dir) if self.sandbox_dir else settings.data_dir() / "sandbox",
            limits=limits,
            concurrency=self.local_concurrency or os.cpu_count() or 1,
            uid_base=self.run_as_uid,
        )
        engine.preflight()
        return engine


def zig_from_env() -> ZigEngine:
    """The default resource: the local engine, or Codapi when ``ZIGTUNE_ZIG_ENGINE=codapi`` (or ``remote``)
    (``CODAPI_URL`` for a self-hosted one, ``CODAPI_API_KEY`` for its token); ``ZIGTUNE_SANDBOX_DIR`` moves
    the local sandbox's directory."""
    plain = {"engine": "ZIGTUNE_ZIG_ENGINE", "base_url": "CODAPI_URL", "sandbox_dir": "ZIGTUNE_SANDBOX_DIR"}
    return ZigEngine(**env_overrides(plain, {"api_key": "CODAPI_API_KEY"}))

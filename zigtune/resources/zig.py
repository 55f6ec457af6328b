"""The ``zig`` resource: where Zig code is compiled and run — the local sandbox or a Codapi server."""

import os
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import ConfigDict, Field, field_validator

from zigtune import settings
from zigtune.resources import env_overrides
from zigtune.resources.codapi import CodapiEngine, CodapiSettings
from zigtune.validation.sandbox import LocalZigEngine, SandboxLimits


class LocalSandbox(dg.Config):
    """ziglang 0.14.0 on this machine, each program jailed and limited (zigtune.validation.sandbox)."""

    # The docstrings below are Dagster's descriptions; no inf or nan (an infinite run timeout is no limit).
    model_config = ConfigDict(use_attribute_docstrings=True, allow_inf_nan=False)

    concurrency: int = Field(default=0, ge=0)
    """Checks at once in the local sandbox; 0 = the number of CPU cores."""

    run_as_uid: int = Field(default=61000, ge=1)
    """Only when zigtune runs as root: the unprivileged uid the local sandbox runs programs as (the
    kernel does not limit root's processes). Without root, programs run as the calling user."""

    run_timeout_s: float = Field(default=10.0, gt=0)
    """Wall-clock limit of one program or test binary in the local sandbox."""

    memory_mb: int = Field(default=1024, ge=1)
    """Address-space limit of one program in the local sandbox (the compiler is not limited)."""

    sandbox_dir: str | None = None
    """Local sandbox directory (shared compiler cache, per-run dirs); default ``<data dir>/sandbox``
    (``ZIGTUNE_SANDBOX_DIR``)."""


class ZigEngine(dg.ConfigurableResource):
    """Where Zig code is compiled and run: ``engine="local"`` (default) runs ziglang 0.14.0 in a sandbox on this
    machine (settings in ``local``); ``engine="codapi"`` sends it to a Codapi server over HTTP (settings in
    ``codapi``). Validation, evaluation and the snippet checker all use this one resource."""

    model_config = ConfigDict(use_attribute_docstrings=True)  # the docstrings below are Dagster's descriptions

    engine: Literal["local", "codapi"] = "local"
    """``local``: ziglang 0.14.0 in a sandbox on this machine (``local``). ``codapi``: a Codapi server over HTTP
    (``codapi``)."""

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_name(cls, value: object) -> object:
        return settings.zig_engine(value) if isinstance(value, str) else value  # ``remote``: the earlier name

    local: LocalSandbox = Field(default_factory=LocalSandbox)
    """The local sandbox (``engine: local``)."""

    codapi: CodapiSettings = Field(default_factory=CodapiSettings)
    """The Codapi server (``engine: codapi``)."""

    def create_engine(self) -> "LocalZigEngine | CodapiEngine":
        """A fresh engine (its HTTP session lives in the caller's event loop)."""
        if self.engine == "codapi":
            return CodapiEngine(self.codapi)
        local = self.local
        engine = LocalZigEngine(
            Path(local.sandbox_dir) if local.sandbox_dir else settings.data_dir() / "sandbox",
            limits=SandboxLimits(run_timeout_s=local.run_timeout_s, memory_bytes=local.memory_mb * 1024 * 1024),
            concurrency=local.concurrency or os.cpu_count() or 1,
            uid_base=local.run_as_uid,
        )
        engine.preflight()
        return engine


def zig_from_env() -> ZigEngine:
    """The default resource: the local engine, or Codapi when ``ZIGTUNE_ZIG_ENGINE=codapi`` (or ``remote``)
    (``CODAPI_URL`` for a self-hosted one, ``CODAPI_API_KEY`` for its token, read at run time); ``ZIGTUNE_SANDBOX_DIR``
    moves the local sandbox's directory."""
    return ZigEngine(
        **env_overrides({"engine": settings.ZIG_ENGINE_ENV}),
        local=LocalSandbox(**env_overrides({"sandbox_dir": "ZIGTUNE_SANDBOX_DIR"})),
        codapi=CodapiSettings(**env_overrides({"base_url": "CODAPI_URL"}, {"api_key": "CODAPI_API_KEY"})),
    )

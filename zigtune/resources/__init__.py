"""One outside system per module: the LLM API (``llm.py``, Novita by default), Codapi (``codapi.py``), the Zig
engine resource that picks Codapi or the local sandbox (``zig.py``), the training executor (``training.py``) and
AWS ECS (``ecs.py``)."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg


def env_overrides(plain: Mapping[str, str], secret: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resource fields from the environment variables that are set (``{field: variable}``).

    A ``secret`` field becomes ``dg.EnvVar``, read at run time, so its value never lands in the run's config
    or the UI; an unset variable is left out (``dg.EnvVar`` would fail the run).
    """
    values: dict[str, Any] = {field: os.environ[var] for field, var in plain.items() if os.environ.get(var)}
    values.update({field: dg.EnvVar(var) for field, var in (secret or {}).items() if os.environ.get(var)})
    return values

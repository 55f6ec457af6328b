"""Who answered and what: the roles, one generated reply, the stamp of a model. Plain data, no polars, so the
GPU side of generation (``replies``) imports nothing it does not use."""

from __future__ import annotations

from dataclasses import dataclass

BASE = "base"
FINE_TUNED = "fine_tuned"
ROLES = (BASE, FINE_TUNED)


def prompt_key(suite: str, task_id: str) -> str:
    """How a task is named to the generation backends (unique over all suites of a run)."""
    return f"{suite}/{task_id}"


@dataclass(frozen=True)
class Completion:
    """One generated reply: which task (``prompt_key``), which role, which sample, why generation stopped."""

    task_id: str
    role: str
    sample: int
    text: str
    finish_reason: str = "stop"  # "length": cut by max_new_tokens


@dataclass(frozen=True)
class ModelStamp:
    """Who answered: stamped on every row of that role."""

    model: str
    adapter: str | None
    backend: str

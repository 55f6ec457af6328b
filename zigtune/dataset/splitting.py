"""A leak-free train/eval split: whole sections go to one side, chosen deterministically by a seed.

A pair-level random split would put paraphrases of one section on both sides (the LLM writes several
questions per section, and the continuation round often rephrases the first), so the eval would
measure recall of seen material. Here the unit is the section, named by its breadcrumb: every part of
a long section shares its breadcrumb, so parts cannot straddle the split either.

Units are ranked by ``sha256(seed, unit)`` and the first ``round(eval_fraction * units)`` go to eval.
The choice of a unit depends only on the seed and its own name, so adding a section to the docs
moves at most a few others across the boundary instead of reshuffling everything. No dagster here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: The original write-up trains on everything; zigtune holds out this share of sections for eval.
DEFAULT_EVAL_FRACTION = 0.1
#: The original's seed (``random_state`` / ``seed`` in its training script).
DEFAULT_SEED = 3407

TRAIN = "train"
EVAL = "eval"
SPLITS = (TRAIN, EVAL)


def _rank(seed: int, unit: str) -> str:
    return hashlib.sha256(f"{seed}\x00{unit}".encode()).hexdigest()


def eval_units(units: Iterable[str], eval_fraction: float, seed: int) -> frozenset[str]:
    """The units (sections) that go to eval. Train keeps at least one unit whenever there is one."""
    if not 0 <= eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    unique = sorted(set(units))
    count = min(round(eval_fraction * len(unique)), max(len(unique) - 1, 0))
    return frozenset(sorted(unique, key=lambda unit: _rank(seed, unit))[:count])


def assign_splits(units: Iterable[str], eval_fraction: float, seed: int) -> dict[str, str]:
    """Every unit mapped to ``"train"`` or ``"eval"``."""
    unique = set(units)
    held_out = eval_units(unique, eval_fraction, seed)
    return {unit: EVAL if unit in held_out else TRAIN for unit in sorted(unique)}

"""Exact and near-duplicate removal of instructions, within and across splits.

Items come in priority order (the first of a group of duplicates is the one kept) with a split
name each; the dataset feeds train before eval, so a question that is on both sides is removed
from eval, where it would flatter the model, and train keeps it.

- **exact duplicate**: the same tokens after normalization (case, whitespace, prose punctuation and
  backticks ignored; ``@log2``, ``0.14`` and ``std.debug.print`` stay one token each, and operator
  characters are tokens, so ``a % b`` and ``a / b`` differ).
- **near duplicate**: word-trigram Jaccard similarity at or above a threshold with an earlier
  kept instruction. Candidates come from datasketch's ``MinHashLSH``; each candidate's similarity is
  then computed exactly on the trigram sets, so the decision never rests on a MinHash estimate and
  the result is the same on every run. Word trigrams (not characters) keep
  "Explain @log in Zig" and "Explain @log2 in Zig" apart: one changed word changes three trigrams.
- Where both items carry an *answer checked by running Zig* (``Item.answer``), a near duplicate
  needs alike answers too: "what does this print?" about a program and about a variant of it with
  other constants are alike questions, but their run-checked answers differ, and they teach
  different facts; checked pairs with alike questions and alike answers are still duplicates.

No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from datasketch import MinHash, MinHashLSH

#: Near-duplicate threshold on word-trigram Jaccard similarity. Measured on the 522 docs-generator
#: pairs of the Zig 0.14 reference: 0.85 removes none; 0.8 would remove two "why does this fail?"
#: pairs whose code differs only in ``@shrExact``/``@shlExact`` or ``%``/``/`` (different questions).
DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.85
#: MinHash permutations: 128 gives LSH candidates with a small miss rate at this threshold.
NUM_PERM = 128
SHINGLE_WORDS = 3
#: LSH candidates are looked for this far below the threshold, with bands weighted towards recall
#: ((false positive, false negative) weights): at 0.85 a pair exactly at the threshold is missed
#: with probability ~5e-5 (b=21 bands of r=6 rows), instead of ~0.13 with datasketch's defaults.
CANDIDATE_MARGIN = 0.2
LSH_WEIGHTS = (0.1, 0.9)
_MINHASH_SEED = 1

Reason = Literal["exact_duplicate", "near_duplicate"]

# Words (``@log2``, ``0.14`` and ``std.debug.print`` stay whole) and the operator characters that make
# two code snippets different questions (``a % b`` is not ``a / b``); prose punctuation is dropped.
_TOKEN = re.compile(r"[@\w]+(?:\.\w+)*|[-+*/%=<>&|^~!()\[\]{}]")


def normalize(text: str) -> str:
    """The tokens of ``text``, case-folded and joined by single spaces; prose punctuation dropped."""
    return " ".join(_TOKEN.findall(text.casefold()))


def shingles(normalized: str, words: int = SHINGLE_WORDS) -> frozenset[str]:
    """Word n-grams of a normalized text (the whole text when it is shorter than ``words``)."""
    tokens = normalized.split(" ")
    if len(tokens) <= words:
        return frozenset([normalized])
    return frozenset(" ".join(tokens[i : i + words]) for i in range(len(tokens) - words + 1))


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left or right else 1.0


@dataclass(frozen=True)
class Item:
    """One instruction to deduplicate: its id, the split it is in, its text, and its answer when that
    answer was checked by running Zig (``None`` otherwise: the instruction alone decides)."""

    id: str
    split: str
    text: str
    answer: str | None = None


@dataclass(frozen=True)
class Duplicate:
    """A removed item: what it duplicates, why, how similar, and whether across splits."""

    id: str
    kept_id: str
    reason: Reason
    similarity: float
    scope: str  # "within_<split>" or "across_splits"


@dataclass
class DedupResult:
    kept: list[str] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Removed items by ``<reason>/<scope>``, e.g. ``near_duplicate/across_splits``."""
        return dict(sorted(Counter(f"{d.reason}/{d.scope}" for d in self.duplicates).items()))

    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(d.reason for d in self.duplicates).items()))


def _minhash(items: frozenset[str]) -> MinHash:
    minhash = MinHash(num_perm=NUM_PERM, seed=_MINHASH_SEED)
    minhash.update_batch([s.encode() for s in sorted(items)])
    return minhash


def deduplicate(items: Sequence[Item], threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD) -> DedupResult:
    """Keep the first of every group of exact or near-duplicate instructions, in the given order."""
    if not 0 < threshold <= 1:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
    if len({item.id for item in items}) != len(items):
        raise ValueError("item ids must be unique")
    result = DedupResult()
    exact: dict[str, Item] = {}
    kept: dict[str, tuple[Item, frozenset[str]]] = {}
    answers: dict[str, frozenset[str]] = {}
    order: dict[str, int] = {}
    # Tuned for recall: candidates are verified exactly, so a false positive costs one set
    # intersection while a false negative would leave a duplicate in.
    lsh = MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_MARGIN), num_perm=NUM_PERM, weights=LSH_WEIGHTS)

    def drop(item: Item, original: Item, reason: Reason, similarity: float) -> None:
        scope = f"within_{item.split}" if item.split == original.split else "across_splits"
        result.duplicates.append(Duplicate(item.id, original.id, reason, round(similarity, 4), scope))

    for item in items:
        key = normalize(item.text)
        if key in exact:
            drop(item, exact[key], "exact_duplicate", 1.0)
            continue
        grams = shingles(key)
        minhash = _minhash(grams)
        answer = shingles(normalize(item.answer)) if item.answer is not None else None
        # Exact similarity of every LSH candidate; the earliest kept item wins a tie.
        scored = [(jaccard(grams, kept[c][1]), -order[c], c) for c in lsh.query(minhash)] if kept else []
        alike = [
            score
            for score in scored
            if score[0] >= threshold
            and (answer is None or score[2] not in answers or jaccard(answer, answers[score[2]]) >= threshold)
        ]
        best = max(alike, default=None)
        if best is not None:
            drop(item, kept[best[2]][0], "near_duplicate", best[0])
            continue
        if answer is not None:
            answers[item.id] = answer
        exact[key] = item
        kept[item.id] = (item, grams)
        order[item.id] = len(order)
        lsh.insert(item.id, minhash)
        result.kept.append(item.id)
    return result

"""The prompts of the LLM generator, kept as versioned text files beside this module.

``system.txt``, ``first_round.txt`` and ``continuation.txt`` are the original write-up's system
message and prompts, word for word (``$content`` and ``$last_response`` mark where the section and
the previous answer go). ``repair.txt`` is new: the one follow-up sent when a reply cannot be parsed.
Editing any file changes ``PromptTemplates.hash``, which is part of the ``qa_pairs`` code version
and of every LLM cache key, so Dagster marks the asset stale and no stale answer is reused.
No dagster here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parent
TEMPLATE_FILES = ("system.txt", "first_round.txt", "continuation.txt", "repair.txt")


@dataclass(frozen=True)
class PromptTemplates:
    """The four prompt texts and a short hash of all of them."""

    system: str
    first_round: str
    continuation: str
    repair: str
    hash: str

    def render_first_round(self, content: str) -> str:
        return Template(self.first_round).substitute(content=content)

    def render_continuation(self, last_response: str) -> str:
        return Template(self.continuation).substitute(last_response=last_response)

    def render_repair(self, reason: str) -> str:
        return Template(self.repair).substitute(reason=reason)


def load_templates(directory: Path = PROMPTS_DIR) -> PromptTemplates:
    """Read the template files of ``directory`` (default: the ones shipped with zigtune)."""
    texts = {name: (directory / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES}
    digest = hashlib.sha256("\x00".join(texts[name] for name in TEMPLATE_FILES).encode()).hexdigest()[:12]
    return PromptTemplates(
        system=texts["system.txt"].strip(),
        first_round=texts["first_round.txt"],
        continuation=texts["continuation.txt"],
        repair=texts["repair.txt"].strip(),
        hash=digest,
    )

"""The prompts of the LLM generator, kept as text files beside this module.

- ``system.txt``, ``first_round.txt``, ``continuation.txt``: the original write-up's system message and
  prompts, rewritten to ask for Zig 0.14 and for self-contained code that checks its own behaviour
  (``test`` blocks, or a ``main`` with its ``Expected output:`` stated). Continuations see the section's
  text (``$content``) as well as the pairs before (``$last_response``).
- ``format_jsonl.txt`` / ``format_json.txt``: the reply format (``$format``), JSONL when the server takes
  no ``response_format``, ``{"pairs": [...]}`` when it does. Their example lines are also what a pair
  must not echo (``screening.py``).
- ``repair.txt``: the one follow-up sent when a reply cannot be parsed.
- ``code_repair.txt``: the follow-up that shows the model the compiler's or the program's error.
- ``fix_instruction.txt`` / ``fix_response.txt``: the "fix this code" pair each repaired failure becomes.
- ``spec_repair.txt``: the follow-up of a spec task's answer that fails its hidden tests (``spec_llm.py``): the
  same loop as ``code_repair.txt``, but the answer is a file in a ``zig`` block, not a JSON pair.

Editing any file changes ``PromptTemplates.hash`` (each pair's ``template_hash``) and the ``qa_pairs``
code version, and changes the rendered requests, which are the LLM cache keys: no stale answer is reused.
No dagster here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parent
TEMPLATE_FILES = (
    "system.txt",
    "first_round.txt",
    "continuation.txt",
    "format_jsonl.txt",
    "format_json.txt",
    "repair.txt",
    "code_repair.txt",
    "fix_instruction.txt",
    "fix_response.txt",
    "spec_repair.txt",
)


@dataclass(frozen=True)
class PromptTemplates:
    """The prompt texts and a short hash of all of them."""

    texts: dict[str, str]
    hash: str

    @property
    def system(self) -> str:
        return self.texts["system.txt"].strip()

    def format_text(self, response_format: str) -> str:
        """The reply-format paragraph: JSONL for plain text, the ``pairs`` object for JSON modes."""
        return self.texts["format_jsonl.txt" if response_format == "text" else "format_json.txt"].strip()

    def _render(self, name: str, **values: str) -> str:
        return Template(self.texts[name]).substitute(**values)

    def render_first_round(self, content: str, response_format: str = "text") -> str:
        return self._render("first_round.txt", content=content, format=self.format_text(response_format))

    def render_continuation(self, content: str, last_response: str, response_format: str = "text") -> str:
        return self._render(
            "continuation.txt",
            content=content,
            last_response=last_response,
            format=self.format_text(response_format),
        )

    def render_repair(self, reason: str, response_format: str = "text") -> str:
        return self._render("repair.txt", reason=reason, format=self.format_text(response_format)).strip()

    def render_code_repair(self, instruction: str, verdict: str, error: str, response_format: str = "text") -> str:
        return self._render(
            "code_repair.txt",
            instruction=instruction,
            verdict=verdict,
            error=error,
            format=self.format_text(response_format),
        ).strip()

    def render_spec_repair(self, file: str, verdict: str, error: str) -> str:
        return self._render("spec_repair.txt", file=file, verdict=verdict, error=error).strip()

    def render_fix_pair(
        self, code: str, verdict: str, error: str, fixed: str, expected_output: str | None
    ) -> tuple[str, str]:
        """The "fix this code" pair of one failing → fixed exchange: (instruction, response)."""
        instruction = self._render("fix_instruction.txt", code=code, verdict=verdict, error=error).strip()
        stated = f"\nExpected output:\n```\n{expected_output.rstrip()}\n```" if expected_output else ""
        response = self._render("fix_response.txt", code=fixed, expected_output=stated).strip()
        return instruction, response


def load_templates(directory: Path = PROMPTS_DIR) -> PromptTemplates:
    """Read the template files of ``directory`` (default: the ones shipped with zigtune)."""
    texts = {name: (directory / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES}
    digest = hashlib.sha256("\x00".join(texts[name] for name in TEMPLATE_FILES).encode()).hexdigest()[:12]
    return PromptTemplates(texts=texts, hash=digest)

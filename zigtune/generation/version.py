"""The code version of the generation stage: a hash of what makes its output, not a hand-bumped constant.

Every Python module of ``zigtune.generation`` (the LLM loop, parsing, screening, the docs generator and
any task family added beside them) and every prompt template file is hashed by content, so editing
any of them marks ``qa_pairs`` stale in Dagster by itself. LLM answers stay cached by the requests
that produced them: a change that leaves the requests as they were (parsing, screening) costs no call.
No dagster here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

GENERATION_DIR = Path(__file__).resolve().parent


def source_files(directory: Path = GENERATION_DIR) -> list[Path]:
    """The files whose content is the generators' code: ``*.py`` and the prompt templates, sorted."""
    files = [*directory.rglob("*.py"), *(directory / "prompts").glob("*.txt")]
    return sorted(path for path in files if "__pycache__" not in path.parts)


def generation_code_version(directory: Path = GENERATION_DIR) -> str:
    """A short hash of every source file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in source_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\x00" + path.read_bytes() + b"\x00")
    return digest.hexdigest()[:16]

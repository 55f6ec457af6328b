"""The code version of the generation stage: a hash of what makes its output, not a hand-bumped constant.

Every Python module of ``zigtune.generation`` (the LLM loop, parsing, screening, the offline generator
and its task families) and every prompt template file is hashed by content, so editing any of them
marks ``qa_pairs`` stale in Dagster by itself. LLM answers stay cached by the requests that produced
them: a change that leaves the requests as they were (parsing, screening) costs no call.

The offline generator's pairs carry ``OFFLINE_VERSION`` as their ``template_hash``: the generation
package's hash together with the few modules outside it that decide what the offline families keep
(which code is extracted and how it is checked, how verdicts are read, how the docs are split).
No dagster here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

GENERATION_DIR = Path(__file__).resolve().parent

#: Outside ``zigtune.generation``, the sources whose content decides what the offline generator writes.
OFFLINE_EXTRA_SOURCES = (
    GENERATION_DIR.parent / "validation" / "code_extraction.py",
    GENERATION_DIR.parent / "validation" / "verdicts.py",
    GENERATION_DIR.parent / "docs" / "sections.py",
)


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


def offline_version(directory: Path = GENERATION_DIR, extra: tuple[Path, ...] = OFFLINE_EXTRA_SOURCES) -> str:
    """The generation package's hash and the bytes of ``extra``, hashed together."""
    digest = hashlib.sha256(generation_code_version(directory).encode())
    for path in extra:
        digest.update(b"\x00" + path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:16]


OFFLINE_VERSION = f"offline-{offline_version()}"

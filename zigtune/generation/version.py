"""The offline generator's version: a hash of its source code, so that changing the code makes its pairs stale.

The ``qa_pairs`` asset's code version and every offline pair's ``template_hash`` carry it; nobody
bumps a constant by hand. The files are read as bytes, not imported, so this module has no
dependency on the modules it names. No dagster here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent

#: The sources whose content decides what the offline generator writes (paths under ``zigtune/``).
OFFLINE_SOURCES = (
    "generation/pairs.py",
    "generation/docs_generator.py",
    "generation/execution.py",
    "generation/migrations.py",
    "generation/migration_repair.py",
    "generation/predict_output.py",
    "generation/variants.py",
    "generation/implement_tests.py",
    "generation/concepts.py",
    "generation/offline.py",
    "validation/code_extraction.py",
    "validation/verdicts.py",
    "docs/sections.py",
)


def source_hash(paths: tuple[str, ...], root: Path = PACKAGE) -> str:
    """sha256 over the files' names and bytes, first 12 hex digits."""
    digest = hashlib.sha256()
    for relative in paths:
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


OFFLINE_VERSION = f"offline-{source_hash(OFFLINE_SOURCES)}"

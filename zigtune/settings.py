"""Where zigtune keeps its files and the defaults that every stage shares.

Nothing here imports dagster: these are plain values and paths, read from the environment once.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The official Zig 0.14.0 language reference, the source the original write-up starts from.
DEFAULT_DOCS_SOURCE = "https://ziglang.org/documentation/0.14.0/"

#: Environment variable that names the docs source (a path to .md/.html, or an http(s) URL).
DOCS_SOURCE_ENV = "ZIGTUNE_DOCS"

#: Environment variable that names the data directory (caches, parquet outputs, JSONL, models).
DATA_DIR_ENV = "ZIGTUNE_DATA_DIR"


def data_dir() -> Path:
    """The one local directory under which zigtune stores everything it writes.

    Default: ``data/`` inside the project (git-ignored); override with ``ZIGTUNE_DATA_DIR``.
    """
    path = Path(os.environ.get(DATA_DIR_ENV) or PROJECT_ROOT / "data").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def docs_source() -> str:
    """The docs source a run uses when its config names none: ``ZIGTUNE_DOCS`` or the official page."""
    return os.environ.get(DOCS_SOURCE_ENV) or DEFAULT_DOCS_SOURCE

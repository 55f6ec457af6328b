"""Where zigtune keeps its files and the defaults that every stage shares.

Nothing here imports dagster: these are plain values and paths, read from the environment once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

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


#: Where asset outputs (the IO manager) and file artifacts (``zigtune.storage.artifacts``) live: ``local`` or ``s3``.
STORAGE_ENV = "ZIGTUNE_STORAGE"
S3_BUCKET_ENV = "ZIGTUNE_S3_BUCKET"
S3_PREFIX_ENV = "ZIGTUNE_S3_PREFIX"
S3_ARTIFACTS_PREFIX_ENV = "ZIGTUNE_S3_ARTIFACTS_PREFIX"
S3_ENDPOINT_URL_ENV = "ZIGTUNE_S3_ENDPOINT_URL"
S3_REGION_ENV = "ZIGTUNE_S3_REGION"
STORAGE_ENV_VARS = (
    STORAGE_ENV,
    S3_BUCKET_ENV,
    S3_PREFIX_ENV,
    S3_ARTIFACTS_PREFIX_ENV,
    S3_ENDPOINT_URL_ENV,
    S3_REGION_ENV,
)


class StorageConfigError(ValueError):
    """The storage settings are missing, malformed, or name a bucket that cannot be reached."""


def storage(explicit: str | None = None) -> Literal["local", "s3"]:
    """``local`` or ``s3``: ``explicit`` (a resource's field) when set, else ``ZIGTUNE_STORAGE``, else local."""
    value = (explicit or os.environ.get(STORAGE_ENV) or "local").strip().lower()
    if value not in ("local", "s3"):
        raise StorageConfigError(f"{STORAGE_ENV} must be 'local' or 's3', got {value!r}")
    return value  # type: ignore[return-value]


def s3_bucket(explicit: str | None = None) -> str:
    """The bucket of ``s3`` storage: ``explicit`` when set, else ``ZIGTUNE_S3_BUCKET``, which must then be set."""
    bucket = explicit or os.environ.get(S3_BUCKET_ENV)
    if not bucket:
        raise StorageConfigError(f"{STORAGE_ENV}=s3 needs a bucket: set {S3_BUCKET_ENV}")
    return bucket


#: Cron of the docs observation (default hourly): ``ZIGTUNE_DOCS_CRON``.
DOCS_CRON_ENV = "ZIGTUNE_DOCS_CRON"
DEFAULT_DOCS_CRON = "0 * * * *"

#: ``ZIGTUNE_AUTO_TRAIN=1`` lets automation retrain (and re-evaluate) when the dataset's content changes.
AUTO_TRAIN_ENV = "ZIGTUNE_AUTO_TRAIN"


def docs_cron() -> str:
    """How often the docs source is checked for changes."""
    return os.environ.get(DOCS_CRON_ENV) or DEFAULT_DOCS_CRON


def auto_train() -> bool:
    """Whether a changed dataset retrains the model on its own (off by default: it costs GPU hours)."""
    return os.environ.get(AUTO_TRAIN_ENV, "").strip().lower() in ("1", "true", "yes", "on")


#: The QA generator runs use when their config says ``auto``: ``docs``, ``llm`` or ``both``.
GENERATOR_ENV = "ZIGTUNE_GENERATOR"


def generator() -> str:
    """``ZIGTUNE_GENERATOR`` (``docs``/``llm``/``both``), else ``auto`` (decided by the API key)."""
    value = (os.environ.get(GENERATOR_ENV) or "auto").strip().lower()
    if value not in ("auto", "docs", "llm", "both"):
        raise ValueError(f"{GENERATOR_ENV}={value!r}: use docs, llm or both")
    return value


#: Where Zig code is checked by default: ``local`` (the sandbox) or ``codapi`` (``remote``, the earlier name).
ZIG_ENGINE_ENV = "ZIGTUNE_ZIG_ENGINE"


def zig_engine(value: str | None = None) -> str:
    """The engine ``value`` names (``ZIGTUNE_ZIG_ENGINE`` when it is None): ``local`` when empty, ``remote``
    read as ``codapi``; anything else is returned as given, for the caller to refuse."""
    value = (os.environ.get(ZIG_ENGINE_ENV, "") if value is None else value).strip().lower()
    return {"": "local", "remote": "codapi"}.get(value, value)


#: ``ZIGTUNE_KEEP_UNCHECKED=1`` writes pairs nothing could check into the dataset (off by default).
KEEP_UNCHECKED_ENV = "ZIGTUNE_KEEP_UNCHECKED"


def keep_unchecked() -> bool:
    """Whether the dataset keeps unchecked pairs unless its run config says otherwise."""
    return os.environ.get(KEEP_UNCHECKED_ENV, "").strip().lower() in ("1", "true", "yes", "on")

"""Shared fixtures: the real Zig reference beside the checkout, an isolated data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DOCS_MD = SHARED_DATA / "zig-0.14.0-docs.md"
DOCS_HTML = SHARED_DATA / "zig-0.14.0-langref.html"


@pytest.fixture(scope="session")
def docs_markdown() -> str:
    if not DOCS_MD.exists():
        pytest.skip(f"{DOCS_MD} not found (the shared data folder lies beside the checkout)")
    return DOCS_MD.read_text(encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZIGTUNE_DATA_DIR for one test, so no test sees another's files or caches."""
    directory = tmp_path / "data"
    monkeypatch.setenv("ZIGTUNE_DATA_DIR", str(directory))
    return directory

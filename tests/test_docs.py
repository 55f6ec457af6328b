"""The docs source (file, HTML, URL) and the zig_docs / doc_sections assets through real Dagster runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from bs4 import BeautifulSoup

from tests.conftest import DOCS_HTML, DOCS_MD
from zigtune.assets.docs import doc_sections, zig_docs
from zigtune.docs.sections import split_sections
from zigtune.docs.source import DocsSourceError, read_docs
from zigtune.storage.io_manager import ParquetIOManager

PROJECT = Path(__file__).resolve().parents[1]


def materialize_docs(
    source: str, data_dir: Path, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [zig_docs, doc_sections],
        instance=instance,
        resources={"io_manager": ParquetIOManager()},
        run_config={"ops": {"zig_docs": {"config": {"source": source}}}},
        raise_on_error=False,
    )


def failure_description(result: dg.ExecuteInProcessResult) -> str:
    failure = result.get_step_failure_events()[0].step_failure_data
    assert failure.user_failure_data is not None, failure.error
    return failure.user_failure_data.description


@pytest.fixture(scope="module")
def langref_html() -> bytes:
    if not DOCS_HTML.exists():
        pytest.skip(f"{DOCS_HTML} not found")
    return DOCS_HTML.read_bytes()


def test_materialize_from_markdown_file(data_dir: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_docs(str(DOCS_MD), data_dir, instance)
    assert result.success
    sections = result.output_for_node("doc_sections")
    assert sections.filter(pl.col("part") == 0).height == 344
    metadata = result.asset_materializations_for_node("doc_sections")[0].metadata
    assert metadata["examples"].value == 287
    assert (data_dir / "assets" / "doc_sections.parquet").exists()
    exported = (data_dir / "assets" / "zig_sections.jsonl").read_text().splitlines()
    assert len(exported) == sections.height and json.loads(exported[1])["text"].startswith("# Introduction")
    stats = json.loads((data_dir / "assets" / "zig_sections_stats.json").read_text())
    assert stats[1] == {"id": 1, "title": "Introduction", "level": 1, "size": sections["size"][1]}

    # The docs' hash is the data version: re-reading unchanged docs leaves doc_sections up to date.
    docs_event = instance.get_latest_materialization_event(dg.AssetKey("zig_docs"))
    digest = docs_event.asset_materialization.metadata["sha256"].value
    assert docs_event.asset_materialization.tags["dagster/data_version"] == digest
    again = dg.materialize(
        [zig_docs, doc_sections.to_source_asset()],
        instance=instance,
        resources={"io_manager": ParquetIOManager()},
        run_config={"ops": {"zig_docs": {"config": {"source": str(DOCS_MD)}}}},
    )
    assert again.success
    status = instance.get_latest_materialization_event(dg.AssetKey("zig_docs")).asset_materialization.tags
    assert status["dagster/data_version"] == digest


def test_html_page_converts_with_every_heading_and_code_example(langref_html: bytes, tmp_path: Path) -> None:
    soup = BeautifulSoup(langref_html, "html.parser")
    main = soup.find("main", id="contents")
    headings = [h.get_text(" ", strip=True).replace("§", "").strip() for h in main.find_all(["h2", "h3", "h4"])]
    figures = [f for f in main.find_all("figure") if f.find("pre")]
    docs = read_docs(str(DOCS_HTML), tmp_path)
    assert docs.source_format == "html"

    sections = split_sections(docs.markdown)
    titles = [s.title for s in sections if s.level > 0]
    assert titles == headings and len(titles) == 343
    zig_blocks = [code for s in sections for code in s.code_blocks]
    zig_figures = [f for f in figures if "zig-cap" in f.find("figcaption").get("class", [])]
    assert len(zig_blocks) == len(zig_figures) == 304
    # Every example and every published output survives, text intact (figures inside list items are
    # indented with their item, as markdown requires, so compare without leading indentation).
    flat = "\n".join(line.lstrip() for line in docs.markdown.splitlines())
    for figure in figures:
        code = "\n".join(line.lstrip() for line in figure.find("pre").get_text().rstrip("\n").splitlines())
        assert code in flat
    assert docs.markdown.count("<!-- file: hello.zig -->") == 1


def test_url_source_is_downloaded_cached_and_revalidated(http_server, langref_html: bytes, data_dir: Path) -> None:
    http_server.routes["/documentation/0.14.0/"] = (200, langref_html, {"Content-Type": "text/html", "ETag": '"v1"'})
    url = http_server.url("/documentation/0.14.0/")
    result = materialize_docs(url, data_dir)
    assert result.success, result.get_step_failure_events()
    metadata = result.asset_materializations_for_node("zig_docs")[0].metadata
    assert metadata["format"].value == "html" and metadata["headings"].value == 343
    assert result.output_for_node("doc_sections").filter(pl.col("part") == 0).height == 343

    result = materialize_docs(url, data_dir)  # second read: a conditional GET answered 304 from the cache
    assert result.success
    assert http_server.requests == [("GET", "/documentation/0.14.0/")] * 2
    assert len(list((data_dir / "downloads").glob("*.body"))) == 1


BAD_INPUTS = {
    "missing file": (None, "does not exist"),
    "empty file": (b"", "is empty"),
    "no headings": (b"Some prose about Zig.\n\nNo headings at all.\n", "no markdown headings"),
    "binary garbage": (bytes(range(256)) * 64, "is binary"),
    "not a reference": (
        b"<!doctype html><html><body><h1>Cats</h1><p>meow</p></body></html>",
        "not a Zig language reference",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_files_fail_with_one_clear_line_and_write_nothing(case: str, tmp_path: Path, data_dir: Path) -> None:
    content, message = BAD_INPUTS[case]
    path = tmp_path / ("docs.html" if case == "not a reference" else "docs.md")
    if content is not None:
        path.write_bytes(content)
    result = materialize_docs(str(path), data_dir)
    assert not result.success
    description = failure_description(result)
    assert message in description and "\n" not in description
    assert not (data_dir / "assets" / "doc_sections.parquet").exists()
    if case != "no headings":
        assert not (data_dir / "assets" / "zig_docs.parquet").exists()


@pytest.mark.parametrize(("status", "message"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_http_errors_fail_clearly(http_server, status: int, message: str, data_dir: Path) -> None:
    http_server.routes["/docs"] = (status, b"oops", {})
    result = materialize_docs(http_server.url("/docs"), data_dir)
    assert not result.success
    assert message in failure_description(result)
    assert not list((data_dir / "downloads").glob("*")) if (data_dir / "downloads").exists() else True


def test_unreachable_url_fails_clearly(data_dir: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DocsSourceError, match=f"cannot download http://127.0.0.1:{port}/"):
        read_docs(f"http://127.0.0.1:{port}/", data_dir)


def test_cli_materializes_doc_sections(tmp_path: Path, data_dir: Path) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "ZIGTUNE_DOCS": str(DOCS_MD),
        "ZIGTUNE_DATA_DIR": str(data_dir),
    }
    (tmp_path / "home").mkdir()
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "zigtune.definitions"]
    completed = subprocess.run(
        [*command, "--select", "zig_docs,doc_sections"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert re.search(r"RUN_SUCCESS", completed.stderr)
    assert pl.read_parquet(data_dir / "assets" / "doc_sections.parquet").height == 344
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("doc_sections")) is not None

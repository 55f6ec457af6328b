"""Stage 1: the Zig docs and their sections."""

import json

import dagster as dg
import polars as pl

from zigtune import settings
from zigtune.docs.sections import (
    DEFAULT_MAX_SECTION_CHARS,
    DocsFormatError,
    count_headings_and_code,
    examples_frame,
    sections_frame,
    split_sections,
)
from zigtune.docs.source import DocsSourceError, docs_fingerprint, read_docs
from zigtune.metadata import markdown_table

ZIG_DOCS_SCHEMA = pl.Schema(
    {
        "source": pl.Utf8,
        "source_format": pl.Utf8,
        "sha256": pl.Utf8,
        "raw_sha256": pl.Utf8,
        "etag": pl.Utf8,
        "last_modified": pl.Utf8,
        "markdown": pl.Utf8,
    }
)


@dg.observable_source_asset(group_name="docs")
def zig_docs_source() -> dg.DataVersion:
    """The docs where they live ($ZIGTUNE_DOCS, else the official 0.14.0 page), observed for changes.

    Its data version is a cheap fingerprint: a file's sha256, or a URL's ETag/Last-Modified (the
    body's sha256 when the server sends neither). A new version is recorded only when the docs
    changed, and only then does automation bring ``zig_docs`` and everything after it up to date.
    An unreachable source fails the observation with the reason and records nothing.
    """
    source = settings.docs_source()
    try:
        fingerprint = docs_fingerprint(source, settings.data_dir() / "downloads")
    except DocsSourceError as error:
        raise dg.Failure(
            description=f"docs source unreachable, nothing changed: {error}", allow_retries=False
        ) from None
    return dg.DataVersion(fingerprint)


class ZigDocsConfig(dg.Config):
    source: str | None = None
    """A .md or .html file, or an http(s) URL. Empty: $ZIGTUNE_DOCS, else the official 0.14.0 page."""


@dg.asset(group_name="docs", kinds={"markdown"}, code_version="1", deps=[zig_docs_source])
def zig_docs(context: dg.AssetExecutionContext, config: ZigDocsConfig) -> dg.Output[pl.DataFrame]:
    """The Zig 0.14 language reference as markdown, from a file, an HTML page or a URL (cached).

    Its data version is the hash of the markdown, so re-reading unchanged docs leaves everything
    downstream up to date.
    """
    source = config.source or settings.docs_source()
    try:
        docs = read_docs(source, settings.data_dir() / "downloads")
    except DocsSourceError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    frame = pl.DataFrame([{**docs.__dict__, "sha256": docs.sha256}], schema=ZIG_DOCS_SCHEMA)
    headings, code_blocks = count_headings_and_code(docs.markdown)
    return dg.Output(
        frame,
        data_version=dg.DataVersion(docs.sha256),
        metadata={
            "source": source,
            "format": docs.source_format,
            "sha256": docs.sha256,
            "size_bytes": len(docs.markdown.encode()),
            "headings": headings,
            "code_blocks": code_blocks,
        },
    )


class DocSectionsConfig(dg.Config):
    max_section_chars: int = DEFAULT_MAX_SECTION_CHARS
    """Sections longer than this are split into parts at paragraph or code-block boundaries."""


def _metadata(sections: pl.DataFrame) -> dict[str, dg.MetadataValue | int | float | str]:
    examples = examples_frame(sections)
    by_level = sections.filter(pl.col("part") == 0).group_by("level").len().sort("level")
    by_example = examples.group_by("kind", "expect").len().sort("len", descending=True)
    preview = sections.head(5).select(
        "section_id", "breadcrumb", "size", pl.col("text").str.slice(0, 120).str.replace_all("\n", " ")
    )
    return {
        "sections": sections.height,
        "short_sections": int(sections["is_short"].sum()),
        "split_sections": int(sections.filter(pl.col("parts") > 1)["section_id"].len()),
        "by_level": dg.MetadataValue.json({str(r["level"]): r["len"] for r in by_level.iter_rows(named=True)}),
        "size_p50": int(sections["size"].median() or 0),
        "size_p95": int(sections["size"].quantile(0.95) or 0),
        "size_max": int(sections["size"].max() or 0),
        "examples": examples.height,
        "examples_by_kind": dg.MetadataValue.json(
            {f"{r['kind']}/{r['expect']}": r["len"] for r in by_example.iter_rows(named=True)}
        ),
        "preview": dg.MetadataValue.md(markdown_table(preview)),
    }


def write_original_exports(sections: pl.DataFrame) -> None:
    """``zig_sections.jsonl`` and ``zig_sections_stats.json``, as the original script writes them."""
    directory = settings.data_dir() / "assets"
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"text": text.strip()}) for text in sections["text"]]
    stats = [
        {"id": i, "title": row["title"], "level": row["level"], "size": row["size"]}
        for i, row in enumerate(sections.select("title", "level", "size").iter_rows(named=True))
    ]
    for name, content in (
        ("zig_sections.jsonl", "\n".join(lines) + "\n"),
        ("zig_sections_stats.json", json.dumps(stats, indent=2)),
    ):
        partial = directory / f".{name}.partial"
        partial.write_text(content, encoding="utf-8")
        partial.replace(directory / name)


@dg.asset(group_name="docs", kinds={"polars"}, code_version="1")
def doc_sections(config: DocSectionsConfig, zig_docs: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    """The reference split at ``#``/``##``/``###`` headings, with ids, breadcrumbs and parsed examples."""
    try:
        sections = sections_frame(split_sections(zig_docs["markdown"][0]), config.max_section_chars)
    except DocsFormatError as error:
        raise dg.Failure(description=f"{zig_docs['source'][0]}: {error}", allow_retries=False) from None
    write_original_exports(sections)
    return dg.Output(sections, metadata=_metadata(sections))

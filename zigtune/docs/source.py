"""Read the Zig language reference from a markdown file, an HTML file or a URL, as markdown.

HTML (the page as ziglang.org publishes it) is converted with markdownify: the page's ``<h2>``,
``<h3>`` and ``<h4>`` become ``#``, ``##`` and ``###`` (the reference's own ``<h1>`` is the page
title), every code figure becomes a fenced block whose language is its caption's (``zig``,
``shell``, ``c``...), and the file name of each example is kept in a comment before it. Downloads
are cached under the data directory with their ETag and Last-Modified, and revalidated with a
conditional GET.

No dagster here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

DOWNLOAD_TIMEOUT_SECONDS = 60.0
#: The reference is ~1 MB; anything far bigger is not it (and must not fill the disk).
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class DocsSourceError(RuntimeError):
    """The docs could not be read: the message says which source and why, and what to check."""


@dataclass(frozen=True)
class DocsText:
    """The docs as markdown, with where they came from."""

    source: str
    markdown: str
    source_format: str  # "markdown" or "html"
    raw_sha256: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.markdown.encode()).hexdigest()


class _ReferenceConverter(MarkdownConverter):
    """markdownify, tuned for the Zig reference's markup."""

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:  # noqa: N802
        # The page's headings are links to the table of contents plus a "§" anchor: keep the words.
        text = el.get_text(" ", strip=True).replace("§", "").strip()
        return super().convert_hN(n - 1, el, text, parent_tags)

    def convert_figure(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        caption = el.find("figcaption")
        pre = el.find("pre")
        if pre is None:
            return text
        classes = caption.get("class", []) if isinstance(caption, Tag) else []
        language = next((c.removesuffix("-cap") for c in classes if c.endswith("-cap")), "")
        cite = caption.find("cite") if isinstance(caption, Tag) else None
        code = pre.get_text().rstrip("\n")
        fence = "````" if "```" in code else "```"
        name = f"<!-- file: {cite.get_text().strip()} -->\n" if isinstance(cite, Tag) else ""
        label = "**Shell**\n" if language == "shell" else ""
        return f"\n\n{name}{label}{fence}{language}\n{code}\n{fence}\n\n"

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "td" in parent_tags or "th" in parent_tags:  # a table cell cannot hold a fenced block
            return "`" + "<br>".join(el.get_text().strip().splitlines()) + "`"
        return super().convert_pre(el, el.get_text(), parent_tags)


def html_to_markdown(html: str) -> str:
    """The reference's ``<main id="contents">`` as markdown; a clear error for any other page."""
    soup = BeautifulSoup(html, "html.parser")
    main = soup.find("main", id="contents") or soup.find(id="contents")
    if not isinstance(main, Tag) or not main.find(["h2", "h3"]):
        raise DocsSourceError(
            "the HTML page is not a Zig language reference (no <main id='contents'> with headings); "
            "point ZIGTUNE_DOCS at https://ziglang.org/documentation/0.14.0/ or a saved copy of it"
        )
    markdown = _ReferenceConverter(heading_style="ATX", bullets="-", escape_misc=False).convert_soup(main)
    return markdown.strip() + "\n"


def _decode(data: bytes, source: str) -> str:
    if not data.strip():
        raise DocsSourceError(f"{source} is empty: expected the Zig language reference")
    if b"\x00" in data[:65536]:
        raise DocsSourceError(f"{source} is binary, not text: expected markdown or HTML")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocsSourceError(f"{source} is not UTF-8 text (byte {error.start}): expected markdown or HTML") from error


def _looks_like_html(text: str, name: str) -> bool:
    head = text.lstrip()[:512].lower()
    return name.endswith((".html", ".htm")) or head.startswith(("<!doctype html", "<html"))


def docs_from_bytes(data: bytes, source: str, etag: str | None = None, last_modified: str | None = None) -> DocsText:
    """Decode and, for HTML, convert; the one place both files and downloads go through."""
    text = _decode(data, source)
    raw_sha256 = hashlib.sha256(data).hexdigest()
    if _looks_like_html(text, urlparse(source).path or source):
        return DocsText(source, html_to_markdown(text), "html", raw_sha256, etag, last_modified)
    return DocsText(source, text, "markdown", raw_sha256, etag, last_modified)


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def _cache_paths(cache_dir: Path, url: str) -> tuple[Path, Path]:
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    return cache_dir / f"{key}.body", cache_dir / f"{key}.json"


async def _fetch(url: str, cache_dir: Path, timeout: float) -> tuple[bytes, dict[str, str | None], bool]:
    body_path, meta_path = _cache_paths(cache_dir, url)
    cached = json.loads(meta_path.read_text()) if meta_path.exists() and body_path.exists() else None
    headers = {}
    if cached and cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached and cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    try:
        async with aiohttp.ClientSession(timeout=client_timeout) as session, session.get(url, headers=headers) as reply:
            if reply.status == 304 and cached:
                return body_path.read_bytes(), cached, True
            if reply.status != 200:
                raise DocsSourceError(f"{url} answered HTTP {reply.status} {reply.reason}: check the URL")
            chunks, size = [], 0
            async for chunk in reply.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise DocsSourceError(
                        f"{url} is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB: not the Zig reference"
                    )
                chunks.append(chunk)
            data = b"".join(chunks)
            meta = {"etag": reply.headers.get("ETag"), "last_modified": reply.headers.get("Last-Modified")}
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        reason = "timed out" if isinstance(error, asyncio.TimeoutError) else str(error) or type(error).__name__
        raise DocsSourceError(f"cannot download {url}: {reason}") from error
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = body_path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(body_path)  # never leave a half-written cache entry
    meta_path.write_text(json.dumps(meta))
    return data, meta, False


def read_docs(source: str, cache_dir: Path, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> DocsText:
    """Read the docs from a path or an http(s) URL (cached), as markdown."""
    if is_url(source):
        data, meta, _ = asyncio.run(_fetch(source, cache_dir, timeout))
        return docs_from_bytes(data, source, meta.get("etag"), meta.get("last_modified"))
    path = Path(source).expanduser()
    if not path.is_file():
        raise DocsSourceError(f"docs file {source} does not exist: set ZIGTUNE_DOCS to a .md or .html file, or a URL")
    return docs_from_bytes(path.read_bytes(), str(path))


async def _probe(url: str, timeout: float) -> dict[str, str | None]:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.head(url, allow_redirects=True) as reply,
        ):
            if reply.status >= 400:
                raise DocsSourceError(f"{url} answered HTTP {reply.status} {reply.reason}: check the URL")
            return {"etag": reply.headers.get("ETag"), "last_modified": reply.headers.get("Last-Modified")}
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        reason = "timed out" if isinstance(error, asyncio.TimeoutError) else str(error) or type(error).__name__
        raise DocsSourceError(f"cannot reach {url}: {reason}") from error


def docs_fingerprint(source: str, cache_dir: Path, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> str:
    """A cheap identity of the docs' current content, for observing changes.

    Files: the sha256 of their bytes. URLs: a HEAD request's ETag/Last-Modified when the server
    sends them, else the sha256 of the (conditionally) downloaded body.
    """
    if not is_url(source):
        path = Path(source).expanduser()
        if not path.is_file():
            raise DocsSourceError(
                f"docs file {source} does not exist: set ZIGTUNE_DOCS to a .md or .html file, or a URL"
            )
        return hashlib.sha256(path.read_bytes()).hexdigest()
    headers = asyncio.run(_probe(source, timeout))
    if headers.get("etag") or headers.get("last_modified"):
        return hashlib.sha256(f"{headers.get('etag')}|{headers.get('last_modified')}".encode()).hexdigest()
    data, _, _ = asyncio.run(_fetch(source, cache_dir, timeout))
    return hashlib.sha256(data).hexdigest()

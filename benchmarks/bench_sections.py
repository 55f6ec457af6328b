"""How fast the reference is read and split: markdown splitting, HTML conversion, the original's splitter.

Usage: python benchmarks/bench_sections.py [path/to/zig-0.14.0-docs.md] [path/to/langref.html]
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from zigtune.docs.sections import sections_frame, split_sections
from zigtune.docs.source import read_docs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def original_split(markdown_content: str) -> list[dict]:
    """The original write-up's split_markdown_by_sections, verbatim in behaviour (baseline)."""
    sections, current = [], {"title": "Intro", "level": 0, "content": ""}
    for line in markdown_content.split("\n"):
        match = re.match(r"^(#{1,3})\s+(.+)$", line)
        if match:
            if current["content"].strip():
                sections.append(current)
            current = {
                "title": match.group(2),
                "level": len(match.group(1)),
                "content": f"{match.group(1)} {match.group(2)}\n",
            }
        else:
            current["content"] += line + "\n"
    if current["content"].strip():
        sections.append(current)
    return sections


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    markdown_path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "zig-0.14.0-docs.md"
    html_path = Path(sys.argv[2]) if len(sys.argv) > 2 else SHARED / "zig-0.14.0-langref.html"
    markdown = markdown_path.read_text(encoding="utf-8")
    ours = timed(lambda: sections_frame(split_sections(markdown)), 20)
    theirs = timed(lambda: original_split(markdown), 20)
    with tempfile.TemporaryDirectory() as cache:
        html = timed(lambda: read_docs(str(html_path), Path(cache)), 3)
    print(f"reference: {len(markdown):,} chars, {len(split_sections(markdown))} sections")
    print(f"split + frame (zigtune):      {ours * 1000:8.1f} ms (median of 20)")
    original = original_split(markdown)
    lost = len(markdown) - sum(len(section["content"]) for section in original)
    print(f"split (original's splitter):  {theirs * 1000:8.1f} ms (median of 20; {len(original)} sections, since it")
    print(f"                              also splits at '#' lines inside code blocks; {lost} chars lost)")
    print(f"HTML page -> markdown:        {html * 1000:8.1f} ms (median of 3)")


if __name__ == "__main__":
    main()

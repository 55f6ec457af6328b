"""A mixed corpus of Zig snippets for comparing checking strategies: the dataset's code and broken variants.

The dataset's code is what the offline docs generator puts in answers for the reference (every distinct
program, test and declaration set). Each broken variant inserts one fault at the start of the first test
or ``main`` body (or adds a bad declaration), chosen so the corpus holds every verdict and every path of
the fast strategy: errors found by AstGen and by Sema, errors raised inside ``std`` that name no snippet
(format strings), failed expectations, leaks, logged errors, panics, timeouts, and code the self-hosted
backend cannot build. Deterministic for a seed. Used by ``tests/test_batch.py`` (a sample) and
``benchmarks/bench_validation.py`` (all of it).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from zigtune.docs.sections import sections_frame, split_sections
from zigtune.generation.docs_generator import docs_pairs
from zigtune.validation.code_extraction import check_mode, extract_zig_code

DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "zig-0.14.0-docs.md"

#: The line that opens the first test or main body.
BODY_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?:test\b[^\n{]*|pub fn main\([^)\n]*\)[^\n{]*)\{[ \t]*$", re.MULTILINE)

#: Statements put first in a body, by the fault they make, and the modes they fit.
FAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "undeclared_identifier": ("_ = zigtune_missing;", ("test", "run")),
    "unused_constant": ("const zigtune_unused = 5;", ("test", "run")),
    "integer_does_not_fit": ("_ = @as(u8, 300);", ("test", "run")),
    "format_extra_argument": ('@import("std").debug.print("zigtune {d}\\n", .{ 1, 2 });', ("test", "run")),
    "format_missing_argument": ('@import("std").debug.print("{s}\\n", .{});', ("test", "run")),
    "index_out_of_bounds": (
        "var zigtune_index: usize = 7; _ = &zigtune_index; const zigtune_items = [_]u8{ 1, 2, 3 }; "
        "_ = zigtune_items[zigtune_index];",
        ("test", "run"),
    ),
    "panic": ('if (@import("std").os.argv.len < 1000) @panic("zigtune: broken on purpose");', ("test", "run")),
    "failed_expectation": ('try @import("std").testing.expect(1 + 1 == 3);', ("test",)),
    "memory_leak": ('_ = try @import("std").testing.allocator.alloc(u8, 8);', ("test",)),
    "logged_error": ('@import("std").log.err("zigtune: broken on purpose", .{});', ("test",)),
    "infinite_loop": ('while (@import("std").os.argv.len > 0) {}', ("test", "run")),
}
#: Appended instead: a test the self-hosted x86_64 backend cannot build (``TODO implement airReduce``).
BACKEND_GAP = (
    '\ntest "zigtune vector reduce" {\n    var v: @Vector(8, f16) = @splat(1.5);\n    _ = &v;\n'
    '    try @import("std").testing.expect(@reduce(.Mul, v) > 1.0);\n}\n'
)
#: Appended to declarations (checked with build-obj): a public constant that does not fit its type.
BAD_DECLARATION = "\npub const zigtune_bad: u8 = 300;\n"
#: At most this many of these faults: a timeout costs the run's limit in either strategy, and the
#: backend gap is made up (dataset code rarely meets one); a few are enough to compare strategies.
CAPPED_FAULTS = {"infinite_loop": 2, "backend_gap": 3}


@dataclass(frozen=True)
class Snippet:
    """One corpus entry: its code, how it is checked, and where it came from."""

    name: str
    code: str
    mode: str
    fault: str  # "none" for the dataset's own code


def dataset_codes(docs: Path = DEFAULT_DOCS) -> list[str]:
    """The distinct Zig code of the offline generator's pairs for ``docs``, in document order."""
    sections = sections_frame(split_sections(docs.read_text(encoding="utf-8")))
    codes = (extract_zig_code(row["response"]) for row in docs_pairs(sections).rows)
    return list(dict.fromkeys(code for code in codes if code))


def break_code(code: str, fault: str) -> str | None:
    """``code`` with ``fault``; ``None`` when the fault does not fit it."""
    mode = check_mode(code)
    if fault == "backend_gap":
        return code + BACKEND_GAP if mode == "test" else None
    if fault == "bad_declaration":
        return code + BAD_DECLARATION if mode == "build-obj" else None
    statement, modes = FAULTS[fault]
    opening = BODY_OPEN.search(code)
    if mode not in modes or opening is None:
        return None
    line = f"\n{opening.group('indent')}    {statement}"
    return code[: opening.end()] + line + code[opening.end() :]


def corpus(docs: Path = DEFAULT_DOCS, variants_per_code: int = 1, seed: int = 0) -> list[Snippet]:
    """The dataset's code, then ``variants_per_code`` broken variants of each (faults drawn by ``seed``)."""
    rng = random.Random(seed)
    snippets: list[Snippet] = []
    broken: list[Snippet] = []
    used = {fault: 0 for fault in CAPPED_FAULTS}
    faults = [*FAULTS, "backend_gap", "bad_declaration"]
    for number, code in enumerate(dataset_codes(docs)):
        snippets.append(Snippet(f"dataset-{number}", code, check_mode(code), "none"))
        for fault in rng.sample(faults, len(faults)):
            if sum(1 for snippet in broken if snippet.name.startswith(f"broken-{number}-")) >= variants_per_code:
                break
            if fault in CAPPED_FAULTS and used[fault] >= CAPPED_FAULTS[fault]:
                continue
            variant = break_code(code, fault)
            if variant is None:
                continue
            if fault in used:
                used[fault] += 1
            broken.append(Snippet(f"broken-{number}-{fault}", variant, check_mode(variant), fault))
    return snippets + broken

"""Variants: working programs with their constants, bounds and strings changed, and the new behaviour run.

A variant changes about half of a program's integer literals (values, array and loop bounds) and
words of its string literals at once, chosen by a seeded generator, so the same docs always give the
same variants. Each variant is run with Zig 0.14 and kept only when it builds and its behaviour is
new: a program that prints something else than the original and every earlier variant, or a test
file whose report differs. From each kept variant:

- a program gives two pairs: "what does this print?" (the new output), and "change this program so
  that it prints <new output>" (the variant's code, its output as ``expected_output``);
- a test file gives one: "what does ``zig test`` report?" (which tests now fail, and how);
- a variant that no longer compiles, or a program that now panics, gives "why does this code fail?"
  answered with this compiler's (or runtime's) message: the change broke a rule of the language
  (an array literal of the wrong length, a constant out of its type's range, an index out of bounds).

Dropped, counted by reason: ``no_error_text`` (a failure without a message to quote),
``does_not_run`` (a program that fails without a panic message), ``same_behaviour`` (the change
did not change what it prints or reports), ``no_plain_output`` / ``no_plain_report`` (see
:mod:`zigtune.generation.predict_output`), and ``no_mutation_site`` (nothing to change). No dagster here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from zigtune.generation.docs_generator import failure_pair
from zigtune.generation.execution import (
    CheckedProgram,
    Checker,
    FamilyResult,
    Printed,
    Program,
    clean_paths,
    printed_output,
    read_test_report,
)
from zigtune.generation.migrations import apply_edits
from zigtune.generation.pairs import Row
from zigtune.generation.predict_output import describe_report, output_pair, report_pair
from zigtune.validation.code_extraction import check_mode
from zigtune.validation.verdicts import Verdict
from zigtune.validation.zig_syntax import view_source

FAMILY = "variant"

#: Variants tried per program (``run``) and per test file (``test``).
VARIANTS_PER_PROGRAM = {"run": 2, "test": 1}
#: Share of a program's mutation sites changed in one variant.
MUTATED_SHARE = 0.5

#: Words a string literal's words become: plain, distinct, and the same every run.
WORDS = (
    "amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
    "kelp", "lagoon", "marble", "nectar", "onyx", "pebble", "quartz", "raven", "saffron", "tundra",
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    """A span of the code a variant may change: its text, and whether it is an ``integer`` or a ``word``."""

    start: int
    end: int
    text: str
    kind: str


# A decimal integer literal that is not part of a name, a float or a field access; `0..10` has two.
_INTEGER = re.compile(r"(?:(?<=\.\.)|(?<![\w.]))\d+(?![\w]|\.(?!\.))")
_EXPECT = {Verdict.COMPILE_ERROR: "compile_error", Verdict.RUNTIME_ERROR: "runtime_panic"}

# A string literal right after these is a name, not text a program prints.
_NAME_STRING = re.compile(r"(?:@(?:import|embedFile|field|hasDecl|hasField|cImport|cInclude)\s*\(|\btest)\s*$")
# Inside a string literal: escapes and format specifiers are kept, words of three letters or more change.
_STRING_PART = re.compile(r"\\.|\{[^{}]*\}|[A-Za-z]{3,}")


def mutation_sites(code: str) -> list[Site]:
    """Where a variant may change ``code``: integer literals and words inside string literals.

    An integer whose digits also stand in the program's text (a string, a multiline string or a comment) is left
    alone: the text may describe the value (``print("10 / 3 = {}", .{divmod(10, 3)})``), and a changed value
    would make the program's own words lie.
    """
    view = view_source(code)
    text = "".join(char if char != masked else " " for char, masked in zip(code, view.masked, strict=True))
    quoted = set(re.findall(r"\d+", text))
    sites = [
        Site(m.start(), m.end(), m.group(), "integer")
        for m in _INTEGER.finditer(view.masked)
        if not _commented_line(code, m.start()) and m.group() not in quoted
    ]
    for start, end in view.strings:
        if _NAME_STRING.search(code, 0, start) or (start > 0 and code[start - 1] == "@"):
            continue  # a name (a test's, an import's, a field's, an @"identifier"), not text
        if _commented_line(code, start):
            continue
        for part in _STRING_PART.finditer(code, start + 1, end - 1):
            if part.group()[0].isalpha():
                sites.append(Site(part.start(), part.end(), part.group(), "word"))
    return sorted(sites, key=lambda site: site.start)


def _commented_line(code: str, position: int) -> bool:
    """Is there a ``//`` comment on the line of ``position``? Its words may describe the value (``// 0``),
    and a changed value would make the comment lie, so such lines are left alone."""
    end = code.find("\n", position)
    line = code[code.rfind("\n", 0, position) + 1 : end if end != -1 else len(code)]
    return "//" in line


def _new_integer(text: str, rng: random.Random) -> str:
    value = int(text)
    choices = [value + d for d in (1, 2, 3, 5, 7) if value + d != value] + [v for v in (value - 1, value * 2) if v >= 0]
    return str(rng.choice([c for c in choices if c != value]))


def _new_word(text: str, rng: random.Random) -> str:
    word = rng.choice([w for w in WORDS if w != text.lower()])
    return word.capitalize() if text[0].isupper() else word.upper() if text.isupper() else word


def mutate(code: str, seed: str, share: float = MUTATED_SHARE) -> str | None:
    """A variant of ``code``: a seeded choice of sites, each given a new value; ``None`` without sites."""
    sites = mutation_sites(code)
    if not sites:
        return None
    rng = random.Random(seed)
    chosen = rng.sample(sites, k=max(1, round(len(sites) * share)))
    edits = [
        (site.start, site.end, _new_integer(site.text, rng) if site.kind == "integer" else _new_word(site.text, rng))
        for site in sorted(chosen, key=lambda site: site.start)
    ]
    changed = apply_edits(code, edits)
    return changed if changed != code else None


def change_instruction(code: str, before: Printed, after: Printed) -> str:
    return (
        "Change this Zig 0.14 program so that it prints exactly:\n\n"
        f"```text\n{after.text}```\n\ninstead of:\n\n```text\n{before.text}```\n\n```zig\n{code}```"
    )


def change_pair(program: Program, variant: str, before: Printed, after: Printed) -> Row:
    return program.pair(
        instruction=change_instruction(program.code, before, after),
        response=f"```zig\n{variant}```",
        kind="code",
        expected_output=after.text,
        family=FAMILY,
        behaviour_check="output",
    )


def _changed_lines(before: str, after: str) -> list[tuple[int, str, str]]:
    return [
        (number, old, new)
        for number, (old, new) in enumerate(zip(before.split("\n"), after.split("\n"), strict=False), start=1)
        if old != new
    ]


def broken_variant_pair(program: Program, variant: str, verdict: Verdict, transcript: str) -> Row | None:
    """ "Why does this fail, and how do I fix it?" for a variant that no longer builds or now panics.

    The answer names the cause (the compiler's or the runtime's message, and the changed lines where it
    points), and shows the fix: the changed lines as they were, and the program that passed here. ``None``
    without a message to quote.
    """
    expect = _EXPECT[verdict]
    row = failure_pair(
        {**program.example(), "code": variant, "expect": expect}, transcript, None, checked=True, family=FAMILY
    )
    if row is None:
        return None
    changes = _changed_lines(program.code, variant)
    if not changes:
        return None
    own = "|".join(re.escape(name) for name in {program.name, "main.zig"})
    pointed = {int(n) for n in re.findall(rf"(?:^|[\s/])(?:{own}):(\d+):\d+", transcript, re.MULTILINE)}
    causes = [change for change in changes if change[0] in pointed] or changes[:4]
    shown = "\n".join(f"- line {number}: `{new.strip()}` (it was `{old.strip()}`)" for number, old, new in causes)
    where = (
        "the line the message points at, changed by this version"
        if pointed & {c[0] for c in causes}
        else ("one of the values this version changed")
    )
    lines = "that line" if len(changes) == 1 else f"the {len(changes)} lines this version changed"
    response = (
        f"{row['response']}\n\nThe cause is {where}:\n{shown}\n\n"
        f"Fix: restore what {lines} had. The program as it was builds and runs cleanly under Zig 0.14:"
        f"\n\n```zig\n{program.code}```"
    )
    return program.pair(
        instruction=f"This Zig 0.14 code fails. Why, and how do I fix it?\n\n```zig\n{variant}```",
        response=response,
        kind="code",
        family=FAMILY,
        behaviour_check="error",
        check_code=variant,
        check_verdict=verdict.value,
    )


def candidates(programs: Sequence[CheckedProgram]) -> tuple[list[tuple[CheckedProgram, str]], int]:
    """The variants to try, in a fixed order, and how many passing programs had nothing to change."""
    tried: list[tuple[CheckedProgram, str]] = []
    without_sites = 0
    for checked in programs:
        mode = check_mode(checked.program.code)
        if not checked.passes or mode not in VARIANTS_PER_PROGRAM:
            continue
        seen: set[str] = set()
        for index in range(VARIANTS_PER_PROGRAM[mode]):
            variant = mutate(checked.program.code, f"{checked.program.name}:{index}")
            if variant is None:
                without_sites += index == 0
                break
            if variant not in seen:
                seen.add(variant)
                tried.append((checked, variant))
    return tried, without_sites


async def variant_pairs(programs: Sequence[CheckedProgram], check: Checker) -> FamilyResult:
    """Pairs from the variants of every passing program and test file; see the module docstring."""
    result = FamilyResult(FAMILY)
    tried, without_sites = candidates(programs)
    result.dropped["no_mutation_site"] += without_sites
    results = await check([checked.program.job(variant) for checked, variant in tried])
    behaviours: dict[str, set[str]] = {}
    for checked, variant in tried:
        program = checked.program
        mode = check_mode(variant)
        ran = results[program.job(variant)]
        failed = ran.verdict is Verdict.COMPILE_ERROR or (mode == "run" and ran.verdict is Verdict.RUNTIME_ERROR)
        if failed:
            row = broken_variant_pair(program, variant, ran.verdict, clean_paths(ran.stderr))
            if row is None:
                result.reject(program, "no_error_text", variant)
            else:
                result.kept_by[f"fails_{_EXPECT[ran.verdict]}"] += 1
                result.rows.append(row)
            continue
        seen = behaviours.setdefault(program.name, set())
        if mode == "run":
            if ran.verdict is not Verdict.OK:
                result.reject(program, "does_not_run", variant)
                continue
            before, after = printed_output(checked.result), printed_output(ran)
            if before is None or after is None:
                result.reject(program, "no_plain_output", variant)
                continue
            if after.text == before.text or after.text in seen:
                result.reject(program, "same_behaviour", variant)
                continue
            seen.add(after.text)
            result.kept_by["program"] += 1
            result.rows.append(output_pair(program, variant, after, FAMILY))
            result.rows.append(change_pair(program, variant, before, after))
        else:
            report, original = read_test_report(ran.stderr), read_test_report(checked.result.stderr)
            if (
                report is None
                or original is None
                or ran.verdict not in (Verdict.OK, Verdict.TEST_FAILURE, Verdict.RUNTIME_ERROR)
            ):
                result.reject(program, "no_plain_report", variant)
                continue
            described = describe_report(report)
            if described == describe_report(original) or described in seen:
                result.reject(program, "same_behaviour", variant)
                continue
            seen.add(described)
            result.kept_by["test_file"] += 1
            result.rows.append(report_pair(program, variant, report, FAMILY, ran.verdict.value))
    return result

"""Concept pairs: "explain <section>" answered by the section's text with its code kept, and the code run.

The answer is the section as a reader sees it, minus headings, example markers and "See also" lists:
prose and Zig code in their order, so no lead-in sentence ("... as follows:") is left without the
code it introduces. Every transcript of the reference is replaced by what running the example here
gave (the program's output, the test runner's report, or the compiler's or runtime's error), so
nothing in the answer is taken on trust:

- an annotated example must do here what the reference says it does (pass, or fail with the
  annotated error);
- a ``syntax`` example, or a Zig block without an annotation, must pass ``zig ast-check`` (it parses
  and its names resolve);
- the program the validation stage will extract from the answer (``extract_zig_code``) must pass.

Sections whose code cannot be checked this way are dropped, counted by reason: ``example_not_run``
(an example for another target or with build options), ``example_not_reproduced``,
``fragment_fails_ast_check``, ``answer_code_fails``. Also dropped: ``short_section`` and
``too_little_prose`` (a section that is almost all code explains nothing). Sections without code
are kept as prose: nothing was cut out of them. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from zigtune.docs.sections import SHORT_SECTION_CHARS
from zigtune.generation.docs_generator import failure_answer, prose
from zigtune.generation.execution import (
    DEFAULT_OPTIONS,
    CheckedProgram,
    Checker,
    FamilyResult,
    Job,
    clean_paths,
    job,
    printed_output,
)
from zigtune.generation.pairs import docs_pair
from zigtune.validation.code_extraction import check_mode, extract_zig_code
from zigtune.validation.verdicts import Verdict

FAMILY = "concept"
MIN_PROSE_CHARS = 80

_PIECE = re.compile(
    r"(?P<fence>^ {0,3}(?P<marks>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^ {0,3}(?P=marks)[ \t]*$\n?)"
    r"|(?P<comment><!--(?P<inside>.*?)-->[ \t]*\n?)",
    re.MULTILINE | re.DOTALL,
)
_EXAMPLE = re.compile(r"^\s*example:\s*(?P<name>.+?)\s+kind=(?P<kind>\S+)")
_OUTPUT = re.compile(r"^\s*output:\s*(?P<name>.+?)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+.*\n?", re.MULTILINE)
_SEE_ALSO = re.compile(r"^See also:\s*\n(?:\s*[-*] .*\n?)*", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\((?:#|https?://)[^)]*\)")
_SHELL_LABEL = re.compile(r"^\*\*Shell\*\*\s*$\n?", re.MULTILINE)
_DANGLING = re.compile(r":\s*$")


@dataclass
class Draft:
    """A concept answer being assembled, and what it needs checked before it can be kept."""

    parts: list[str] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)  # Zig that must pass ast-check
    problem: str | None = None
    shown: set[str] = field(default_factory=set)  # programs whose output or report the answer shows

    @property
    def text(self) -> str:
        joined = "".join(self.parts)
        return re.sub(r"\n{3,}", "\n\n", joined).strip() + "\n"


def _clean_prose(text: str) -> str:
    for pattern in (_HEADING, _SEE_ALSO, _SHELL_LABEL):
        text = pattern.sub("", text)
    return _LINK.sub(r"\1", text)


def _fenced(info: str, body: str) -> str:
    return f"\n```{info}\n{body if body.endswith(chr(10)) else body + chr(10)}```\n\n"


def observed(checked: CheckedProgram) -> str:
    """What running an example here gave, in words and a ```` ```text ```` block."""
    result, program = checked.result, checked.program
    if program.expect != "pass":
        answer = failure_answer(program.expect, clean_paths(result.stderr), program.error_text, None)
        return f"\n{answer}\n\n" if answer else ""
    mode = check_mode(program.code)
    if mode == "test":
        report = clean_paths(result.stderr).strip()
        return f"\n`zig test` reports:\n{_fenced('text', report)}" if report else ""
    if mode == "run":
        printed = printed_output(result)
        if printed is not None:
            return f"\nIt prints:\n{_fenced('text', printed.text)}"
        streams = [
            (name, text) for name, text in (("standard output", result.stdout), ("standard error", result.stderr))
        ]
        shown = [f"On {name}:\n{_fenced('text', text)}" for name, text in streams if text.strip()]
        return "\n" + "".join(shown) if shown else ""
    return ""


def draft_answer(text: str, programs: Mapping[str, CheckedProgram]) -> Draft:
    """The section's text as an answer: prose, its Zig code, and what running the code gave."""
    draft = Draft()
    pending_example: tuple[str, str] | None = None  # (name, kind)
    pending_output: str | None = None
    position = 0
    for piece in _PIECE.finditer(text):
        draft.parts.append(_clean_prose(text[position : piece.start()]))
        position = piece.end()
        if piece["comment"] is not None:
            if example := _EXAMPLE.match(piece["inside"]):
                pending_example = (example["name"], example["kind"])
            elif output := _OUTPUT.match(piece["inside"]):
                pending_output = output["name"]
            continue
        info, body = piece["info"].strip(), piece["body"]
        if pending_example is not None:
            name, kind = pending_example
            pending_example = None
            draft.parts.append(_fenced("zig", body))
            if kind == "syntax":
                draft.fragments.append(body)
            elif name not in programs:
                draft.problem = draft.problem or "example_not_run"
            elif not programs[name].reproduced:
                draft.problem = draft.problem or "example_not_reproduced"
        elif pending_output is not None:
            name, pending_output = pending_output, None
            if name in programs:
                rendered = observed(programs[name])
                draft.parts.append(rendered)
                if rendered.strip():
                    draft.shown.add(programs[name].program.code)
            else:
                draft.problem = draft.problem or "example_not_run"
        else:
            draft.parts.append(_fenced(info, body))
            if info.split()[0].lower() == "zig" if info else False:
                draft.fragments.append(body)
    draft.parts.append(_clean_prose(text[position:]))
    return draft


def concept_instruction(section: Mapping[str, object], has_code: bool) -> str:
    breadcrumb = str(section["breadcrumb"])
    parent = breadcrumb.rsplit(" > ", 1)[0] if " > " in breadcrumb else None
    instruction = f"Explain {section['title']} in Zig 0.14"
    instruction += f" (in the context of {parent})." if parent else "."
    if int(section["parts"]) > 1:  # type: ignore[call-overload]
        instruction += f" Cover part {int(section['part']) + 1} of {section['parts']} of the reference's section."  # type: ignore[call-overload]
    if has_code:
        instruction += " Show it with Zig code and what the code does when it is built and run."
    return instruction


async def concept_pairs(sections: pl.DataFrame, programs: Sequence[CheckedProgram], check: Checker) -> FamilyResult:
    """One pair per section (or part) with enough prose whose code all checks out."""
    result = FamilyResult(FAMILY)
    by_name = {checked.program.name: checked for checked in programs}
    drafts: list[tuple[dict[str, object], Draft]] = []
    for section in sections.iter_rows(named=True):
        if len(section["text"].strip()) <= SHORT_SECTION_CHARS:
            result.dropped["short_section"] += 1
            continue
        if len(prose(section["text"])) < MIN_PROSE_CHARS:
            result.dropped["too_little_prose"] += 1
            continue
        draft = draft_answer(section["text"], by_name)
        if draft.problem:
            result.dropped[draft.problem] += 1
            continue
        drafts.append((section, draft))
    jobs: list[Job] = [(fragment, "ast-check", DEFAULT_OPTIONS) for _, draft in drafts for fragment in draft.fragments]
    extracted = {id(draft): extract_zig_code(draft.text) for _, draft in drafts}
    # The program validation extracts is usually one of the reference's examples: the pair names it,
    # so that validation builds it with that example's options, as it was built here.
    by_code = {checked.program.code: checked.program for checked in programs}

    def check_of(code: str) -> Job:
        return by_code[code].job() if code in by_code else job(code)

    jobs += [check_of(code) for code in extracted.values() if code is not None]
    results = await check(jobs)
    for section, draft in drafts:
        where = (str(section["section_id"]), str(section["breadcrumb"]))
        fragments = [results[fragment, "ast-check", DEFAULT_OPTIONS] for fragment in draft.fragments]
        if any(fragment.verdict is not Verdict.OK for fragment in fragments):
            result.reject_in(*where, "fragment_fails_ast_check", draft.text)
            continue
        code = extracted[id(draft)]
        mode = check_mode(code) if code is not None else None
        if code is not None and results[check_of(code)].verdict is not Verdict.OK:
            result.reject_in(*where, "answer_code_fails", draft.text)
            continue
        answer = draft.text
        if _DANGLING.search(answer):
            result.dropped["dangling_lead_in"] += 1
            continue
        behaviour = {"test": "tests", "run": "output" if code in draft.shown else "runs", "build-obj": "compiles"}
        result.kept_by["with_code" if code else "prose_only"] += 1
        result.rows.append(
            docs_pair(
                section_id=str(section["section_id"]),
                breadcrumb=str(section["breadcrumb"]),
                instruction=concept_instruction(section, code is not None),
                response=answer,
                kind="code" if code else "concept",
                example_name=by_code[code].name if code in by_code else None,
                family=FAMILY,
                checked=code is not None,
                behaviour_check=behaviour[mode] if mode else None,  # type: ignore[arg-type]
            )
        )
    return result

"""The ``docs`` generator: deterministic instruction/response pairs from the reference itself.

No model and no network: the same docs always give the same pairs, byte for byte.

- **Code pairs**, one per runnable annotated example (``expect=pass`` of kind ``exe``, ``test`` or
  ``obj``): a task written from the section's title, breadcrumb, the example's file name and the
  paragraph that introduces it, answered by the example as a ```` ```zig ```` block. For ``exe``
  examples the published program output (``sections.program_output``) becomes ``expected_output``
  and is quoted in the task. ``test`` examples are checked by their tests passing, so their runner
  transcript is not an expected output; ``obj`` examples (no ``main``) by compiling.
- **Failure pairs** (kind ``concept``), one per example the reference shows failing
  (``compile_error``, ``runtime_failure``, ``runtime_panic``, ``test_failure``): "why does this code
  fail?" with the code, answered by the error the published transcript shows and the reference's
  own explanation. A fixed version is not in the docs, so no "fix it" task is invented.
- **Concept pairs**, one per section (or part) over 200 characters: "explain <title>" answered by
  the section's prose (code, transcripts, example markers and "See also" lists removed).

Skipped, with the reason counted: ``syntax`` examples (fragments the reference only parses, not
programs), examples built for another target (``target=wasm32-...``, ``x86_64-windows``) that this
machine cannot run, failures whose transcript names no error, and sections with too little prose.
No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from zigtune.docs.sections import SHORT_SECTION_CHARS, examples_frame, program_output
from zigtune.generation.pairs import DOCS_MODEL, pair_row

#: The docs generator has no prompt template; its "template hash" names its rules' version.
DOCS_TEMPLATE_VERSION = "docs-v1"

#: Concept answers are cut at a paragraph boundary past this many characters.
MAX_CONCEPT_CHARS = 4000
MIN_PROSE_CHARS = 80
MAX_CONTEXT_CHARS = 500

RUNNABLE_KINDS = ("exe", "test", "obj")
FAILING_EXPECTS = ("compile_error", "runtime_failure", "runtime_panic", "test_failure")
HOST_TARGETS = ("", "x86_64-linux", "native")

_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?^ {0,3}\1[ \t]*$\n?", re.MULTILINE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+.*\n?", re.MULTILINE)
_SEE_ALSO = re.compile(r"^See also:\s*\n(?:\s*[-*] .*\n?)*", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\((?:#|https?://)[^)]*\)")
_SHELL_LABEL = re.compile(r"^\*\*Shell\*\*\s*$\n?", re.MULTILINE)
_ERROR_LINE = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):(?P<column>\d+): error: (?P<message>.+)$", re.MULTILINE)
_PANIC_LINE = re.compile(r"panic: (?P<message>.+)$", re.MULTILINE)
_RETURNED_ERROR = re.compile(r"^error: (?P<message>\w+)$", re.MULTILINE)
_TEST_FAIL = re.compile(r"\.\.\.FAIL \((?P<message>\w+)\)")


@dataclass
class DocsPairs:
    rows: list[dict[str, str | None]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def prose(text: str) -> str:
    """The section's words: no headings, code, transcripts, example markers or "See also" lists."""
    text = _FENCED.sub("", text)
    for pattern in (_COMMENT, _HEADING, _SEE_ALSO, _SHELL_LABEL):
        text = pattern.sub("", text)
    text = _LINK.sub(r"\1", text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join(paragraphs)


def _cut(text: str, limit: int) -> str:
    """``text`` up to the last paragraph (else sentence) boundary before ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for boundary in ("\n\n", ". "):
        at = head.rfind(boundary)
        if at > limit // 2:
            return head[: at + (1 if boundary == ". " else 0)].rstrip()
    return head.rstrip() + "…"


def introduction(section_text: str, example_name: str) -> str | None:
    """The paragraph just before the example's marker, when it is prose (the reference's lead-in)."""
    marker = section_text.find(f"<!-- example: {example_name} ")
    if marker < 0:
        return None
    before = prose(section_text[:marker]).rsplit("\n\n", 1)[-1].strip()
    return _cut(before, MAX_CONTEXT_CHARS) if len(before) >= 20 else None


def topic(title: str, example_name: str) -> str:
    """``"Integers (integer widening)"`` from the title and ``test_integer_widening.zig``."""
    stem = re.sub(r"\.zig$", "", example_name)
    stem = re.sub(r"^(test|testing)_", "", stem).replace("_", " ").replace("-", " ").strip()
    return f"{title} ({stem})" if stem and stem.lower() != title.lower() else title


def _where(breadcrumb: str) -> str:
    return f'the "{breadcrumb}" section of the Zig 0.14 reference'


def code_instruction(kind: str, title: str, breadcrumb: str, name: str, lead: str | None, output: str | None) -> str:
    subject = topic(title, name)
    if kind == "exe":
        task = (
            f"Write a complete Zig 0.14 program (with `pub fn main`) that demonstrates {subject}, "
            f"as in {_where(breadcrumb)}."
        )
    elif kind == "test":
        task = (
            f"Write a Zig 0.14 source file whose `test` blocks demonstrate {subject}, as in {_where(breadcrumb)}. "
            "All tests must pass under `zig test`."
        )
    else:
        task = (
            f"Write a Zig 0.14 source file without `main` that compiles with `zig build-obj` and demonstrates "
            f"{subject}, as in {_where(breadcrumb)}."
        )
    if lead:
        task += f"\n\nContext: {lead}"
    if output:
        task += f"\n\nWhen run, the program prints exactly:\n```\n{output}```"
    return task


def failure_answer(expect: str, transcript: str | None, error_text: str | None, lead: str | None) -> str | None:
    """What went wrong, in words, from the published transcript; ``None`` when it names no error."""
    transcript = transcript or ""
    compile_error = _ERROR_LINE.search(transcript)
    if expect == "compile_error" and (compile_error or error_text):
        if compile_error:
            lines = transcript[compile_error.end() :].lstrip("\n").splitlines()
            source = f": `{lines[0].strip()}`" if lines and lines[0].strip() else ""
            answer = (
                f"It does not compile. The compiler reports `error: {compile_error['message']}` "
                f"at line {compile_error['line']}{source}."
            )
        else:
            answer = f"It does not compile. The compiler reports `error: {error_text}`."
    elif expect == "test_failure" and (found := _TEST_FAIL.search(transcript)):
        answer = f"It compiles, but a test fails: it returns `error.{found['message']}` instead of passing."
    elif expect in ("runtime_panic", "runtime_failure") and (found := _PANIC_LINE.search(transcript)):
        answer = f"It compiles, but it panics at run time: `panic: {found['message']}`."
    elif expect == "runtime_failure" and (found := _RETURNED_ERROR.search(transcript)):
        answer = f"It compiles, but at run time `main` returns `error.{found['message']}` and the program fails."
    elif error_text:
        answer = f"It compiles, but it fails at run time with `{error_text}`."
    else:
        return None
    if lead:
        answer += f"\n\nThe reference introduces it this way: {lead}"
    return answer


def _verb(expect: str) -> str:
    return "fail to compile" if expect == "compile_error" else "fail when it runs"


def example_pairs(sections: pl.DataFrame, into: DocsPairs) -> None:
    for example in examples_frame(sections).iter_rows(named=True):
        name, kind, expect = example["name"], example["kind"], example["expect"]
        target = re.search(r"\btarget=(\S+)", example["options"] or "")
        if kind == "syntax":
            into.skipped["syntax_fragment"] += 1
            continue
        if kind not in RUNNABLE_KINDS:
            into.skipped[f"kind_{kind}"] += 1
            continue
        if target and target.group(1) not in HOST_TARGETS:
            into.skipped["other_target"] += 1
            continue
        lead = introduction(example["text"], name)
        common = {
            "section_id": example["section_id"],
            "breadcrumb": example["breadcrumb"],
            "example_name": name,
            "generator": "docs",
            "model": DOCS_MODEL,
            "template_hash": DOCS_TEMPLATE_VERSION,
        }
        if expect == "pass":
            output = program_output(example["output"]) if kind == "exe" else None
            instruction = code_instruction(kind, example["title"], example["breadcrumb"], name, lead, output)
            response = f"```zig\n{example['code']}```"
            into.rows.append(
                pair_row(
                    **common,
                    instruction=instruction,
                    response=response,
                    kind="code",
                    expected_output=output,
                )
            )
        elif expect in FAILING_EXPECTS:
            answer = failure_answer(expect, example["output"], example["error_text"], lead)
            if answer is None:
                into.skipped["failure_without_error_text"] += 1
                continue
            instruction = f"Why does this Zig 0.14 code {_verb(expect)}?\n\n```zig\n{example['code']}```"
            into.rows.append(
                pair_row(
                    **common,
                    instruction=instruction,
                    response=answer,
                    kind="concept",
                )
            )
        else:
            into.skipped[f"expect_{expect}"] += 1


def concept_pairs(sections: pl.DataFrame, into: DocsPairs) -> None:
    for section in sections.iter_rows(named=True):
        if len(section["text"].strip()) <= SHORT_SECTION_CHARS:
            into.skipped["short_section"] += 1
            continue
        words = prose(section["text"])
        if len(words) < MIN_PROSE_CHARS:
            into.skipped["too_little_prose"] += 1
            continue
        parent = section["breadcrumb"].rsplit(" > ", 1)[0] if " > " in section["breadcrumb"] else None
        instruction = f"Explain {section['title']} in Zig 0.14"
        instruction += f" (in the context of {parent})." if parent else "."
        if section["parts"] > 1:
            instruction += f" Cover part {section['part'] + 1} of {section['parts']} of the reference's section."
        into.rows.append(
            pair_row(
                section_id=section["section_id"],
                breadcrumb=section["breadcrumb"],
                instruction=instruction,
                response=_cut(words, MAX_CONCEPT_CHARS),
                kind="concept",
                generator="docs",
                model=DOCS_MODEL,
                template_hash=DOCS_TEMPLATE_VERSION,
            )
        )


def docs_pairs(sections: pl.DataFrame) -> DocsPairs:
    """All docs-generator pairs for a ``doc_sections`` table, in document order, and what was skipped."""
    result = DocsPairs()
    example_pairs(sections, result)
    concept_pairs(sections, result)
    order = {section_id: index for index, section_id in enumerate(sections["section_id"])}
    result.rows.sort(key=lambda row: order[str(row["section_id"])])  # stable: examples before concepts
    return result

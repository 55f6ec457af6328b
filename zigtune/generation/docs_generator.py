"""Pairs written from the reference's annotated examples: "write this program" and "why does this fail?".

No model and no network: the same docs always give the same pairs, byte for byte.

- **Code pairs**, one per runnable annotated example (``expect=pass`` of kind ``exe``, ``test`` or
  ``obj``): a task written from the section's title, breadcrumb, the example's file name and the
  paragraph that introduces it, answered by the example as a ```` ```zig ```` block. For ``exe``
  examples the program's output becomes ``expected_output`` and is quoted in the task. ``test``
  examples are checked by their tests passing, so their runner transcript is not an expected
  output; ``obj`` examples (no ``main``) by compiling.
- **Failure pairs** (kind ``concept``), one per example the reference shows failing
  (``compile_error``, ``runtime_failure``, ``runtime_panic``, ``test_failure``): "why does this code
  fail?" with the code, answered by the error the transcript shows and the reference's own
  explanation. A fixed version is not in the docs, so no "fix it" task is invented.

:func:`example_pair` and :func:`failure_pair` write one pair from an example and a transcript.
:func:`docs_pairs` writes them all from the published transcripts, without running anything; the
offline generator (:mod:`zigtune.generation.offline`) writes them from what running the examples
with Zig 0.14 printed, and keeps only the examples whose run agrees with the reference.

Skipped, with the reason counted: ``syntax`` examples (fragments the reference only parses, not
programs), examples built for another target (``target=wasm32-...``, ``x86_64-windows``) that this
machine cannot run, and failures whose transcript names no error. Concept pairs ("explain this
section") are :mod:`zigtune.generation.concepts`: they keep the section's code, and the code is run.
No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from zigtune.docs.sections import examples_frame, program_output
from zigtune.generation.pairs import Row, docs_pair

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
    rows: list[Row] = field(default_factory=list)
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
    # The lead-in of a code block ends on a colon ("... as follows:"); in a task the code is not there.
    before = re.sub(r"\s*:$", ".", before)
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


def _common(example: Mapping[str, Any]) -> dict[str, Any]:
    return {"section_id": example["section_id"], "breadcrumb": example["breadcrumb"], "example_name": example["name"]}


def example_pair(example: Mapping[str, Any], output: str | None, *, checked: bool = False) -> Row:
    """ "Write a program that ..." answered by a passing example; ``output`` is what an ``exe`` prints."""
    kind = example["kind"]
    lead = introduction(example["text"], example["name"])
    instruction = code_instruction(kind, example["title"], example["breadcrumb"], example["name"], lead, output)
    behaviour = (
        "tests" if kind == "test" else "output" if output is not None else "runs" if kind == "exe" else "compiles"
    )
    return docs_pair(
        **_common(example),
        instruction=instruction,
        response=f"```zig\n{example['code']}```",
        kind="code",
        expected_output=output,
        family="reference_example",
        checked=checked,
        behaviour_check=behaviour if checked else None,
    )


def failure_pair(
    example: Mapping[str, Any],
    transcript: str | None,
    error_text: str | None,
    *,
    checked: bool = False,
    family: str = "failure_explanation",
    verdict: str | None = None,
) -> Row | None:
    """ "Why does this code fail?" answered from the failure's transcript; ``None`` when it names no error.

    The reference's own words about the example are quoted only for the reference's examples
    (``family="failure_explanation"``): they do not describe a variant of it. ``verdict``: what the
    run of the code gave (``compile_error``, ...), for validation to confirm.
    """
    lead = introduction(example["text"], example["name"]) if family == "failure_explanation" else None
    answer = failure_answer(example["expect"], transcript, error_text, lead)
    if answer is None:
        return None
    return docs_pair(
        **_common(example),
        instruction=f"Why does this Zig 0.14 code {_verb(example['expect'])}?\n\n```zig\n{example['code']}```",
        response=answer,
        kind="concept",
        family=family,
        checked=checked,
        behaviour_check="error" if checked else None,
        check_code=example["code"] if checked else None,
        check_verdict=verdict if checked else None,
    )


def skip_reason(example: Mapping[str, Any]) -> str | None:
    """Why an example gives no pair here (``None`` when it gives one)."""
    target = re.search(r"\btarget=(\S+)", example["options"] or "")
    if example["kind"] == "syntax":
        return "syntax_fragment"
    if example["kind"] not in RUNNABLE_KINDS:
        return f"kind_{example['kind']}"
    if target and target.group(1) not in HOST_TARGETS:
        return "other_target"
    if example["expect"] != "pass" and example["expect"] not in FAILING_EXPECTS:
        return f"expect_{example['expect']}"
    return None


def docs_pairs(sections: pl.DataFrame) -> DocsPairs:
    """Code and failure pairs from the published transcripts (nothing is run), and what was skipped."""
    result = DocsPairs()
    for example in examples_frame(sections).iter_rows(named=True):
        if reason := skip_reason(example):
            result.skipped[reason] += 1
        elif example["expect"] == "pass":
            output = program_output(example["output"]) if example["kind"] == "exe" else None
            result.rows.append(example_pair(example, output))
        elif (row := failure_pair(example, example["output"], example["error_text"])) is not None:
            result.rows.append(row)
        else:
            result.skipped["failure_without_error_text"] += 1
    return result

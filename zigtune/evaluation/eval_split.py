"""The dataset's held-out split as a task suite: tasks a model can solve from the prompt alone, with prompts that
do not give the answer away. Not a default suite (see the README): the held-out sections give few tasks.

Each ``code`` pair of the eval split (whole sections the adapter never saw) becomes at most one task:

- **a program with an expected output** is dropped: a ``run`` task is judged by its exact output, and the
  prompt cannot state that output without giving the answer away ("a program that demonstrates Assignment"
  can only pass by reproducing the held-out example's own output).
- **a file with tests**: a ``test`` task. The answer's ``test`` blocks become the hidden test file, which
  imports ``solution.zig`` and names its declarations; the model sees a stub: the answer's declarations
  (made ``pub``) with every top-level function's body replaced by a placeholder. The prompt is the
  instruction plus the stub. A test that needs none of those functions cannot tell a solution from the stub:
  the engine's check of the stub (see ``model_evaluation``) drops such tasks.
- anything else (a program without an expected output, declarations without tests) has no check that a
  wrong answer fails, and is dropped with that reason.

A task whose instruction holds its answer (a ``SPAN_CHARS`` span of the reference solution's own text, as the
contamination report finds one: a migration or repair prompt that quotes the whole program with one
regression) is dropped. Each task's ``source`` is ``eval_split#<section id>``: tasks made from one section are
one independent source, and the fine-tuned − base interval resamples sources, not tasks (``scoring``).

Every dropped pair is counted by reason. No dagster here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from zigtune.dataset.chatml import ChatFormatError, turns_of
from zigtune.evaluation.contamination import mark_seen
from zigtune.evaluation.scoring import SOURCE_PART
from zigtune.evaluation.suite import Check, Suite, SuiteError, SuiteTask
from zigtune.evaluation.zig_source import Item, replace_function_bodies, top_level_items
from zigtune.validation.code_extraction import MAIN_FUNCTION, TEST_DECLARATION, extract_zig_code

EVAL_SPLIT = "eval_split"
SOLUTION_FILE = "solution.zig"
TEST_FILE = "test_solution.zig"
#: How the hidden test file refers to the solution (a name no example uses).
SOLUTION_IMPORT = "zigtune_solution"
PLACEHOLDER = '@panic("TODO: implement");'
#: The docs generator's sentence that quotes a program's output (``docs_generator.code_instruction``).
QUOTED_OUTPUT = re.compile(r"\s*When run, the program prints exactly:\s*```[^\n]*\n.*?```\s*$", re.DOTALL)
NEEDED_COLUMNS = {"pair_id", "section_id", "breadcrumb", "kind", "expected_output", "example_name", "conversations"}

TEST_SUFFIX = """

Here the task is checked by hidden tests that call your code. Write the file `{solution}` in Zig 0.14.0, \
keeping the public API exactly as declared in this stub (the bodies are placeholders to replace); you may add \
private helpers:

```zig
{stub}```

Reply with the complete content of `{solution}` in a single ```zig code block."""


RUN_TASK = "a program judged by its exact output, which the prompt cannot state without giving it away"
PROMPT_HOLDS_ANSWER = "the instruction holds the answer (a 50-character span of the reference solution)"


def holds_answer(instruction: str, solution: str) -> bool:
    """Does ``instruction`` quote ``solution``'s own text (boilerplate left out), as contamination finds a span?"""
    probe = SuiteTask("probe", "", {}, {}, Check("test", file=TEST_FILE), SOLUTION_FILE, reference_solution=solution)
    return mark_seen([probe], [instruction])["probe"] is not None


@dataclass
class Conversion:
    suite: Suite
    dropped: Counter[str] = field(default_factory=Counter)


def without_quoted_output(instruction: str) -> str:
    return QUOTED_OUTPUT.sub("", instruction).rstrip()


def _public(item: Item) -> str:
    """The item's text with ``pub`` before its declaration (its leading comments kept)."""
    if item.public or item.kind not in ("const", "var", "fn"):
        return item.text
    body = item.text.lstrip()
    lead = item.text[: len(item.text) - len(body)]
    comment_lines = []
    while body.startswith("//"):
        line, _, body = body.partition("\n")
        comment_lines.append(line + "\n")
        body = body.lstrip(" \t")
    return lead + "".join(comment_lines) + "pub " + body


def split_tests(code: str) -> tuple[str, str, str] | str:
    """``(stub, solution, hidden test file)`` from a file with tests, or why it cannot be split."""
    items = top_level_items(code)
    tests = [item for item in items if item.kind == "test"]
    declarations = [item for item in items if item.kind != "test"]
    if not tests:
        return "no test blocks"
    if not any(item.kind == "fn" for item in declarations):
        return "its tests call no top-level function: nothing to implement"
    solution = "".join(_public(item) for item in declarations).strip("\n") + "\n"
    function_names = {item.name for item in declarations if item.kind == "fn"}
    stub = replace_function_bodies(
        solution, lambda _: PLACEHOLDER, only=lambda function: function.indent == "" and function.name in function_names
    )
    hidden = [item.text.strip() for item in declarations if item.is_alias]
    hidden.append(f'const {SOLUTION_IMPORT} = @import("{SOLUTION_FILE}");')
    hidden += [
        f"const {item.name} = {SOLUTION_IMPORT}.{item.name};"
        for item in declarations
        if item.name and not item.is_alias
    ]
    test_file = "\n".join(hidden) + "\n\n" + "\n\n".join(item.text.strip() for item in tests) + "\n"
    return stub, solution, test_file


def _category(breadcrumb: str) -> str:
    return breadcrumb.split(" > ", 1)[0].strip() or "uncategorised"


def _pair_task(row: dict, task_id: str) -> SuiteTask | str:
    """One eval pair as a task, or the reason it cannot be one."""
    try:
        turns = turns_of(row["conversations"])
    except ChatFormatError as error:
        raise SuiteError(f"eval pair {row['pair_id']}: {error}") from None
    users = [i for i, turn in enumerate(turns) if turn["role"] == "user"]
    if not users or users[-1] + 1 >= len(turns):
        return "no user turn followed by an answer"
    instruction = without_quoted_output(turns[users[-1]]["content"])
    code = extract_zig_code(turns[users[-1] + 1]["content"])
    if code is None:
        return "no Zig code in the answer"
    common = {"category": _category(row["breadcrumb"]), "source": f"{EVAL_SPLIT}{SOURCE_PART}{row['section_id']}"}
    expected = row["expected_output"]
    if expected and expected.strip() and MAIN_FUNCTION.search(code):
        return RUN_TASK
    if TEST_DECLARATION.search(code):
        split = split_tests(code)
        if isinstance(split, str):
            return split
        stub, solution, test_file = split
        if holds_answer(instruction, solution):
            return PROMPT_HOLDS_ANSWER
        prompt = instruction + TEST_SUFFIX.format(solution=SOLUTION_FILE, stub=stub)
        check = Check("test", file=TEST_FILE)
        files, hidden = {SOLUTION_FILE: stub}, {TEST_FILE: test_file}
        return SuiteTask(task_id, prompt, files, hidden, check, SOLUTION_FILE, **common, reference_solution=solution)
    if MAIN_FUNCTION.search(code):
        return "a program without an expected output: nothing to check"
    return "declarations without tests: nothing to check"


def eval_split_suite(eval_rows: pl.DataFrame) -> Conversion:
    """The eval split's code pairs as the ``eval_split`` suite (rows of the dataset stage's ``eval.parquet``)."""
    missing = sorted(NEEDED_COLUMNS - set(eval_rows.columns))
    if missing:
        raise SuiteError(f"the eval split's provenance lacks columns {missing}: re-materialize chatml_dataset")
    conversion = Conversion(Suite(EVAL_SPLIT))
    used: set[str] = set()
    for row in eval_rows.iter_rows(named=True):
        if row["kind"] != "code":
            conversion.dropped[f"not a code pair ({row['kind']})"] += 1
            continue
        task_id = row["example_name"] or row["pair_id"]
        task_id = task_id if task_id not in used else f"{task_id}-{row['pair_id']}"
        task = _pair_task(row, task_id)
        if isinstance(task, str):
            conversion.dropped[task] += 1
            continue
        used.add(task_id)
        conversion.suite.tasks.append(task)
    return conversion

"""Task suites as data, judging rules, contamination, stubs and cheats, and the summary arithmetic: plain
functions, no compiler (tests/test_evaluation_cli.py runs the same suites through the real Zig)."""

from __future__ import annotations

import json
from dataclasses import replace
from math import comb
from pathlib import Path

import polars as pl
import pytest

from zigtune.evaluation.contamination import mark_seen, normalise, training_texts_from_jsonl
from zigtune.evaluation.judging import check_job, judge, solution_from_completion
from zigtune.evaluation.scoring import (
    BASE,
    EVALUATION_SCHEMA,
    FINE_TUNED,
    category_summary,
    paired_difference,
    pass_at_k,
    source_unit,
    summarize,
)
from zigtune.evaluation.selfcheck import cheating_solutions, leaks_expected_output, zig_string_literal
from zigtune.evaluation.suite import SuiteError, load_suite, parse_suite, suite_jsonl
from zigtune.evaluation.zig_source import function_bodies, replace_function_bodies, top_level_items
from zigtune.validation.verdicts import ExecResult, Verdict

HAND_SUITE = Path(__file__).parent / "data" / "hand_written_suite.jsonl"


@pytest.fixture(scope="module")
def hand_suite():
    return load_suite(HAND_SUITE)


# -- the format -------------------------------------------------------------------------------------------------


def test_a_hand_written_suite_loads_with_every_field(hand_suite) -> None:
    assert hand_suite.name == "hand_written_suite"
    clamp, total, countdown = hand_suite.tasks
    assert (clamp.id, clamp.category, clamp.check.kind) == ("clamp", "functions", "test")
    assert clamp.check.file == "test_clamp.zig"
    assert clamp.stub is not None and "return 0;" in clamp.stub and clamp.license == "MIT"
    assert "test_clamp.zig" in clamp.hidden_files and "test_clamp" not in clamp.prompt
    assert (total.check.kind, total.check.stream, total.check.expected_output) == ("run", "stdout", "5050\n")
    assert total.files == {} and total.stub is None and total.solution_file == "main.zig"
    assert countdown.reference_solution is None and countdown.category_name == "programs"
    assert not clamp.link_libc and clamp.data_files == {} and total.check.compare == "output"
    # Written back, it reads the same; so do the optional fields a suite written elsewhere may need.
    assert parse_suite(suite_jsonl(hand_suite.tasks), "again").tasks == hand_suite.tasks
    elsewhere = replace(
        total, link_libc=True, data_files={"in.txt": "1\n"}, check=replace(total.check, compare="lines")
    )
    line = suite_jsonl([elsewhere])
    assert '"link_libc": true' in line and '"compare": "lines"' in line and '"data_files"' in line
    assert parse_suite(line, "again").tasks == [elsewhere]


GOOD = {
    "id": "t",
    "prompt": "Do it.",
    "files": {"solution.zig": "pub fn f() void {}\n"},
    "hidden_files": {"test.zig": 'test { @import("solution.zig").f(); }\n'},
    "check": {"kind": "test", "file": "test.zig"},
    "solution_file": "solution.zig",
}


def _with(**changes: object) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not None})


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("{not json", "line 2: field '(line)': not valid JSON"),
        ("[1, 2]", "line 2: field '(line)': must be a JSON object"),
        (_with(id="u", prompt=None), "line 2: field 'prompt': missing"),
        (_with(id="u", prompt="  "), "line 2: field 'prompt': must be a non-empty string"),
        (_with(id="u", hiden_files={}), "line 2: field 'hiden_files': unknown field"),
        (_with(id="u", files=["a"]), "line 2: field 'files': must be an object"),
        (_with(id="u", files={"../x.zig": ""}), "line 2: field 'files.../x.zig': a plain file name is needed"),
        (_with(id="u", files={"a.zig": 3}), "line 2: field 'files.a.zig': the content must be a string"),
        (_with(id="u", check={"kind": "compile"}), "line 2: field 'check.kind': must be one of ['test', 'run']"),
        (_with(id="u", check={"kind": "test", "file": "nope.zig"}), "line 2: field 'check.file': 'nope.zig' is in"),
        (_with(id="u", check={"kind": "test", "file": "solution.zig"}), "line 2: field 'check.file': must be a test"),
        (_with(id="u", check={"kind": "run", "expected_output": "x"}), "line 2: field 'check.stream': must be one of"),
        (_with(id="u", check={"kind": "run", "stream": "stdout"}), "line 2: field 'check.expected_output'"),
        (
            _with(id="u", check={"kind": "run", "expected_output": "", "stream": "stdout", "file": "a.zig"}),
            "line 2: field 'check.file': unknown for a 'run' check",
        ),
        (_with(id="u", solution_file="solution.c"), "line 2: field 'solution_file': must be a plain .zig file"),
        (_with(id="u", hidden_files={"solution.zig": ""}), "line 2: field 'hidden_files': must not hold the solution"),
        (_with(id="u", category=7), "line 2: field 'category': must be a string or null"),
        (_with(id="u", link_libc="yes"), "line 2: field 'link_libc': must be true or false"),
        (_with(id="u", data_files=["a"]), "line 2: field 'data_files': must be an object"),
        (_with(id="u", data_files={"test.zig": ""}), "line 2: field 'data_files.test.zig': is also the solution"),
        (
            _with(id="u", check={"kind": "run", "expected_output": "", "stream": "stdout", "compare": "words"}),
            "line 2: field 'check.compare': must be one of ['output', 'lines']",
        ),
        (_with(), "line 2: field 'id': 't' repeats the task of line 1"),
    ],
)
def test_a_malformed_line_is_one_line_naming_the_line_and_the_field(second_line: str, message: str) -> None:
    with pytest.raises(SuiteError) as error:
        parse_suite(_with() + "\n" + second_line + "\n", "suite.jsonl")
    text = str(error.value)
    assert text.startswith(f"suite.jsonl {message}"), text
    assert "\n" not in text


def test_empty_and_missing_suites_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no tasks"):
        parse_suite("\n\n", "empty")
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "absent.jsonl")


# -- judging rules ----------------------------------------------------------------------------------------------


def _result(verdict: Verdict = Verdict.OK, stdout: str = "", stderr: str = "") -> ExecResult:
    return ExecResult(verdict, 1.0, stdout, stderr, "0.14.0", "local")


def test_the_solution_is_the_fenced_block_or_the_whole_reply() -> None:
    assert solution_from_completion("Sure:\n```zig\nconst a = 1;\n```\nDone.") == "const a = 1;\n"
    assert solution_from_completion("```python\nprint(1)\n```") is None  # fenced, but no Zig: no code
    assert solution_from_completion("pub fn f() void {}") == "pub fn f() void {}\n"  # no fence: the file itself
    assert solution_from_completion("  \n") is None and solution_from_completion(None) is None


def test_the_solution_and_the_hidden_files_are_one_job(hand_suite) -> None:
    clamp, total, _ = hand_suite.tasks
    code, mode, options = check_job(clamp, "pub fn clamp() void {}\n")
    assert (mode, options.file_name, code) == ("test", "test_clamp.zig", clamp.hidden_files["test_clamp.zig"])
    assert dict(options.extra_files) == {"solution.zig": "pub fn clamp() void {}\n"}  # the stub is replaced
    # The solution is compiled as a module of its own, apart from the check file, under the signed runner.
    assert options.solution_files == ("solution.zig",) and not options.link_libc
    args = options.compiler_args()
    assert "-Mroot=/check/test_clamp.zig" in args and "-Msolution.zig=solution.zig" in args
    assert args[args.index("--test-runner") + 1].startswith("/check/.zigtune-test-runner-")
    code, mode, options = check_job(total, "pub fn main() void {}\n")
    assert (mode, options.file_name, code, options.extra_files) == ("run", "main.zig", "pub fn main() void {}\n", ())
    assert options.solution_files == () and options.compiler_args() == []
    # Hidden files of a run task are not beside the program; data files are, and link_libc is passed on.
    elsewhere = replace(total, hidden_files={"secret.txt": "x"}, data_files={"in.txt": "1\n"}, link_libc=True)
    code, mode, options = check_job(elsewhere, "pub fn main() void {}\n")
    assert dict(options.extra_files) == {"in.txt": "1\n"} and options.compiler_args() == ["-lc"]


def test_a_test_task_passes_only_when_the_runner_reports_every_test_passed(hand_suite) -> None:
    clamp = hand_suite.tasks[0]  # two hidden tests
    passed = judge(clamp, "x", _result(stderr="1/2 a...OK\n2/2 b...OK\nAll 2 tests passed.\n"))
    assert (passed.verdict, passed.compiled, passed.passed) == (Verdict.OK, True, True)
    # Exit code 0 without the summary: the solution ended the process before the tests could fail.
    early = judge(clamp, "x", _result(stderr="1/2 a...OK\n"))
    assert (early.verdict, early.passed) == (Verdict.TEST_FAILURE, False)
    skipped = judge(clamp, "x", _result(stderr="1/2 a...OK\n2/2 b...SKIP\n1 passed; 1 skipped; 0 failed.\n"))
    assert not skipped.passed
    fewer = judge(clamp, "x", _result(stderr="All 1 tests passed.\n"))  # fewer tests than the hidden file has
    assert not fewer.passed
    assert not judge(clamp, "x", _result(Verdict.COMPILE_ERROR)).compiled
    assert judge(clamp, None, None).verdict is Verdict.NO_CODE


def test_a_run_task_compares_its_stream_with_trailing_whitespace_trimmed(hand_suite) -> None:
    _, total, countdown = hand_suite.tasks
    assert judge(total, "x", _result(stdout="5050")).passed
    assert judge(total, "x", _result(stdout="5050\n\n  ")).passed
    assert not judge(total, "x", _result(stderr="5050\n")).passed  # the wrong stream
    assert not judge(total, "x", _result(stdout=" 5050\n")).passed  # leading whitespace counts
    assert judge(total, "x", _result(stdout="5051\n")).verdict is Verdict.WRONG_OUTPUT
    assert judge(countdown, "x", _result(stderr="3\n2\n1\nliftoff\n")).passed
    assert not judge(countdown, "x", _result(stderr="3 \n2\n1\nliftoff\n")).passed  # inner trailing space counts
    by_line = replace(countdown, check=replace(countdown.check, compare="lines"))
    assert judge(by_line, "x", _result(stderr="3 \n2\t\n1\nliftoff  \n\n")).passed  # ... unless line by line
    assert not judge(by_line, "x", _result(stderr=" 3\n2\n1\nliftoff\n")).passed  # leading space still counts


# -- contamination ----------------------------------------------------------------------------------------------


def test_a_task_sharing_a_long_span_with_training_is_seen(hand_suite) -> None:
    clamp, total, countdown = hand_suite.tasks
    reference = clamp.reference_solution or ""
    training = [
        "Explain optionals in Zig.",
        "Here is a function:\n" + reference.replace("\n", "\n   "),  # the reference, whitespace changed
        "Write a Zig 0.14.0 program that computes the sum",  # only 49 characters of the sum prompt
    ]
    marks = mark_seen(hand_suite.tasks, training)
    assert marks[clamp.id] is not None and marks[clamp.id].field == "reference_solution"
    assert "return @max(lo, @min(x, hi));" in marks[clamp.id].text
    assert marks[total.id] is None and marks[countdown.id] is None
    # One more character makes a 50-character span.
    assert mark_seen([total], ["Write a Zig 0.14.0 program that computes the sum o"])[total.id] is not None


def test_only_boilerplate_lines_and_the_suites_template_are_not_evidence(hand_suite) -> None:
    total = hand_suite.tasks[1]
    reference = total.reference_solution or ""
    boilerplate = (
        'const std = @import("std");\nconst expect = std.testing.expect;\nconst Allocator = std.mem.Allocator;\n'
    )
    assert len(normalise(boilerplate)) >= 50
    # Import and alias lines in every training text are no one's own text.
    assert mark_seen([total], [f"{boilerplate}fn other{i}() void {{}}\n" for i in range(100)])[total.id] is None
    # The task's own text is evidence however often the training data repeats it: 1 text or all of them.
    for copies in (1, 50, 100):
        training = [reference if i < copies else f"{boilerplate}fn other{i}() void {{}}\n" for i in range(100)]
        assert mark_seen([total], training)[total.id] is not None, copies
    # So is a phrase of its prompt that many training texts share, unless the suite itself repeats it.
    phrase = "Write a Zig 0.14.0 program that computes the sum of the integers"
    assert mark_seen([total], [f"{phrase} {i}" for i in range(100)])[total.id] is not None


def test_a_prompt_template_shared_by_the_suite_is_not_evidence(hand_suite) -> None:
    template = "Solve this task carefully in Zig 0.14.0 and reply with a single code block."
    tasks = [replace(task, prompt=f"{template}\n\n{task.prompt}") for task in hand_suite.tasks]
    training = [f"{template}\n\nSomething else entirely."]
    assert all(mark is None for mark in mark_seen(tasks, training).values())
    # The same sentence in one task only is that task's own text: evidence.
    alone = [tasks[0], *hand_suite.tasks[1:]]
    marks = mark_seen(alone, training)
    assert marks["clamp"] is not None and marks["clamp"].field == "prompt" and template in marks["clamp"].text


def test_training_texts_are_read_from_chatml_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        json.dumps({"conversations": [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]})
        + "\n\n"
        + json.dumps({"text": "plain"})
        + "\n"
    )
    assert training_texts_from_jsonl(path) == ["Q1\nA1", "plain"]
    path.write_text("{broken\n")
    with pytest.raises(SuiteError, match="line 1: not valid JSON"):
        training_texts_from_jsonl(path)


# -- Zig source surgery and cheats ------------------------------------------------------------------------------

SOURCE = """const std = @import("std");
const expect = std.testing.expect;

/// Doc comment with a brace { and a "fn fake(" inside.
fn add(a: i32, comptime b: i32) error{Overflow}!i32 {
    const s = "}{";
    _ = s;
    return a + b;
}

pub const Point = struct {
    x: i32,
    pub fn norm(self: Point) i32 {
        return if (self.x < 0) -self.x else self.x;
    }
};

test "adds" {
    try expect(try add(1, 2) == 3);
}
"""


def test_top_level_items_and_function_bodies_ignore_strings_and_comments() -> None:
    items = top_level_items(SOURCE)
    assert [(item.kind, item.name) for item in items] == [
        ("const", "std"), ("const", "expect"), ("fn", "add"), ("const", "Point"), ("test", None),
    ]  # fmt: skip
    assert items[0].is_alias and items[1].is_alias and not items[3].is_alias
    assert "".join(item.text for item in items) == SOURCE  # nothing lost
    bodies = function_bodies(SOURCE)
    assert [(body.name, body.parameters) for body in bodies] == [("add", ["a", "b"]), ("norm", ["self"])]
    replaced = replace_function_bodies(SOURCE, lambda _: "unreachable;", only=lambda body: body.name == "add")
    assert "fn add(a: i32, comptime b: i32) error{Overflow}!i32 {\n    _ = a;\n    _ = b;\n    unreachable;\n}" in (
        replaced
    )
    assert "return a + b;" not in replaced and "return if (self.x < 0)" in replaced


def test_cheating_solutions_cover_each_way_to_skip_the_task(hand_suite) -> None:
    clamp, total, _ = hand_suite.tasks
    cheats = cheating_solutions(clamp)
    assert set(cheats) == {"empty_test", "ignores_api", "stub", "exit_early", "forges_summary"}
    assert "process.exit(0)" in cheats["exit_early"] and "_ = hi;" in cheats["exit_early"]
    # The forging cheat prints the success line from inside clamp, which the hidden tests call.
    forging = cheats["forges_summary"]
    assert forging.startswith("pub fn clamp(x: i32, lo: i32, hi: i32) i32 {") and "pub fn main" not in forging
    assert 'print("\\nAll 2 tests passed.\\n", .{});' in forging and "process.exit(0)" in forging
    assert "All 2 tests passed." in cheats["ignores_api"] and "clamp" not in cheats["ignores_api"]
    assert set(cheating_solutions(total)) == {"empty_test"}  # no stub, no block in the prompt to copy
    leaky = replace(total, prompt=total.prompt + "\n\nIt prints:\n```\n5050\n```")
    assert leaks_expected_output(leaky) and not leaks_expected_output(total)
    assert 'getStdOut().writeAll("5050\\n")' in cheating_solutions(leaky)["prints_prompt"]
    assert zig_string_literal('a"b\\c\n\x01') == '"a\\"b\\\\c\\n\\x01"'


# -- summary arithmetic -----------------------------------------------------------------------------------------


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k)), (n, c, k)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(3, 1, 4)


def _rows(passes: dict[str, tuple[list[bool], list[bool]]], seen: dict[str, bool] | None = None) -> pl.DataFrame:
    rows = []
    for task_id, by_role in passes.items():
        for role, outcomes in zip((BASE, FINE_TUNED), by_role, strict=True):
            for sample, passed in enumerate(outcomes):
                rows.append(
                    {"suite": "s", "task_id": task_id, "category": task_id[0], "role": role, "sample": sample,
                     "seen": seen.get(task_id) if seen is not None else None, "passed": passed, "compiled": True,
                     "has_code": True, "verdict": "ok" if passed else "test_failure", "finish_reason": "stop"}
                )  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={k: v for k, v in EVALUATION_SCHEMA.items() if k in rows[0]})


def test_summaries_report_unseen_and_seen_apart_with_pass_at_k() -> None:
    results = _rows(
        {
            "a1": ([True, False], [True, True]),
            "a2": ([False, False], [True, False]),
            "b1": ([True, True], [True, True]),
        },
        seen={"a1": False, "a2": False, "b1": True},
    )
    summary = summarize(results, (1, 2))
    by = {(row["role"], row["subset"]): row for row in summary.iter_rows(named=True)}
    assert by[FINE_TUNED, "unseen"]["tasks"] == 2 and by[FINE_TUNED, "unseen"]["pass_at_1"] == 0.75
    assert by[FINE_TUNED, "unseen"]["pass_at_2"] == 1.0 and by[BASE, "unseen"]["pass_at_2"] == 0.5
    assert by[BASE, "seen"]["pass_at_1"] == 1.0 and by[BASE, "all"]["tasks"] == 3
    categories = {(r["role"], r["category"]): r for r in category_summary(results, (1, 2)).iter_rows(named=True)}
    assert categories[FINE_TUNED, "a"]["pass_at_2"] == 1.0 and categories[FINE_TUNED, "a"]["tasks"] == 2
    assert (BASE, "b") not in categories  # per category on the headline subset: b1 was seen
    # Without contamination marks there is only "all".
    assert set(summarize(_rows({"a": ([True], [False])}))["subset"]) == {"all"}


def test_the_paired_bootstrap_interval_brackets_the_difference_and_shrinks_with_more_tasks() -> None:
    few = _rows({f"t{i}": ([i % 2 == 0], [True]) for i in range(8)})
    many = _rows({f"t{i}": ([i % 2 == 0], [True]) for i in range(400)})
    small, large = paired_difference(few, "s", "all"), paired_difference(many, "s", "all")
    assert small is not None and large is not None
    assert small.difference == large.difference == 0.5 and small.tasks == 8 and large.tasks == 400
    assert small.low <= 0.5 <= small.high and large.low <= 0.5 <= large.high
    assert large.high - large.low < small.high - small.low
    assert paired_difference(few, "s", "all") == small  # seeded
    same = paired_difference(_rows({f"t{i}": ([True], [True]) for i in range(5)}), "s", "all")
    assert same is not None and (same.difference, same.low, same.high) == (0.0, 0.0, 0.0)


def test_the_interval_resamples_independent_sources_not_tasks(hand_suite) -> None:
    """20 tasks made from 2 docs sections (10 each; the fine-tuned model gains on one section only) are 2
    independent sources: resampled by source, the interval spans 0 to 1, not the narrow interval of 20 tasks."""
    from zigtune.evaluation.report import difference_line

    results = _rows({f"t{i}": ([False], [i < 10]) for i in range(20)}).with_columns(
        source_unit=pl.when(pl.col("task_id").str.slice(1).cast(pl.Int64) < 10)
        .then(pl.lit("eval_split#section-a"))
        .otherwise(pl.lit("eval_split#section-b"))
    )
    difference = paired_difference(results, "s", "all")
    assert difference is not None and (difference.tasks, difference.sources) == (20, 2)
    assert (difference.difference, difference.low, difference.high) == (0.5, 0.0, 1.0)
    assert "paired bootstrap over 2 independent sources (20 tasks, resampled by source)" in difference_line(
        difference, "all"
    )
    # Each task its own source: the narrow interval of 20 independent tasks.
    alone = paired_difference(results.drop("source_unit"), "s", "all")
    assert alone is not None and alone.sources == 20 and alone.low > 0.2 and alone.high < 0.8
    assert "paired bootstrap over 20 independent tasks" in difference_line(alone, "all")
    # A source that names no part ("zigtune": where the suite came from) does not tie its tasks together.
    clamp = hand_suite.tasks[0]
    assert source_unit(replace(clamp, source="zigtune")) == "task clamp"
    assert source_unit(replace(clamp, source="eval_split#s1")) == "eval_split#s1"


def test_the_verdict_key_holds_the_files_beside_the_root() -> None:
    from zigtune.storage.cache import cache_key
    from zigtune.validation.checking import verdict_key
    from zigtune.validation.sandbox import BuildOptions

    plain = verdict_key("test {}", "test", BuildOptions(), "0.14.0")
    # v2 (every declaration analysed, the rootless jail): verdicts cached under v1 were judged differently, so
    # they are not reused; without files beside the root the key is the plain v2 key.
    assert plain == cache_key("zig-verdict/v2", "test {}", "test", [], "main.zig", "0.14.0")
    beside = BuildOptions(file_name="t.zig", extra_files=(("solution.zig", "pub fn f() void {}\n"),))
    other = BuildOptions(file_name="t.zig", extra_files=(("solution.zig", "pub fn f() void { g(); }\n"),))
    renamed = BuildOptions(file_name="x.zig")
    keys = {plain, *(verdict_key("test {}", "test", o, "0.14.0") for o in (beside, other, renamed))}
    assert len(keys) == 4
    with pytest.raises(ValueError, match="a plain file name"):
        BuildOptions(extra_files=(("../escape.zig", ""),))

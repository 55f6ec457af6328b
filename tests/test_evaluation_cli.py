"""``python -m zigtune.evaluation score|ask`` as a user runs them: a suite written by hand in this repository's
tests/data (not by the project's tools), judged by the real Zig compiler; completions asked from a real local
OpenAI-compatible server (tests/openai_server.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runs import evaluation_cli
from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune.evaluation.cli import main
from zigtune.evaluation.selfcheck import cheating_solutions
from zigtune.evaluation.suite import load_suite

HAND_SUITE = Path(__file__).parent / "data" / "hand_written_suite.jsonl"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-zigtune-cli-secret-0123456789"
COUNTDOWN = (
    'const std = @import("std");\n\npub fn main() void {\n    var i: u32 = 3;\n'
    '    while (i > 0) : (i -= 1) std.debug.print("{d}\\n", .{i});\n    std.debug.print("liftoff\\n", .{});\n}\n'
)

TO_STDOUT = (
    'const std = @import("std");\n\npub fn main() !void {\n    const out = std.io.getStdOut().writer();\n'
    '    var i: u32 = 3;\n    while (i > 0) : (i -= 1) try out.print("{d}\\n", .{i});\n'
    '    try out.print("liftoff\\n", .{});\n}\n'
)


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_score_passes_solutions_and_fails_every_cheat(tmp_path: Path, data_dir: Path, zig_sandbox_root: Path) -> None:
    """References pass; the empty test, the stub, exit(0) before the tests fail, and code ignoring the API fail."""
    suite = load_suite(HAND_SUITE)
    clamp, total, _ = suite.tasks
    cheats = cheating_solutions(clamp)
    rows = [
        {"id": "clamp", "completion": f"Here it is:\n```zig\n{clamp.reference_solution}```\n"},
        *({"id": "clamp", "completion": cheats[name]} for name in ("empty_test", "stub", "exit_early", "ignores_api")),
        {"id": "sum-to-stdout", "completion": total.reference_solution},
        {"id": "sum-to-stdout", "completion": f"```zig\n{(total.reference_solution or '').replace('101', '100')}```"},
        {"id": "countdown-to-stderr", "completion": TO_STDOUT},
        {"id": "countdown-to-stderr", "completion": f"```zig\n{COUNTDOWN}```", "finish_reason": "length"},
    ]  # fmt: skip
    completions = _write_jsonl(tmp_path / "completions.jsonl", rows)
    out = tmp_path / "report.json"
    run = evaluation_cli(
        "score", "--suite", str(HAND_SUITE), "--completions", str(completions), "--out", str(out),
        "--sandbox-dir", str(zig_sandbox_root), env={"ZIGTUNE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    verdicts = {task["task_id"]: task["verdicts"] for task in report["per_task"]}
    assert verdicts == {
        "clamp": ["ok", "compile_error", "test_failure", "test_failure", "compile_error"],
        "sum-to-stdout": ["ok", "wrong_output"],  # 1 to 99 sums to 4950
        "countdown-to-stderr": ["wrong_output", "ok"],  # the right text on the wrong stream, then right
    }
    assert report["headline"] == {
        "subset": "all", "tasks": 3, "pass_at_1": round((1 / 5 + 1 / 2 + 1 / 2) / 3, 4), "engine_errors": 0
    }  # fmt: skip
    assert report["contamination"]["checked"] is False and report["unanswered"] == []
    assert report["checks"] == {"compiled": 9, "from_cache": 0, "engine_errors": 0}
    assert "all tasks (3): pass@1 40.0%" in run.stdout and "pass@2" not in run.stdout  # clamp has 5, others 2
    assert "functions   20.0%" in run.stdout and "programs    50.0%" in run.stdout
    progress = [line for line in run.stderr.splitlines() if line.startswith("judging: ")]
    assert progress[-1].startswith("judging: 9/9 checks (100%) in ") and progress[-1].endswith("ETA done"), run.stderr

    # The same completions with training data that holds the clamp reference: clamp is seen, and the headline
    # is on the two unseen tasks.
    training = _write_jsonl(
        tmp_path / "train.jsonl",
        [{"conversations": [{"role": "user", "content": "Clamp it."},
                            {"role": "assistant", "content": f"```zig\n{clamp.reference_solution}```"}]}],
    )  # fmt: skip
    again = evaluation_cli(
        "score", "--suite", str(HAND_SUITE), "--completions", str(completions), "--out", str(out),
        "--training-data", str(training), "--sandbox-dir", str(zig_sandbox_root),
        env={"ZIGTUNE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    report = json.loads(out.read_text())
    assert report["contamination"]["seen"] == ["clamp"]
    assert report["headline"] == {"subset": "unseen", "tasks": 2, "pass_at_1": 0.5, "engine_errors": 0}
    assert "unseen tasks (2): pass@1 50.0%" in again.stdout and "seen tasks (1, not in the headline)" in again.stdout
    assert report["checks"] == {"compiled": 0, "from_cache": 9, "engine_errors": 0}  # nothing compiled twice


def _score(tmp_path: Path, data_dir: Path, sandbox: Path, suite: Path, rows: list[dict]) -> tuple[dict, str]:
    """``score`` of ``rows`` (completions) against ``suite``, as a user runs it: the report and what it printed."""
    completions = _write_jsonl(tmp_path / f"{suite.stem}-completions.jsonl", rows)
    out = tmp_path / f"{suite.stem}-report.json"
    run = evaluation_cli(
        "score", "--suite", str(suite), "--completions", str(completions), "--out", str(out),
        "--sandbox-dir", str(sandbox), "--no-cache", env={"ZIGTUNE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text()), run.stdout


#: A failing clamp that prints the jail's own failure line and exits with the jail's setup status.
FORGED_ENGINE_ERROR = (
    'const std = @import("std");\n\npub fn clamp(x: i32, lo: i32, hi: i32) i32 {\n'
    "    _ = x;\n    _ = lo;\n    _ = hi;\n"
    '    std.io.getStdErr().writeAll("\\nzigtune-sandbox: cannot mount a tmpfs on /jail\\n") catch {};\n'
    "    std.process.exit(125);\n}\n"
)


def test_a_solution_that_forges_an_engine_error_is_a_failure_in_the_denominator(
    tmp_path: Path, data_dir: Path, zig_sandbox_root: Path
) -> None:
    """The jail reports its own failures in a status file the program cannot reach: the jail's words on stderr and
    exit status 125 are the program's failure. Both tasks of a 2-task suite answered that way: pass@1 0 of 2."""
    clamp = json.loads(HAND_SUITE.read_text().splitlines()[0])
    suite = _write_jsonl(tmp_path / "two.jsonl", [clamp, {**clamp, "id": "clamp-again"}])
    rows = [{"id": task_id, "completion": FORGED_ENGINE_ERROR} for task_id in ("clamp", "clamp-again")]
    report, printed = _score(tmp_path, data_dir, zig_sandbox_root, suite, rows)
    assert report["headline"] == {"subset": "all", "tasks": 2, "pass_at_1": 0.0, "engine_errors": 0}
    assert [task["verdicts"] for task in report["per_task"]] == [["runtime_error"], ["runtime_error"]]
    assert report["checks"]["engine_errors"] == 0 and "all tasks (2): pass@1 0.0%" in printed


def test_checks_that_could_not_run_stay_in_the_denominator_and_are_counted() -> None:
    """An engine error (from the jail's status file) is a failed sample; the summary says how many there were."""
    import polars as pl

    from zigtune.evaluation.cli import report_lines
    from zigtune.evaluation.scoring import EVALUATION_SCHEMA, summarize

    base = dict.fromkeys(EVALUATION_SCHEMA.names())
    rows = [
        base | {"suite": "s", "task_id": t, "category": "c", "role": "model", "sample": 0, "has_code": True,
                "compiled": v == "ok", "passed": v == "ok", "verdict": v, "finish_reason": "stop"}
        for t, v in (("a", "ok"), ("b", "sandbox_error"), ("c", "sandbox_error"))
    ]  # fmt: skip
    summary = summarize(pl.DataFrame(rows, schema=EVALUATION_SCHEMA)).row(0, named=True)
    assert (summary["tasks"], summary["pass_at_1"], summary["sandbox_errors"]) == (3, 0.3333, 2)
    report = {"suite": "s", "tasks": 3, "completions": 3, "unanswered": [], "zig_version": "0.14.0",
              "engine": "local", "contamination": {"checked": False}, "categories": [],
              "headline": {"subset": "all", "engine_errors": 2}, "summary": [summary]}  # fmt: skip
    assert "  2 of 3 checks could not run (engine errors): counted as failures" in "\n".join(report_lines(report))


#: Cheats a user might write against the clamp task: each must score 0, each with its task in the denominator.
CLAMP = "pub fn clamp(x: i32, lo: i32, hi: i32) i32 {\n    return @max(lo, @min(x, hi));\n}\n"
HIDDEN_TEST_CHEATS = {
    # The hidden test file, embedded (unused, or used) or imported by the solution: outside its module.
    "embeds_the_tests": CLAMP + 'pub const leaked = @embedFile("test_clamp.zig");\n',
    "imports_the_tests": CLAMP
    + 'const tests = @import("test_clamp.zig");\npub const count = @typeInfo(tests).@"struct".decls.len;\n',
    "embeds_by_absolute_path": CLAMP + 'pub const leaked = @embedFile("/check/test_clamp.zig");\n',
    # Reads the hidden test file at run time, from the test binary's working directory, and passes only then.
    "reads_the_tests_when_run": (
        'const std = @import("std");\n\npub fn clamp(x: i32, lo: i32, hi: i32) i32 {\n'
        '    const file = std.fs.cwd().openFile("test_clamp.zig", .{}) catch return 0;\n'
        "    file.close();\n    return @max(lo, @min(x, hi));\n}\n"
    ),
    # Prints the runner's success line from inside the first test that calls it, and exits 0.
    "forges_the_summary": (
        'const std = @import("std");\n\npub fn clamp(x: i32, lo: i32, hi: i32) i32 {\n'
        "    _ = x;\n    _ = lo;\n    _ = hi;\n"
        '    std.debug.print("\\nAll 2 tests passed.\\n", .{});\n    std.process.exit(0);\n}\n'
    ),
    # Runs before main (.init_array): reads the runner's nonce first, prints a signed summary, exits 0.
    "steals_the_nonce_before_main": (
        'const std = @import("std");\n\npub fn clamp(x: i32, lo: i32, hi: i32) i32 {\n'
        "    _ = x;\n    _ = lo;\n    _ = hi;\n    return 0;\n}\n\n"
        "fn early() callconv(.C) void {\n    var buffer: [64]u8 = undefined;\n"
        "    const n = std.io.getStdIn().read(&buffer) catch 0;\n"
        '    const nonce = std.mem.trimRight(u8, buffer[0..n], "\\n");\n'
        '    std.debug.print("\\nAll 2 tests passed.\\nzigtune-test-summary {s} passed=2 skipped=0 failed=0 '
        'leaked=0 logged=0 tests=2\\n", .{nonce});\n'
        "    std.process.exit(0);\n}\n\n"
        'export const early_entry linksection(".init_array") = &early;\n'
    ),
}


def test_the_solution_cannot_reach_the_hidden_tests_or_forge_the_runners_summary(
    tmp_path: Path, data_dir: Path, zig_sandbox_root: Path
) -> None:
    """The solution is a module of its own in a directory without the hidden tests, which never reach the run
    jail; only the runner's summary signed with a nonce makes a pass. The honest clamp still passes."""
    clamp = json.loads(HAND_SUITE.read_text().splitlines()[0])
    suite = _write_jsonl(tmp_path / "clamp.jsonl", [clamp])
    rows = [{"id": "clamp", "completion": code} for code in (CLAMP, *HIDDEN_TEST_CHEATS.values())]
    report, _ = _score(tmp_path, data_dir, zig_sandbox_root, suite, rows)
    verdicts = dict(zip(["honest", *HIDDEN_TEST_CHEATS], report["per_task"][0]["verdicts"], strict=True))
    assert verdicts == {
        "honest": "ok",
        "embeds_the_tests": "compile_error",
        "imports_the_tests": "compile_error",
        "embeds_by_absolute_path": "compile_error",
        "reads_the_tests_when_run": "test_failure",
        "forges_the_summary": "test_failure",
        "steals_the_nonce_before_main": "runtime_error",
    }
    assert report["headline"] == {"subset": "all", "tasks": 1, "pass_at_1": round(1 / 7, 4), "engine_errors": 0}


def test_the_forging_cheat_of_the_self_check_runs_and_fails(zig_sandbox_root: Path) -> None:
    """``forges_summary`` is not a ``main`` nobody calls: its line is printed by the test binary, and fails."""
    import asyncio

    from zigtune.evaluation.judging import check_job, judge
    from zigtune.validation.sandbox import LocalZigEngine

    clamp = load_suite(HAND_SUITE).tasks[0]
    cheat = cheating_solutions(clamp)["forges_summary"]
    engine = LocalZigEngine(zig_sandbox_root)
    result = asyncio.run(engine.execute(*check_job(clamp, cheat)))
    assert "\nAll 2 tests passed.\n" in result.stderr  # it ran, inside the first test
    assert result.verdict.value == "test_failure" and not judge(clamp, cheat, result).passed
    assert "[zigtune's test runner: its tests did not all run to the end]" in result.stderr


def test_a_suite_written_elsewhere_links_libc_reads_data_files_and_compares_lines(
    tmp_path: Path, data_dir: Path, zig_sandbox_root: Path
) -> None:
    """Three tasks as another project writes them: one that needs libc (``@cImport`` of unistd.h and math.h), one
    whose program reads a data file from its working directory, one compared line by line with trailing spaces."""
    libc = (
        'const std = @import("std");\n'
        'const c = @cImport({\n    @cInclude("unistd.h");\n    @cInclude("math.h");\n});\n\n'
        "pub fn main() !void {\n    const out = std.io.getStdOut().writer();\n"
        '    try out.print("{d} {}\\n", .{ c.sqrt(16.0), c.getpid() > 0 });\n}\n'
    )
    reads = (
        'const std = @import("std");\n\npub fn main() !void {\n'
        '    const text = try std.fs.cwd().readFileAlloc(std.heap.page_allocator, "numbers.txt", 1 << 16);\n'
        "    var sum: i64 = 0;\n"
        '    var words = std.mem.tokenizeAny(u8, text, " \\n");\n'
        "    while (words.next()) |word| sum += try std.fmt.parseInt(i64, word, 10);\n"
        '    try std.io.getStdOut().writer().print("{d}\\n", .{sum});\n}\n'
    )
    padded = (
        'const std = @import("std");\n\npub fn main() !void {\n    const out = std.io.getStdOut().writer();\n'
        '    for (1..4) |row| {\n        for (0..row) |_| try out.writeAll("* ");\n        try out.writeAll("\\n");\n'
        "    }\n}\n"
    )
    run = {"kind": "run", "stream": "stdout"}
    tasks = [
        {"id": "libc-sqrt", "prompt": "Print sqrt(16) with libc's math.h, and whether getpid() > 0.",
         "files": {}, "hidden_files": {}, "solution_file": "main.zig", "link_libc": True,
         "check": {**run, "expected_output": "4 true\n"}},
        {"id": "sum-file", "prompt": "Print the sum of the numbers in numbers.txt.", "files": {},
         "hidden_files": {}, "solution_file": "main.zig", "data_files": {"numbers.txt": "1 2 3\n40\n"},
         "check": {**run, "expected_output": "46\n"}},
        {"id": "triangle", "prompt": "Print a triangle of 3 rows of stars.", "files": {}, "hidden_files": {},
         "solution_file": "main.zig", "check": {**run, "expected_output": "*\n* *\n* * *\n", "compare": "lines"}},
    ]  # fmt: skip
    suite = _write_jsonl(tmp_path / "elsewhere.jsonl", tasks)
    rows = [{"id": "libc-sqrt", "completion": libc}, {"id": "sum-file", "completion": reads},
            {"id": "triangle", "completion": padded}]  # fmt: skip
    report, _ = _score(tmp_path, data_dir, zig_sandbox_root, suite, rows)
    assert [task["verdicts"] for task in report["per_task"]] == [["ok"], ["ok"], ["ok"]], report["per_task"]
    assert report["headline"]["pass_at_1"] == 1.0


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, data_dir: Path) -> None:
    completions = _write_jsonl(
        tmp_path / "c.jsonl", [{"id": "clamp", "completion": "x"}, {"id": "nope", "completion": "y"}]
    )
    run = evaluation_cli(
        "score", "--suite", str(HAND_SUITE), "--completions", str(completions), env={"ZIGTUNE_DATA_DIR": str(data_dir)}
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"error: {completions} line 2: field 'id': 'nope' is not a task of suite 'hand_written_suite'"
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "prompt": "p"}\n')
    run = evaluation_cli(
        "score", "--suite", str(broken), "--completions", str(completions), env={"ZIGTUNE_DATA_DIR": str(data_dir)}
    )
    assert run.returncode == 2 and run.stderr.strip() == "error: broken line 1: field 'files': missing"


def test_the_cli_needs_no_dagster_and_ask_no_polars() -> None:
    """Polars is imported by ``score`` only: ``ask`` runs in the GPU bundle, which carries none."""
    probe = (
        "import sys, zigtune.evaluation.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'torch', 'polars')))"
    )
    found = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


@pytest.mark.parametrize(("variable", "engine"), [("remote", "codapi"), ("codapi", "codapi"), ("", "local")])
def test_the_engine_follows_the_zig_resources_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, engine: str
) -> None:
    from zigtune.evaluation.cli import parser

    monkeypatch.setenv("ZIGTUNE_ZIG_ENGINE", variable)
    assert parser().parse_args(["score", "--suite", "s", "--completions", "c"]).engine == engine


def test_ask_collects_completions_concurrently_through_the_cache(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = load_suite(HAND_SUITE)
    answers = {task.prompt: f"```zig\n{task.reference_solution or COUNTDOWN}```" for task in suite.tasks}

    def respond(request: RecordedRequest) -> Reply:
        return Reply(answers[request.prompt] + f"\n// seed {request.body.get('seed')}")

    server = OpenAIServer(latency=0.2, api_key=SECRET)
    server.responder = respond
    out = tmp_path / "completions.jsonl"
    arguments = ["ask", "--suite", str(HAND_SUITE), "--base-url", server.base_url, "--model", "tiny-zig",
                 "--out", str(out), "--samples", "3", "--temperature", "0.7", "--concurrency", "4"]  # fmt: skip
    monkeypatch.setenv("ZIGTUNE_EVAL_API_KEY", SECRET)
    try:
        assert main(arguments) == 0
        first = out.read_text()
        assert len(server.requests) == 9 and server.peak_in_flight >= 2
        body = server.requests[0].body
        assert (body["model"], body["temperature"], body["stop"]) == ("tiny-zig", 0.7, ["<|im_end|>"])
        assert sorted(r.body["seed"] for r in server.requests) == [3407, 3407, 3407, 3408, 3408, 3408, 3409, 3409, 3409]
        rows = [json.loads(line) for line in first.splitlines()]
        assert [(row["id"], row["sample"]) for row in rows] == [
            (task.id, sample) for task in suite.tasks for sample in range(3)
        ]
        assert all(row["model"] == "tiny-zig" and row["finish_reason"] == "stop" for row in rows)
        # Again: every answer from the cache, the same file.
        assert main(arguments) == 0
        assert len(server.requests) == 9 and out.read_text() == first
        assert main([*arguments, "--no-cache"]) == 0 and len(server.requests) == 18
        # A greedy request for several samples is refused before any request.
        assert main([*arguments[:-6], "--samples", "2", "--temperature", "0"]) == 2
    finally:
        server.close()
    assert len(server.requests) == 18
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_ask_fails_with_one_line_when_the_server_refuses(tmp_path: Path, data_dir: Path, capsys) -> None:
    server = OpenAIServer(api_key="another-key")
    try:
        code = main(["ask", "--suite", str(HAND_SUITE), "--base-url", server.base_url, "--model", "m",
                     "--out", str(tmp_path / "c.jsonl")])  # fmt: skip
    finally:
        server.close()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and error.startswith(f"error: the OpenAI-compatible server at {server.base_url} failed")
    assert "AuthenticationError" in error and not (tmp_path / "c.jsonl").exists()

"""``python -m zigtune.evaluation score|ask`` as a user runs them: a suite written by hand in this repository's
tests/data (not by the project's tools), judged by the real Zig compiler; completions asked from a real local
OpenAI-compatible server (tests/openai_server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runs import evaluation_cli
from tests.openai_server import OpenAIServer, RecordedRequest, Reply
from zigtune.evaluation.cli import main
from zigtune.evaluation.selfcheck import cheating_solutions
from zigtune.evaluation.suite import load_suite

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the local Zig sandbox needs root")
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


@needs_root
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
    assert report["headline"] == {"subset": "all", "tasks": 3, "pass_at_1": round((1 / 5 + 1 / 2 + 1 / 2) / 3, 4)}
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
    assert report["headline"] == {"subset": "unseen", "tasks": 2, "pass_at_1": 0.5}
    assert "unseen tasks (2): pass@1 50.0%" in again.stdout and "seen tasks (1, not in the headline)" in again.stdout
    assert report["checks"] == {"compiled": 0, "from_cache": 9, "engine_errors": 0}  # nothing compiled twice


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


def test_the_cli_needs_no_dagster() -> None:
    probe = (
        "import sys, zigtune.evaluation.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'torch')))"
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

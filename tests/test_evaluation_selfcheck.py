"""The project's suite (zigtune_core) checks itself: every task well formed, no prompt that leaks its output, and
on a seeded sample of tasks, through ``score`` with the real Zig: reference solutions pass@1 = 1.0 and every
cheating solution 0. The whole suite: ``python benchmarks/check_suite.py`` (minutes; see benchmarks/README.md)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.cli_runs import evaluation_cli
from zigtune.evaluation.selfcheck import cheating_solutions, leaks_expected_output
from zigtune.evaluation.suite import load_suite, suite_jsonl

#: Tasks of the seeded sample compiled here (each: its reference and its 5 cheats).
SAMPLE = 4
SEED = 16


@pytest.fixture(scope="module")
def core():
    return load_suite("zigtune_core")


def test_the_suite_covers_the_reference_chapters_with_complete_tasks(core) -> None:
    assert len(core.tasks) >= 60
    categories = Counter(task.category for task in core.tasks)
    assert len(categories) >= 12 and min(categories.values()) >= 4, categories
    for task in core.tasks:
        assert task.reference_solution and task.stub and task.source and task.license, task.id
        assert task.check.kind == "test" and task.check.file in task.hidden_files, task.id
        assert task.stub in task.prompt, task.id  # the model sees the stub ...
        for content in task.hidden_files.values():
            assert content not in task.prompt, task.id  # ... and never the tests
        assert task.reference_solution not in task.prompt, task.id
        assert not leaks_expected_output(task), task.id


def test_a_seeded_sample_self_checks_through_score(
    core, tmp_path: Path, data_dir: Path, zig_sandbox_root: Path
) -> None:
    sample = sorted(random.Random(SEED).sample(range(len(core.tasks)), SAMPLE))
    tasks = [core.tasks[i] for i in sample]
    suite = tmp_path / "sample.jsonl"
    suite.write_text(suite_jsonl(tasks), encoding="utf-8")
    references = tmp_path / "references.jsonl"
    references.write_text("".join(json.dumps({"id": t.id, "completion": t.reference_solution}) + "\n" for t in tasks))
    cheats = tmp_path / "cheats.jsonl"
    cheat_names = {task.id: list(cheating_solutions(task)) for task in tasks}
    cheats.write_text(
        "".join(
            json.dumps({"id": task.id, "completion": code}) + "\n"
            for task in tasks
            for code in cheating_solutions(task).values()
        )
    )
    reports = {}
    for name, completions in (("references", references), ("cheats", cheats)):
        out = tmp_path / f"{name}.json"
        run = evaluation_cli(
            "score", "--suite", str(suite), "--completions", str(completions), "--out", str(out),
            "--sandbox-dir", str(zig_sandbox_root), env={"ZIGTUNE_DATA_DIR": str(data_dir)},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        reports[name] = json.loads(out.read_text())
    assert reports["references"]["headline"]["pass_at_1"] == 1.0, reports["references"]["per_task"]
    assert reports["cheats"]["headline"]["pass_at_1"] == 0.0
    for task in reports["cheats"]["per_task"]:
        names = cheat_names[task["task_id"]]
        assert task["passed"] == 0 and len(task["verdicts"]) == len(names) == 5, task
        # The forging cheat runs (the hidden tests call the stub's functions) and is judged a test failure.
        assert dict(zip(names, task["verdicts"], strict=True))["forges_summary"] == "test_failure", task
        assert "ok" not in task["verdicts"], (
            task["task_id"],
            dict(zip(cheat_names[task["task_id"]], task["verdicts"], strict=True)),
        )

"""``python -m zigtune.evaluation compare``: two score reports paired task by task (no Zig needed: the reports are
what ``score --out`` writes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zigtune.evaluation.compare import compare_reports, comparison_lines
from zigtune.evaluation.suite import SuiteError, load_suite

SUITE = Path(__file__).parent / "data" / "hand_written_suite.jsonl"


def _report(passed: dict[str, int], seen: dict[str, bool] | None = None) -> dict:
    suite = load_suite(SUITE)
    rows = [
        {"task_id": task.id, "category": task.category_name, "seen": (seen or {}).get(task.id, False),
         "samples": 1, "passed": passed[task.id], "verdicts": ["ok" if passed[task.id] else "test_failed"]}
        for task in suite.tasks
    ]  # fmt: skip
    rate = sum(passed.values()) / len(passed)
    summary = [{"subset": "unseen", "tasks": len(rows), "pass_at_1": rate, "compile_rate": 1.0}]
    return {
        "suite": suite.name,
        "contamination": {"checked": True},
        "headline": {"subset": "unseen", "tasks": len(rows), "pass_at_1": rate},
        "summary": summary,
        "categories": [{"category": "functions", "pass_at_1": rate, "compile_rate": 1.0, "tasks": len(rows)}],
        "per_task": rows,
    }


def test_the_difference_is_paired_by_task_with_an_interval() -> None:
    suite = load_suite(SUITE)
    ids = [task.id for task in suite.tasks]
    base = _report(dict.fromkeys(ids, 0))
    tuned = _report({ids[0]: 1, ids[1]: 1, ids[2]: 0})
    comparison = compare_reports(suite, base, tuned)
    difference = comparison["difference"]
    assert difference["tasks"] == 3
    assert difference["difference"] == pytest.approx(2 / 3, abs=1e-4)
    assert 0 <= difference["low"] <= difference["difference"] <= difference["high"] <= 1
    lines = comparison_lines(comparison)
    assert "fine_tuned − base pass@1: +66.7 points" in lines[3]
    assert "3 independent sources" in lines[3]


def test_seen_tasks_stay_out_of_the_difference() -> None:
    suite = load_suite(SUITE)
    ids = [task.id for task in suite.tasks]
    seen = {ids[0]: True}
    base = _report(dict.fromkeys(ids, 0), seen)
    tuned = _report(dict.fromkeys(ids, 1), seen)
    difference = compare_reports(suite, base, tuned)["difference"]
    assert difference["tasks"] == 2


def test_a_report_of_another_suite_is_refused(tmp_path: Path) -> None:
    suite = load_suite(SUITE)
    other = _report(dict.fromkeys([t.id for t in suite.tasks], 0)) | {"suite": "zigtune_core"}
    with pytest.raises(SuiteError, match="is of suite 'zigtune_core'"):
        compare_reports(suite, other, other)


def test_compare_on_the_command_line(tmp_path: Path) -> None:
    suite = load_suite(SUITE)
    ids = [task.id for task in suite.tasks]
    (tmp_path / "base.json").write_text(json.dumps(_report(dict.fromkeys(ids, 0))))
    (tmp_path / "tuned.json").write_text(json.dumps(_report(dict.fromkeys(ids, 1))))
    command = [sys.executable, "-m", "zigtune.evaluation", "compare", "--suite", str(SUITE)]
    done = subprocess.run(
        [*command, "--base", str(tmp_path / "base.json"), "--fine-tuned", str(tmp_path / "tuned.json"),
         "--out", str(tmp_path / "c.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "+100.0 points" in done.stdout
    assert json.loads((tmp_path / "c.json").read_text())["difference"]["difference"] == 1.0
    (tmp_path / "bad.json").write_text("{}")
    done = subprocess.run(
        [*command, "--base", str(tmp_path / "bad.json"), "--fine-tuned", str(tmp_path / "tuned.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "not a score report" in done.stderr

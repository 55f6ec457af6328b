"""Two scored runs of one suite side by side: fine-tuned − base pass@1 with its interval, from ``score`` reports.

``python -m zigtune.evaluation compare --suite S --base BASE.json --fine-tuned TUNED.json`` reads the reports
``score --out`` wrote (each model's completions judged alone, so anyone can re-score either) and pairs them task
by task: the difference in pass@1 on the tasks both reports count (unseen ones when both checked contamination),
with the cluster-bootstrap interval of ``scoring.paired_difference``, and both models' compile rates per
category. No dagster here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from zigtune.evaluation.report import shown
from zigtune.evaluation.samples import BASE, FINE_TUNED
from zigtune.evaluation.scoring import ALL, UNSEEN, Difference, paired_difference, source_unit
from zigtune.evaluation.suite import Suite, SuiteError


def read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SuiteError(f"{path}: not a score report ({type(error).__name__}: {error})") from None
    if not isinstance(report, dict) or "per_task" not in report:
        raise SuiteError(f"{path}: not a score report (no per_task): write one with score --out")
    return report


def _samples(report: dict[str, Any], role: str, suite: Suite) -> list[dict[str, Any]]:
    tasks = suite.by_id()
    rows = []
    for task in report["per_task"]:
        if task["task_id"] not in tasks:
            raise SuiteError(f"the report names task {task['task_id']!r}, which suite {suite.name} does not have")
        for index, verdict in enumerate(task["verdicts"]):
            rows.append(
                {
                    "suite": suite.name,
                    "task_id": task["task_id"],
                    "category": task["category"],
                    "seen": task["seen"],
                    "role": role,
                    "verdict": verdict,
                    "passed": index < task["passed"],
                    "source_unit": source_unit(tasks[task["task_id"]]),
                }
            )
    return rows


def compare_reports(suite: Suite, base: dict[str, Any], tuned: dict[str, Any]) -> dict[str, Any]:
    """The difference (fine-tuned − base) on the headline subset, and both reports' headline rates."""
    for name, report in ((BASE, base), (FINE_TUNED, tuned)):
        if report.get("suite") != suite.name:
            raise SuiteError(f"the {name} report is of suite {report.get('suite')!r}, not {suite.name!r}")
    frame = pl.DataFrame(_samples(base, BASE, suite) + _samples(tuned, FINE_TUNED, suite))
    both_checked = base["contamination"]["checked"] and tuned["contamination"]["checked"]
    subset = UNSEEN if both_checked else ALL
    difference: Difference | None = paired_difference(frame, suite.name, subset)
    return {
        "suite": suite.name,
        "subset": subset,
        "difference": difference.as_dict() if difference else None,
        "base": base["headline"] | {"summary": base["summary"], "categories": base["categories"]},
        "fine_tuned": tuned["headline"] | {"summary": tuned["summary"], "categories": tuned["categories"]},
    }


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    """What ``compare`` prints."""
    lines = [f"{comparison['suite']}, {comparison['subset']} tasks:"]
    for role in (BASE, FINE_TUNED):
        rows = [row for row in comparison[role]["summary"] if row["subset"] == comparison["subset"]]
        row = rows[0] if rows else {}
        lines.append(
            f"  {role:<10} pass@1 {shown(row.get('pass_at_1'))}  compile rate {shown(row.get('compile_rate'))}  "
            f"({row.get('tasks')} tasks)"
        )
    difference = comparison["difference"]
    if difference is None:
        lines.append("  fine_tuned − base: no task answered by both")
    else:
        points = lambda value: f"{100 * value:+.1f}"  # noqa: E731
        lines.append(
            f"  fine_tuned − base pass@1: {points(difference['difference'])} points, "
            f"{round(100 * difference['confidence'])}% interval [{points(difference['low'])}, "
            f"{points(difference['high'])}] ({difference['tasks']} tasks, {difference['sources']} independent sources)"
        )
    base_categories = {row["category"]: row for row in comparison[BASE]["categories"]}
    tuned_categories = {row["category"]: row for row in comparison[FINE_TUNED]["categories"]}
    names = sorted(set(base_categories) | set(tuned_categories))
    if names:
        width = max(len(name) for name in names)
        lines.append("  per category (pass@1 base → fine_tuned, compile rate base → fine_tuned, tasks):")
        for name in names:
            b, t = base_categories.get(name, {}), tuned_categories.get(name, {})
            tasks = b.get("tasks", t.get("tasks"))
            lines.append(
                f"    {name:<{width}}  {shown(b.get('pass_at_1')):>6} → {shown(t.get('pass_at_1')):<6}  "
                f"{shown(b.get('compile_rate')):>6} → {shown(t.get('compile_rate')):<6}  {tasks}"
            )
    return lines

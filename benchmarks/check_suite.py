"""The full self-check of a task suite, through ``score``, with the real Zig 0.14.0 (local sandbox).

``python benchmarks/check_suite.py [--suite zigtune_core] [--concurrency N] [--sandbox-dir DIR]``

1. Every reference solution, as a completion: pass@1 must be 1.0.
2. Every cheating solution of every task (``zigtune.evaluation.selfcheck``: an empty ``test {}``, the stub,
   the stub exiting 0 before its tests fail, the stub printing the runner's success line from inside the tests
   and exiting 0, a program ignoring the API or printing the prompt's block): every one must fail (pass@1 0).
3. No ``run`` task's prompt contains its expected output.

Prints what failed, the time of each part (cold verdict cache, then the same references again from the cache),
and exits 1 when the suite does not pass. ``tests/test_evaluation_selfcheck.py`` runs a seeded sample of it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zigtune.evaluation.cli import MODEL, create_engine, score_report
from zigtune.evaluation.scoring import Completion, prompt_key
from zigtune.evaluation.selfcheck import cheating_solutions, leaks_expected_output
from zigtune.evaluation.suite import Suite, load_suite
from zigtune.storage.cache import ContentCache


def reference_completions(suite: Suite) -> list[Completion]:
    return [
        Completion(prompt_key(suite.name, task.id), MODEL, 0, task.reference_solution or "") for task in suite.tasks
    ]


def cheat_completions(suite: Suite) -> tuple[list[Completion], list[tuple[str, str]]]:
    completions, names = [], []
    for task in suite.tasks:
        for sample, (name, code) in enumerate(cheating_solutions(task).items()):
            completions.append(Completion(prompt_key(suite.name, task.id), MODEL, sample, code))
            names.append((task.id, name))
    return completions, names


def self_check(suite: Suite, concurrency: int, sandbox_dir: str | None, cache: ContentCache) -> list[str]:
    """The problems found (empty: the suite passes), printing timings as it goes."""
    problems = [f"{task.id}: no reference solution" for task in suite.tasks if not task.reference_solution]
    problems += [
        f"{task.id}: the prompt contains the expected output" for task in suite.tasks if leaks_expected_output(task)
    ]
    for label in ("references (cold cache)", "references (cached)"):
        started = time.perf_counter()
        report = score_report(
            suite, reference_completions(suite), create_engine("local", concurrency, sandbox_dir), cache, None
        )
        print(f"{label}: {len(suite.tasks)} checks in {time.perf_counter() - started:.1f} s, checks {report['checks']}")
    for task in report["per_task"]:
        if task["passed"] != 1:
            problems.append(f"{task['task_id']}: the reference fails ({task['verdicts'][0]})")
    completions, names = cheat_completions(suite)
    started = time.perf_counter()
    report = score_report(suite, completions, create_engine("local", concurrency, sandbox_dir), cache, None)
    print(f"cheats: {len(completions)} checks in {time.perf_counter() - started:.1f} s, checks {report['checks']}")
    verdicts = {task["task_id"]: task["verdicts"] for task in report["per_task"]}
    by_task: dict[str, list[str]] = {}
    for task_id, name in names:
        by_task.setdefault(task_id, []).append(name)
    for task_id, cheat_names in by_task.items():
        for name, verdict in zip(cheat_names, verdicts[task_id], strict=True):
            if verdict == "ok":
                problems.append(f"{task_id}: the {name} cheat passes")
    counts: dict[str, int] = {}
    for task_verdicts in verdicts.values():
        for verdict in task_verdicts:
            counts[verdict] = counts.get(verdict, 0) + 1
    print(f"cheat verdicts: {dict(sorted(counts.items()))}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="zigtune_core")
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--sandbox-dir")
    parser.add_argument("--cache-dir", help="verdict cache to use and keep (default: a fresh one, removed after)")
    arguments = parser.parse_args()
    suite = load_suite(arguments.suite)
    categories = sorted({task.category_name for task in suite.tasks})
    print(f"{suite.name}: {len(suite.tasks)} tasks in {len(categories)} categories")
    with tempfile.TemporaryDirectory() as directory:
        cache = ContentCache(Path(arguments.cache_dir or directory))
        problems = self_check(suite, arguments.concurrency, arguments.sandbox_dir, cache)
    print(
        "\n".join(problems) if problems else "self-check passed: references 1.0, cheats 0, no prompt leaks its output"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

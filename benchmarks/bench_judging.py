"""Judging speed: ``score`` against a plain loop of ``zig test`` over the same test tasks, on this machine.

``python benchmarks/bench_judging.py [--suite zigtune_core] [--limit N] [--concurrency 0]``

Both judge each task's reference solution beside its hidden test file, with the same Zig 0.14.0 compiler:

- the plain loop: ``zig test <check file>`` in a directory holding the task's files, one task after another, no
  sandbox, one Zig cache for the whole loop (what a person would type in a shell loop);
- ``score``: ``python -m zigtune.evaluation score --no-cache`` in its own process (no verdict cache: every task is
  compiled), its own sandbox directory (Zig cache).

Each starts from an empty Zig cache, so each pays for building the standard library pieces once (``cold``); then
both run again on new task sources (each reference with a comment added, so nothing is found in a cache) with the
standard library built (``warm``). Prints the seconds of each and the ratio score / loop (below 1: score is
faster). Every number comes from one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zigtune.evaluation.suite import SuiteTask, load_suite, suite_jsonl
from zigtune.validation.sandbox import zig_binary

ROOT = Path(__file__).resolve().parents[1]


def plain_loop(tasks: list[SuiteTask], work: Path, cache: Path, phase: str, salt: str) -> tuple[float, int]:
    """Seconds to ``zig test`` every task's reference one after another, and how many passed."""
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(cache), "ZIG_LOCAL_CACHE_DIR": str(cache)}
    passed = 0
    started = time.perf_counter()
    for index, task in enumerate(tasks):
        folder = work / f"task-{phase}-{index}"
        folder.mkdir(parents=True)
        files = {**task.files, **task.hidden_files, task.solution_file: (task.reference_solution or "") + salt}
        for name, content in files.items():
            (folder / name).write_text(content, encoding="utf-8")
        assert task.check.file is not None
        finished = subprocess.run(
            [str(zig_binary()), "test", task.check.file],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        passed += finished.returncode == 0
    return time.perf_counter() - started, passed


def score(
    tasks: list[SuiteTask], work: Path, sandbox: Path, phase: str, salt: str, concurrency: int
) -> tuple[float, int]:
    """Seconds for ``python -m zigtune.evaluation score --no-cache`` over the references, and how many passed."""
    suite = work / f"suite-{phase}.jsonl"
    suite.write_text(suite_jsonl(tasks), encoding="utf-8")
    completions = work / f"completions-{phase}.jsonl"
    rows = [{"id": task.id, "completion": (task.reference_solution or "") + salt} for task in tasks]
    completions.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = work / f"report-{phase}.json"
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "zigtune.evaluation", "score", "--suite", str(suite), "--completions", str(completions),
         "--out", str(out), "--no-cache", "--sandbox-dir", str(sandbox), "--concurrency", str(concurrency)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "ZIGTUNE_DATA_DIR": str(work / "data")},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"score failed: {finished.stderr[-2000:]}")
    report = json.loads(out.read_text())
    return seconds, sum(task["passed"] for task in report["per_task"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="zigtune_core")
    parser.add_argument("--limit", type=int, default=0, help="only the first N test tasks (0: all)")
    parser.add_argument("--concurrency", type=int, default=0, help="score's checks at once (0: CPU cores)")
    arguments = parser.parse_args()
    tasks = [task for task in load_suite(arguments.suite).tasks if task.check.kind == "test"]
    tasks = tasks[: arguments.limit] if arguments.limit else tasks
    print(f"{len(tasks)} test tasks of {arguments.suite}, {os.cpu_count()} CPU cores, Zig from {zig_binary()}")
    with tempfile.TemporaryDirectory(prefix="bench-judging-") as temporary:
        work = Path(temporary)
        results = {}
        for phase, salt in (("cold", ""), ("warm", "// again\n")):
            loop = plain_loop(tasks, work / "loop", work / "loop-cache", phase, salt)
            scored = score(tasks, work, work / "sandbox", phase, salt, arguments.concurrency)
            results[phase] = (loop, scored)
            print(
                f"{phase}: plain zig test loop {loop[0]:.1f} s ({loop[1]}/{len(tasks)} passed); "
                f"score {scored[0]:.1f} s ({scored[1]}/{len(tasks)} passed); "
                f"score / loop = {scored[0] / loop[0]:.2f}"
            )


if __name__ == "__main__":
    main()

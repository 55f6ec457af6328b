"""Record a family ablation's measured effect for the dataset card, from two committed ``score`` reports.

``python benchmarks/family_effects.py --suite zigtune_core --with RUN_ALL --without RUN_ARM --dropped FAMILY[,...]
--conversations N_ALL,N_ARM --model TEXT --data TEXT`` pairs ``RUN_ALL/fine_tuned.report.json`` (trained on the
dataset) with ``RUN_ARM/fine_tuned.report.json`` (the same recipe without the families) task by task, as
``python -m zigtune.evaluation compare`` does, and adds the effect (pass@1 with − without, 95% interval) to
``zigtune/dataset/family_effects.json`` (``--out`` for another file), replacing an earlier entry for the same two
runs. The dataset card shows it per family (``zigtune/dataset/effects.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zigtune.evaluation.compare import compare_reports, read_report
from zigtune.evaluation.suite import load_suite

EFFECTS = Path(__file__).resolve().parent.parent / "zigtune" / "dataset" / "family_effects.json"


def measurement(arguments: argparse.Namespace) -> dict:
    suite = load_suite(arguments.suite)
    with_report = read_report(arguments.with_run / "fine_tuned.report.json")
    without_report = read_report(arguments.without_run / "fine_tuned.report.json")
    # compare's "base" is the run without the families, its "fine_tuned" the run with them: the difference is theirs
    comparison = compare_reports(suite, without_report, with_report)
    difference = comparison["difference"]
    if difference is None:
        raise SystemExit("the two reports share no task")
    counts = [int(part) for part in arguments.conversations.split(",")]

    def run(path: Path, report: dict, conversations: int) -> dict:
        return {"run": path.as_posix(), "pass_at_1": report["headline"]["pass_at_1"], "conversations": conversations}

    return {
        "dropped": [family.strip() for family in arguments.dropped.split(",") if family.strip()],
        "effect": difference["difference"],
        "low": difference["low"],
        "high": difference["high"],
        "tasks": difference["tasks"],
        "suite": suite.name,
        "model": arguments.model,
        "data": arguments.data,
        "with": run(arguments.with_run, with_report, counts[0]),
        "without": run(arguments.without_run, without_report, counts[1]),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="zigtune_core")
    parser.add_argument("--with", dest="with_run", type=Path, required=True, help="the run trained on the dataset")
    parser.add_argument("--without", dest="without_run", type=Path, required=True, help="the run without them")
    parser.add_argument("--dropped", required=True, help="the families the second run was trained without")
    parser.add_argument("--conversations", required=True, help="train conversations of both runs: N_WITH,N_WITHOUT")
    parser.add_argument("--model", required=True, help="the weights, as the card should name them")
    parser.add_argument("--data", required=True, help="which make run (commit, date) the first run was trained on")
    parser.add_argument("--out", type=Path, default=EFFECTS)
    arguments = parser.parse_args(argv)
    row = measurement(arguments)
    effects = json.loads(arguments.out.read_text(encoding="utf-8")) if arguments.out.exists() else {}
    kept = [
        m
        for m in effects.get("measurements", [])
        if (m["with"]["run"], m["without"]["run"]) != (row["with"]["run"], row["without"]["run"])
    ]
    effects["measurements"] = [*kept, row]
    arguments.out.write_text(json.dumps(effects, indent=2) + "\n", encoding="utf-8")
    print(
        f"without {row['dropped']}: {100 * row['effect']:+.1f} points [{100 * row['low']:+.1f}, "
        f"{100 * row['high']:+.1f}] ({row['tasks']} tasks) -> {arguments.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

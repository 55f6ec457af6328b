"""The dataset card's measured effect per family: the cells and notes, and the committed measurements re-derived
from the committed score reports (no dagster, no GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zigtune.dataset.effects import NOT_MEASURED, Measurement, effect_cells, effect_notes, read_measurements
from zigtune.evaluation.compare import compare_reports, read_report
from zigtune.evaluation.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent


def measurement(dropped: tuple[str, ...], effect: float, low: float, high: float) -> Measurement:
    return Measurement(
        dropped=dropped,
        effect=effect,
        low=low,
        high=high,
        tasks=72,
        suite="zigtune_core",
        model="Qwen2.5-Coder-1.5B-Instruct",
        data="make run at abc123",
        with_run={"run": "runs/all", "pass_at_1": 0.0833, "conversations": 1408},
        without_run={"run": "runs/no_x", "pass_at_1": 0.0417, "conversations": 1115},
    )


def test_cells_name_every_measurement_that_dropped_the_family() -> None:
    alone = measurement(("mistake_repair",), 0.0417, 0.0, 0.0972)
    group = measurement(("variant", "mistake_repair"), -0.0139, -0.0556, 0.0139)
    cells = effect_cells(["mistake_repair", "variant", "spec_to_code"], [alone, group])
    assert cells == {
        "mistake_repair": "+4.2 [+0.0, +9.7] (m1); -1.4 [-5.6, +1.4] (m2)",
        "variant": "-1.4 [-5.6, +1.4] (m2)",
        "spec_to_code": NOT_MEASURED,
    }
    notes = effect_notes([alone, group])
    assert "- m1: without `mistake_repair`; Qwen2.5-Coder-1.5B-Instruct; zigtune_core, 72 tasks" in notes
    assert "- m2: without `variant`, `mistake_repair`;" in notes
    assert "With: 8.3% pass@1 (1,408 conversations, `runs/all`); without: 4.2% (1,115, `runs/no_x`)" in notes
    assert "No family" in effect_notes([])


def test_committed_measurements_are_what_their_committed_reports_give() -> None:
    measurements = read_measurements()
    assert measurements, "zigtune/dataset/family_effects.json holds no measurement"
    for m in measurements:
        with_report = read_report(ROOT / m.with_run["run"] / "fine_tuned.report.json")
        without_report = read_report(ROOT / m.without_run["run"] / "fine_tuned.report.json")
        difference = compare_reports(load_suite(m.suite), without_report, with_report)["difference"]
        assert (m.effect, m.low, m.high, m.tasks) == pytest.approx(
            (difference["difference"], difference["low"], difference["high"], difference["tasks"])
        )
        assert m.with_run["pass_at_1"] == with_report["headline"]["pass_at_1"]
        assert m.without_run["pass_at_1"] == without_report["headline"]["pass_at_1"]
        assert "Qwen2.5-Coder" in m.model and m.data  # a figure names its weights and its data


def test_a_file_that_is_not_measurements_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "effects.json"
    path.write_text('{"measurements": [{"dropped": ["x"]}]}', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"effects.json: not a list of family effect measurements \(KeyError: 'effect'\)"
    ):
        read_measurements(path)

"""What each task family measurably does to a real model: the dataset card's "measured effect" column.

An ablation trains the same recipe on the dataset with and without some families and asks both fine-tunes the
same suite; the families' effect is pass@1 with them − pass@1 without them, paired task by task with its 95%
interval (``benchmarks/family_effects.py`` computes it from two committed ``score`` reports and appends it to
``family_effects.json`` beside this module). A measurement names its model, its data (which may be an older
``make run`` than the dataset the card describes: the footnote gives both sizes) and the runs anyone can
re-score. A family in no measurement is "not measured". No dagster here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Measurement:
    dropped: tuple[str, ...]
    effect: float  # pass@1 with the families − without them
    low: float
    high: float
    tasks: int
    suite: str
    model: str
    data: str
    with_run: dict[str, Any]
    without_run: dict[str, Any]

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Measurement:
        return cls(
            dropped=tuple(row["dropped"]),
            effect=float(row["effect"]),
            low=float(row["low"]),
            high=float(row["high"]),
            tasks=int(row["tasks"]),
            suite=str(row["suite"]),
            model=str(row["model"]),
            data=str(row["data"]),
            with_run=dict(row["with"]),
            without_run=dict(row["without"]),
        )


def read_measurements(path: Path | None = None) -> list[Measurement]:
    """The committed measurements (``family_effects.json`` beside this module unless ``path`` names another)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path is not None
        else resources.files("zigtune.dataset").joinpath("family_effects.json").read_text(encoding="utf-8")
    )
    try:
        return [Measurement.from_dict(row) for row in json.loads(text)["measurements"]]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        where = path or "zigtune/dataset/family_effects.json"
        raise ValueError(
            f"{where}: not a list of family effect measurements ({type(error).__name__}: {error})"
        ) from None


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def effect_cells(families: list[str], measurements: list[Measurement]) -> dict[str, str]:
    """Per family: each measurement that dropped it, as ``+1.4 [+0.0, +4.2] (m1)``; otherwise "not measured"."""
    cells = {}
    for family in families:
        found = [
            f"{_points(m.effect)} [{_points(m.low)}, {_points(m.high)}] (m{index})"
            for index, m in enumerate(measurements, start=1)
            if family in m.dropped
        ]
        cells[family] = "; ".join(found) if found else NOT_MEASURED
    return cells


def effect_notes(measurements: list[Measurement]) -> str:
    """One footnote per measurement: what was dropped, on which model and data, both runs' pass@1 and sizes."""
    if not measurements:
        return "No family has a measured effect yet: no ablation on a real model has been committed.\n"
    lines = [
        "Measured effect: pass@1 of the fine-tune with the family − without it (in points, with the 95% paired "
        "interval), the same recipe on both; where a measurement dropped several families at once, the effect is "
        "theirs together. A measurement was made on the data its note names, which may be an older `make run` "
        "than this card's.\n"
    ]
    for index, m in enumerate(measurements, start=1):
        with_run, without_run = m.with_run, m.without_run
        lines.append(
            f"- m{index}: without {', '.join(f'`{family}`' for family in m.dropped)}; {m.model}; {m.suite}, "
            f"{m.tasks} tasks; data: {m.data}. With: {100 * with_run['pass_at_1']:.1f}% pass@1 "
            f"({with_run['conversations']:,} conversations, `{with_run['run']}`); without: "
            f"{100 * without_run['pass_at_1']:.1f}% ({without_run['conversations']:,}, `{without_run['run']}`)."
        )
    return "\n".join(lines) + "\n"

"""The evaluation in MLflow, next to the training run it scores. No dagster here.

One MLflow run per evaluation, in the training run's experiment, tagged as its child
(``mlflow.parentRunId``), so the UI shows it nested under the run that trained the adapter; re-evaluating
adds a run rather than overwriting numbers. Params: backend, models, decoding, engine, Zig version, suites.
Metrics: ``<suite>.<role>.<subset>.<rate>`` (``zigtune_core.fine_tuned.unseen.pass_at_1``) and
``<suite>.difference.pass_at_1`` with ``.low``/``.high``. Artifacts: the per-sample table (parquet), the report
(markdown) and the chart (PNG). The training run also gets the headline ``eval.<suite>.<role>.pass_at_1``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from zigtune.metadata import markdown_table
from zigtune.training.config import redact_uri

DEFAULT_EXPERIMENT = "zigtune-lora"
NOT_METRICS = {"suite", "role", "subset"}


def metric_values(summary: pl.DataFrame, differences: dict[str, dict[str, float | int] | None]) -> dict[str, float]:
    """``<suite>.<role>.<subset>.<column>`` for every numeric, non-null cell of the summary, and
    ``<suite>.difference.pass_at_1`` (``.low``, ``.high``, ``.tasks``) for each suite's difference."""
    metrics = {}
    for row in summary.iter_rows(named=True):
        for column, value in row.items():
            if column not in NOT_METRICS and isinstance(value, int | float) and value is not None:
                metrics[f"{row['suite']}.{row['role']}.{row['subset']}.{column}"] = float(value)
    for suite, difference in differences.items():
        if difference:
            metrics[f"{suite}.difference.pass_at_1"] = float(difference["difference"])
            for bound in ("low", "high", "tasks"):
                metrics[f"{suite}.difference.pass_at_1.{bound}"] = float(difference[bound])
    return metrics


def log_evaluation(
    tracking_uri: str,
    training_run_id: str | None,
    run_name: str,
    params: dict[str, Any],
    summary: pl.DataFrame,
    results: pl.DataFrame,
    experiment_name: str = DEFAULT_EXPERIMENT,
    artifact_location: str | None = None,
    differences: dict[str, dict[str, float | int] | None] | None = None,
    headline: dict[str, float] | None = None,
    report_md: str = "",
    chart_png: bytes | None = None,
) -> dict[str, str]:
    """Log one evaluation; returns ``run_id``, ``experiment_id`` and the redacted tracking URI.

    ``artifact_location`` is where a new experiment keeps its artifacts (MLflow's default is ``./mlruns`` in
    the working directory); an existing experiment keeps its own.
    """
    import mlflow
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment_id = None
    if training_run_id:
        try:
            experiment_id = client.get_run(training_run_id).info.experiment_id
        except mlflow.exceptions.MlflowException:
            training_run_id = None  # the training run is not in this store: log beside nothing rather than fail
    if experiment_id is None:
        found = client.get_experiment_by_name(experiment_name)
        experiment_id = (
            found.experiment_id
            if found
            else client.create_experiment(experiment_name, artifact_location=artifact_location)
        )
    tags = {"zigtune.stage": "model_evaluation"}
    if training_run_id:
        tags["mlflow.parentRunId"] = training_run_id
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    now = int(time.time() * 1000)
    metrics = metric_values(summary, differences or {})
    client.log_batch(
        run.info.run_id,
        params=[Param(key, str(value)[:6000]) for key, value in params.items()],
        metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
        tags=[RunTag("zigtune.evaluated_run", training_run_id or "")],
    )
    with tempfile.TemporaryDirectory() as directory:
        table = Path(directory) / "evaluation.parquet"
        results.write_parquet(table)
        summary_md = Path(directory) / "summary.md"
        summary_md.write_text((report_md + "\n\n" if report_md else "") + markdown_table(summary), encoding="utf-8")
        client.log_artifact(run.info.run_id, str(table))
        client.log_artifact(run.info.run_id, str(summary_md))
        if chart_png:
            chart = Path(directory) / "pass_at_1.png"
            chart.write_bytes(chart_png)
            client.log_artifact(run.info.run_id, str(chart))
    client.set_terminated(run.info.run_id, "FINISHED")
    if training_run_id and headline:
        client.log_batch(training_run_id, metrics=[Metric(f"eval.{k}", v, now, 0) for k, v in headline.items()])
    return {"run_id": run.info.run_id, "experiment_id": experiment_id, "tracking_uri": redact_uri(tracking_uri)}

"""The evaluation in MLflow, next to the training run it scores. No dagster here.

One MLflow run per evaluation, in the training run's experiment, tagged as its child
(``mlflow.parentRunId``), so the UI shows it nested under the run that trained the adapter; re-evaluating
adds a run rather than overwriting numbers. Params: backend, models, decoding, engine, Zig version, task
counts. Metrics: ``<role>.<source>.<rate>`` (``fine_tuned.gold.pass_at_1``). Artifacts: the per-sample table
(parquet) and the summary (markdown). The training run also gets the headline ``eval.<role>.pass_at_1``.
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
NOT_METRICS = {"role", "source"}


def metric_values(summary: pl.DataFrame) -> dict[str, float]:
    """``<role>.<source>.<column>`` for every numeric, non-null cell of the summary."""
    metrics = {}
    for row in summary.iter_rows(named=True):
        for column, value in row.items():
            if column not in NOT_METRICS and isinstance(value, int | float) and value is not None:
                metrics[f"{row['role']}.{row['source']}.{column}"] = float(value)
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
    metrics = metric_values(summary)
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
        summary_md.write_text(markdown_table(summary), encoding="utf-8")
        client.log_artifact(run.info.run_id, str(table))
        client.log_artifact(run.info.run_id, str(summary_md))
    client.set_terminated(run.info.run_id, "FINISHED")
    if training_run_id:
        headline = {k.replace(".all.", ".", 1): v for k, v in metrics.items() if ".all.pass_at_" in k}
        client.log_batch(training_run_id, metrics=[Metric(f"eval.{k}", v, now, 0) for k, v in headline.items()])
    return {"run_id": run.info.run_id, "experiment_id": experiment_id, "tracking_uri": redact_uri(tracking_uri)}

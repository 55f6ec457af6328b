"""MLflow for training runs: a local SQLite store under the data directory unless a tracking URI is given.

Only the training settings (no environment, no keys) become params; the tracking URI is logged redacted.
Per-step metrics are written by a background thread: a SQLite commit (an fsync) or an HTTP round trip per
optimizer step would otherwise stall the GPU between steps.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

from zigtune.training.config import TrainingConfig, TrainingError, redact_uri

#: ``mlflow_tracking_uri`` that turns tracking off (TRL's ``report_to="none"``): a run on a machine without MLflow,
#: such as the real-model benchmark on the GPU machine.
NO_TRACKING = "none"


def default_tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


class NoTracking:
    """What ``MlflowRun`` does, done by nothing: the run is reported through its result and model card only."""

    run_id = ""
    uri = NO_TRACKING

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None: ...

    def set_tag(self, key: str, value: str) -> None: ...

    def end(self, status: str = "FINISHED") -> None: ...


def open_run(config: TrainingConfig, run_name: str) -> MlflowRun | NoTracking:
    """An MLflow run, or none when ``mlflow_tracking_uri`` is ``none``."""
    return NoTracking() if config.mlflow_tracking_uri == NO_TRACKING else MlflowRun(config, run_name)


class MlflowRun:
    """One MLflow run, opened by ``start`` and closed by ``end`` (FINISHED, or FAILED on error)."""

    def __init__(self, config: TrainingConfig, run_name: str) -> None:
        import mlflow

        self.mlflow = mlflow
        self.client = mlflow.MlflowClient(tracking_uri=config.mlflow_tracking_uri)
        experiment = self.client.get_experiment_by_name(config.mlflow_experiment)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else self.client.create_experiment(
                config.mlflow_experiment, artifact_location=config.mlflow_artifact_location or None
            )
        )
        run = self.client.create_run(experiment_id, run_name=run_name, tags={"zigtune.stage": "lora_model"})
        self.run_id = run.info.run_id
        self.uri = redact_uri(config.mlflow_tracking_uri)
        self.client.log_batch(
            self.run_id,
            params=[mlflow.entities.Param(key, value[:6000]) for key, value in config.mlflow_params().items()],
        )
        self._metrics: queue.Queue[list[Any] | None] = queue.Queue()
        self._error: Exception | None = None
        self._writer = threading.Thread(target=self._write_metrics, name="mlflow-metrics", daemon=True)
        self._writer.start()

    def _write_metrics(self) -> None:
        while (batch := self._metrics.get()) is not None:
            try:
                if self._error is None:
                    self.client.log_batch(self.run_id, metrics=batch)
            except Exception as error:  # kept, and raised by flush() on the training thread
                self._error = error

    def log_params(self, params: dict[str, Any]) -> None:
        self.client.log_batch(
            self.run_id, params=[self.mlflow.entities.Param(k, str(v)[:6000]) for k, v in params.items()]
        )

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Queue one step's metrics; the writer thread sends them in order."""
        now = int(time.time() * 1000)
        self._metrics.put([self.mlflow.entities.Metric(k, float(v), now, step) for k, v in metrics.items()])

    def flush(self) -> None:
        """Wait until every queued metric is written; raise the writer's error, if it had one."""
        if self._writer.is_alive():
            self._metrics.put(None)
            self._writer.join()
        if self._error is not None:
            error, self._error = self._error, None
            first_line = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise TrainingError(
                f"MLflow did not take the step metrics ({first_line}); check mlflow_tracking_uri and the server"
            ) from error

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def set_tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.run_id, key, value)

    def end(self, status: str = "FINISHED") -> None:
        """Close the run; a writer error fails a finished run, but never hides the error of a failed one."""
        try:
            self.flush()
        except TrainingError:
            if status == "FINISHED":
                self.client.set_terminated(self.run_id, status="FAILED")
                raise
        self.client.set_terminated(self.run_id, status=status)

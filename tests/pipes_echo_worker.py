"""A worker for ``TrainingExecutor.run_worker`` tests: ``python -m tests.pipes_echo_worker``.

``params["mode"]``: ``"echo"`` logs, sends two messages and returns the params with metadata; ``"user_error"``
raises a ``TrainingError``; ``"crash"`` exits with status 3 after a log line.
"""

import sys
from typing import Any

from zigtune.training.config import TrainingError
from zigtune.training.worker import PipesReporter, WorkerReply, serve


def echo(params: dict[str, Any], reporter: PipesReporter) -> WorkerReply:
    reporter.log(f"echo worker got {sorted(params)}")
    if params["mode"] == "user_error":
        raise TrainingError("the widget is\nmisconfigured: set widget=1")
    if params["mode"] == "crash":
        sys.stdout.flush()
        sys.exit(3)
    for step in (1, 2):
        reporter.step(step, {"loss": 1.0 / step})
    return WorkerReply(result={"echo": params}, metadata={"answer": 42, "note": {"raw_value": "# hi", "type": "md"}})


if __name__ == "__main__":
    serve(echo)

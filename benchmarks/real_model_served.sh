#!/usr/bin/env bash
# The fine-tuned model as people run it: model_export's merge -> GGUF (llama.cpp's converter) -> quantized by
# llama.cpp -> served by llama.cpp's OpenAI-compatible server -> asked the suite by the evaluation CLI -> scored.
# On a CPU, from the repo root (after `make install`, with `pip install sentencepiece llama-cpp-python[server]`
# in $SERVER_PYTHON's environment and ZIGTUNE_LLAMA_CPP_CONVERTER naming llama.cpp's convert_hf_to_gguf.py, e.g.
# the vendor/llama.cpp of llama-cpp-python's source distribution):
#   bash benchmarks/real_model_served.sh export ADAPTER_DIR MODEL_DIR      merged + model.gguf + model.Q4_K_M.gguf
#   bash benchmarks/real_model_served.sh ask GGUF OUT_DIR                   served greedily, 1,024 tokens, scored:
#                                                                          OUT_DIR/served.jsonl, served.report.json
set -euo pipefail
PYTHON=${PYTHON:-.venv/bin/python}
SERVER_PYTHON=${SERVER_PYTHON:-$PYTHON}
PORT=${PORT:-8931}
QUANTIZE=${QUANTIZE:-Q4_K_M}
THREADS=${THREADS:-$(nproc)}

export_() {
  "$PYTHON" benchmarks/real_model.py export --adapter "$1" --out "$2" --quantize "$QUANTIZE"
}

ask() {
  local gguf=$1 out=$2
  # the served name is the file's, so the answers cache (an interrupted run resumes) never mixes two models
  local alias=${ALIAS:-$(basename "$(dirname "$gguf")")/$(basename "$gguf")}
  mkdir -p "$out"
  setsid "$SERVER_PYTHON" -m llama_cpp.server --model "$gguf" --host 127.0.0.1 --port "$PORT" --n_ctx 4096 \
    --n_threads "$THREADS" --model_alias "$alias" >"$out/server.log" 2>&1 &
  local server=$!
  trap 'kill -- -'"$server"' 2>/dev/null || true' EXIT
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break; sleep 1; done
  local started; started=$(date +%s)
  "$PYTHON" -m zigtune.evaluation ask --suite zigtune_core --base-url "http://127.0.0.1:$PORT/v1" --model "$alias" \
    --out "$out/served.jsonl" --temperature 0 --max-tokens 1024 --concurrency 1
  echo "asked in $(( $(date +%s) - started )) s" | tee "$out/served.seconds"
  "$PYTHON" -m zigtune.evaluation score --suite zigtune_core --completions "$out/served.jsonl" \
    --out "$out/served.report.json"
}

case ${1:-} in
  export) export_ "${2:?export ADAPTER_DIR MODEL_DIR}" "${3:?export ADAPTER_DIR MODEL_DIR}" ;;
  ask) ask "${2:?ask GGUF OUT_DIR}" "${3:?ask GGUF OUT_DIR}" ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac

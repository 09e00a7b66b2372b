#!/usr/bin/env bash
# Usage: reference_cmdlines.sh SGL_SERVER SGL_BENCH_SERVING WORKDIR
# The two command lines of SGLang's deployment guide that issue 16 quotes, run as written against
# stories260K: the server on port 5000 with the CUDA/MoE flags, then the benchmark with argparse
# prefixes (--random-input, --random-output) writing its JSONL. The guide's benchmark points at
# port 30000 of another host; here --host/--port name the server just started (the only change).
# ctest holds RESOURCE_LOCK port5000 so no other test binds it; a foreign listener fails the test.
set -euo pipefail
server=$1 bench=$2 work=$3
model=${SGL_SHARED_DIR:-}/models/stories260K.gguf
[[ -n ${SGL_SHARED_DIR:-} && -f $model ]] || { echo "SKIP: \$SGL_SHARED_DIR/models/stories260K.gguf not found"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
if curl -s -o /dev/null --max-time 2 http://127.0.0.1:5000/ 2>/dev/null; then
  echo "FAIL: something already listens on port 5000; the reference command line needs it"; exit 1
fi

server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

"$server" --model-path "$model" --host 0.0.0.0 --port 5000 --trust-remote-code --cuda-graph-max-bs 64 \
  --enable-ep-moe --mem-fraction-static 0.65 --disable-radix-cache --max-prefill-tokens 4096 \
  --chunked-prefill-size -1 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -sf http://127.0.0.1:5000/health >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
curl -sf http://127.0.0.1:5000/health >/dev/null 2>&1 || { echo "FAIL: sgl-server did not start"; cat "$work/server.log"; exit 1; }

fail=0
for flag in --trust-remote-code "--cuda-graph-max-bs 64" --enable-ep-moe; do
  grep -q -- "$flag" "$work/server.log" || { echo "FAIL: no log line for $flag"; fail=1; }
done
info=$(curl -sf http://127.0.0.1:5000/get_server_info)
jq -e '.disable_radix_cache == true and .chunked_prefill_size == -1 and .max_prefill_tokens == 4096 and
       .mem_fraction_static == 0.65' <<<"$info" >/dev/null || { echo "FAIL: flags not applied: $info"; fail=1; }

timeout 600 "$bench" --backend sglang --dataset-name random --random-input 1000 --random-output 700 \
  --random-range-ratio 1 --num-prompts 32 --host 127.0.0.1 --port 5000 --output-file "$work/x.jsonl" \
  >"$work/bench.txt" 2>&1 || { echo "FAIL: sgl-bench-serving exited with $?"; tail -20 "$work/bench.txt"; exit 1; }
[[ $(wc -l <"$work/x.jsonl") -eq 1 ]] || { echo "FAIL: expected one JSONL record"; fail=1; }
jq -e '.completed == 32 and .failed == 0 and .random_input_len == 1000 and .random_output_len == 700 and
       .total_output_tokens > 0' "$work/x.jsonl" >/dev/null ||
  { echo "FAIL: JSONL record: $(cat "$work/x.jsonl")"; fail=1; }
(( fail == 0 )) && echo "PASS: both reference command lines ran as written"
exit $fail

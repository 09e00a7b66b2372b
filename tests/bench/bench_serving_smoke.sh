#!/usr/bin/env bash
# Usage: bench_serving_smoke.sh SGL_SERVER SGL_BENCH_SERVING SGL_MKMODEL WORKDIR
# Starts sgl-server on a free loopback port with a tiny synthetic model, runs a short benchmark for
# each backend, and checks the JSONL record. The server is always killed on exit.
set -euo pipefail
server=$1 bench=$2 mkmodel=$3 work=$4
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
"$mkmodel" --arch llama --preset tiny --out "$work/tiny.gguf" >/dev/null

server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

# A free port: let the kernel pick one for a throwaway listener, then retry on the rare race.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
              echo $((20000 + RANDOM % 40000)); }
for attempt in 1 2 3; do
  port=$(free_port)
  "$server" --model-path "$work/tiny.gguf" --host 127.0.0.1 --port "$port" --threads 1 >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  cleanup; server_pid=
done
[[ -n $server_pid ]] || { echo "FAIL: sgl-server did not start"; cat "$work/server.log"; exit 1; }

fail=0
check() {  # check NAME JQ_EXPR: the expression must be true on the last JSONL record
  if ! tail -n 1 "$work/out.jsonl" | jq -e "$2" >/dev/null; then
    echo "FAIL [$backend]: $1  ($2)"; fail=1
  fi
}
n=8
for backend in sglang sglang-oai openai-chat; do
  timeout 120 "$bench" --backend "$backend" --host 127.0.0.1 --port "$port" --dataset-name random \
    --random-input-len 32 --random-output-len 8 --random-range-ratio 1 --num-prompts $n --max-concurrency 4 \
    --tokenizer "$work/tiny.gguf" --seed 7 --disable-tqdm --output-file "$work/out.jsonl" >"$work/$backend.txt" 2>&1 ||
    { echo "FAIL [$backend]: sgl-bench-serving exited with $?"; cat "$work/$backend.txt"; fail=1; continue; }
  grep -q "Serving Benchmark Result" "$work/$backend.txt" || { echo "FAIL [$backend]: no summary table"; fail=1; }
  for k in backend dataset_name request_rate max_concurrency random_input_len random_output_len random_range_ratio \
           duration completed total_input_tokens total_output_tokens request_throughput input_throughput \
           output_throughput total_throughput mean_e2e_latency_ms median_e2e_latency_ms std_e2e_latency_ms \
           p99_e2e_latency_ms mean_ttft_ms median_ttft_ms std_ttft_ms p99_ttft_ms mean_tpot_ms median_tpot_ms \
           std_tpot_ms p99_tpot_ms mean_itl_ms median_itl_ms std_itl_ms p95_itl_ms p99_itl_ms max_itl_ms concurrency; do
    check "field $k present" "has(\"$k\")"
  done
  check "backend recorded" ".backend == \"$backend\""
  check "all requests completed" ".completed == $n and .failed == 0"
  check "output tokens = prompts x output len (ignore_eos)" ".total_output_tokens == $((n * 8))"
  check "input tokens >= prompts x input len" ".total_input_tokens >= $((n * 32))"
  check "throughputs > 0" ".request_throughput > 0 and .input_throughput > 0 and .output_throughput > 0 and .total_throughput > 0"
  check "percentiles ordered" ".median_e2e_latency_ms <= .p99_e2e_latency_ms and .median_ttft_ms <= .p99_ttft_ms and .median_tpot_ms <= .p99_tpot_ms and .median_itl_ms <= .p99_itl_ms and .p99_itl_ms <= .max_itl_ms"
  check "ttft <= e2e" ".mean_ttft_ms > 0 and .mean_ttft_ms <= .mean_e2e_latency_ms"
  check "itl measured" ".mean_itl_ms > 0"
  check "concurrency within limit" ".concurrency > 0 and .concurrency <= 4.0001"
  check "duration covers the slowest request" ".duration * 1000 >= .p99_e2e_latency_ms"
done
[[ $(wc -l <"$work/out.jsonl") -eq 3 ]] || { echo "FAIL: expected 3 JSONL records"; fail=1; }
(( fail == 0 )) && echo "PASS: bench_serving smoke (3 backends, $n prompts each)"
exit $fail

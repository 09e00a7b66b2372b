#!/usr/bin/env bash
# sgl-bench-serving directly to one sgl-server worker vs through sgl-router in front of it (the
# same worker), a few rounds each, and the router's CPU time per request from /proc/PID/stat
# (utime + stime over the routed runs). Figures only: the machine is shared, read the medians.
#   benchmarks/router_overhead.sh BUILD_DIR MODEL.gguf [ROUNDS] [BASE_PORT]
set -euo pipefail
build=$1 model=$2 rounds=${3:-3} port=${4:-18000}
wport=$((port + 1))
tmp=$(mktemp -d)
trap 'kill $spid $rpid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$build/examples/http_server/sgl-server" --model-path "$model" --host 127.0.0.1 --port $wport --threads 1 \
  --log-level error > "$tmp/server.log" 2>&1 & spid=$!
"$build/examples/router/sgl-router" --worker-urls http://127.0.0.1:$wport --host 127.0.0.1 --port $port \
  --prometheus-port 0 --log-level error > "$tmp/router.log" 2>&1 & rpid=$!
for _ in $(seq 300); do curl -sf http://127.0.0.1:$port/readiness > /dev/null && break; sleep 0.1; done
bench() {  # $1 port, $2 output file
  "$build/benchmarks/sgl-bench-serving" --backend sglang --port "$1" --tokenizer "$model" --dataset-name random \
    --random-input-len 128 --random-output-len 32 --random-range-ratio 1 --num-prompts 64 --max-concurrency 16 \
    --disable-tqdm --output-file "$2" > /dev/null 2>&1
}
cpu() { awk '{print $14 + $15}' /proc/$rpid/stat; }
bench $wport "$tmp/warm.jsonl"
routed_cpu=0
for r in $(seq "$rounds"); do
  bench $wport "$tmp/direct.jsonl"
  c0=$(cpu); bench $port "$tmp/routed.jsonl"; c1=$(cpu)
  routed_cpu=$((routed_cpu + c1 - c0))
done
median() { jq -s "map(.$1) | sort | .[length/2|floor]" "$2"; }
tck=$(getconf CLK_TCK)
for f in direct routed; do
  printf '%-7s median of %s rounds: throughput %s req/s, mean TTFT %s ms, median E2E %s ms, mean ITL %s ms\n' "$f" \
    "$rounds" "$(median request_throughput "$tmp/$f.jsonl")" "$(median mean_ttft_ms "$tmp/$f.jsonl")" \
    "$(median median_e2e_latency_ms "$tmp/$f.jsonl")" "$(median mean_itl_ms "$tmp/$f.jsonl")"
done
echo "router CPU: $routed_cpu ticks (1/$tck s) over $((rounds * 64)) routed streams =" \
  "$(awk -v t=$routed_cpu -v k=$tck -v n=$((rounds * 64)) 'BEGIN{printf "%.3f", t / k / n * 1000}') ms per request"

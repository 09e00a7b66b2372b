#!/usr/bin/env bash
# compare.sh: sgl next to llama.cpp on the same GGUF file and thread count, as ratios.
#   decode / prefill tok/s: llama-bench (pp/tg) vs sgl's bench_model
#   serving: sgl-server vs llama-server (--parallel slots), both driven by sgl-bench-serving with the
#            same OpenAI /v1/completions requests (random prompts of exact token length, ignore_eos)
# It never builds the peer: pass the paths of binaries you built.
#
# Usage: benchmarks/compare.sh --llama-bench PATH --llama-server PATH --model FILE.gguf [--threads N]
#          [--sgl-build DIR] [--concurrency "1 8 32"] [--num-prompts 64] [--input-len 256]
#          [--output-len 128] [--parallel 16] [--pp 512] [--tg 128] [--out DIR]
set -euo pipefail

llama_bench= llama_server= model= threads=$(nproc) sgl_build=${SGL_BUILD_DIR:-build}
conc="1 8 32" nprompts=64 in_len=256 out_len=128 parallel=16 pp=512 tg=128 out=
while [[ $# -gt 0 ]]; do
  case $1 in
    --llama-bench) llama_bench=$2; shift 2 ;;
    --llama-server) llama_server=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sgl-build) sgl_build=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    --num-prompts) nprompts=$2; shift 2 ;;
    --input-len) in_len=$2; shift 2 ;;
    --output-len) out_len=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --pp) pp=$2; shift 2 ;;
    --tg) tg=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
die() { echo "compare.sh: $*" >&2; exit 2; }
[[ -f $model ]] || die "--model must name a GGUF file"
[[ -x $llama_bench ]] || die "--llama-bench must name the llama-bench binary (built by you)"
[[ -x $llama_server ]] || die "--llama-server must name the llama-server binary (built by you)"
for b in benchmarks/bench_model benchmarks/sgl-bench-serving examples/http_server/sgl-server; do
  [[ -x $sgl_build/$b ]] || die "missing $sgl_build/$b (build sgl first, or pass --sgl-build DIR)"
done
command -v jq >/dev/null || die "jq is required"
bench_model=$sgl_build/benchmarks/bench_model
bench_serving=$sgl_build/benchmarks/sgl-bench-serving
sgl_server=$sgl_build/examples/http_server/sgl-server
out=${out:-$(mktemp -d /tmp/sgl-compare.XXXXXX)}
mkdir -p "$out"
echo "results and logs in $out" >&2

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # wait_ready PORT PID NAME
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (see $out/$3.log)"
    sleep 0.5
  done
  die "$3 did not become ready in 300 s"
}

# 1. Forward pass alone.
echo "== llama-bench pp$pp / tg$tg, $threads threads" >&2
"$llama_bench" -m "$model" -t "$threads" -p "$pp" -n "$tg" -o json >"$out/llama-bench.json" 2>"$out/llama-bench.log"
l_pp=$(jq -r "[.[] | select(.n_prompt == $pp and .n_gen == 0) | .avg_ts][0]" "$out/llama-bench.json")
l_tg=$(jq -r "[.[] | select(.n_gen == $tg and .n_prompt == 0) | .avg_ts][0]" "$out/llama-bench.json")
echo "== sgl bench_model" >&2
"$bench_model" -m "$model" -t "$threads" -p "$pp" -n "$tg" >"$out/bench_model.txt" 2>&1
s_pp=$(awk -F'|' -v t="pp$pp" '{gsub(/ /,"",$2)} $2==t {gsub(/ /,"",$4); print $4}' "$out/bench_model.txt")
s_tg=$(awk -F'|' -v t="tg$tg" '{gsub(/ /,"",$2)} $2==t {gsub(/ /,"",$4); print $4}' "$out/bench_model.txt")

# 2. Serving, one server at a time so they never share the cores.
serve() {  # serve NAME PORT: one sgl-bench-serving run per concurrency level into $out/NAME.jsonl
  for c in $conc; do
    "$bench_serving" --backend openai --host 127.0.0.1 --port "$2" --dataset-name random \
      --random-input-len "$in_len" --random-output-len "$out_len" --random-range-ratio 1 \
      --num-prompts "$nprompts" --max-concurrency "$c" --tokenizer "$model" --seed 1 --disable-tqdm \
      --tag "$1 c=$c" --output-file "$out/$1.jsonl" >"$out/$1-c$c.txt" 2>&1 || echo "warning: $1 c=$c failed" >&2
  done
}
ctx=$(( parallel * (in_len + out_len + 64) ))
port=$(free_port)
echo "== sgl-server on :$port" >&2
"$sgl_server" --model-path "$model" --host 127.0.0.1 --port "$port" --threads "$threads" >"$out/sgl-server.log" 2>&1 &
pids+=($!); wait_ready "$port" "$!" sgl-server
serve sgl "$port"
cleanup; pids=()
port=$(free_port)
echo "== llama-server on :$port ($parallel slots, ctx $ctx)" >&2
"$llama_server" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" --parallel "$parallel" -c "$ctx" \
  >"$out/llama-server.log" 2>&1 &
pids+=($!); wait_ready "$port" "$!" llama-server
serve llama "$port"
cleanup; pids=()

# 3. The table: ratio = sgl / llama.cpp (for TTFT lower is better, so < 1 favours sgl).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt() { awk -v a="$1" 'BEGIN { if (a == "" || a == "null") print "n/a"; else printf "%.2f", a }'; }
pick() { jq -r --arg t "$2" "select(.tag == \$t) | .$3" "$out/$1.jsonl" 2>/dev/null | tail -n 1; }
printf "\nmodel %s, %s threads\n" "$(basename "$model")" "$threads"
printf "| %-34s | %12s | %12s | %9s |\n" metric sgl llama.cpp sgl/llama
printf "|%s|%s|%s|%s|\n" "------------------------------------" "--------------" "--------------" "-----------"
row() { printf "| %-34s | %12s | %12s | %9s |\n" "$1" "$(fmt "$2")" "$(fmt "$3")" "$(ratio "$2" "$3")"; }
row "prefill pp$pp (tok/s)" "$s_pp" "$l_pp"
row "decode tg$tg (tok/s)" "$s_tg" "$l_tg"
for c in $conc; do
  row "serving c=$c output (tok/s)" "$(pick sgl "sgl c=$c" output_throughput)" "$(pick llama "llama c=$c" output_throughput)"
  row "serving c=$c total (tok/s)" "$(pick sgl "sgl c=$c" total_throughput)" "$(pick llama "llama c=$c" total_throughput)"
  row "serving c=$c median TTFT (ms)" "$(pick sgl "sgl c=$c" median_ttft_ms)" "$(pick llama "llama c=$c" median_ttft_ms)"
done

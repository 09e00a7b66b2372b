#!/usr/bin/env bash
# Usage: bench_one_batch_smoke.sh SGL_BENCH_ONE_BATCH SGL_MKMODEL WORKDIR
set -euo pipefail
bench=$1 mkmodel=$2 work=$3
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
"$mkmodel" --arch llama --preset tiny --out "$work/tiny.gguf" >/dev/null
"$bench" --model-path "$work/tiny.gguf" --batch-size 1 3 --input-len 16 40 --output-len 5 --threads 1 \
  --result-filename "$work/out.jsonl" >"$work/out.txt"
n=$(wc -l <"$work/out.jsonl")
[[ $n -eq 4 ]] || { echo "FAIL: expected 4 records (2 batch sizes x 2 input lens), got $n"; exit 1; }
jq -e -s 'map(.batch_size) == [1,1,3,3] and map(.input_len) == [16,40,16,40] and all(.output_len == 5)' \
  "$work/out.jsonl" >/dev/null || { echo "FAIL: grid order or sizes"; cat "$work/out.jsonl"; exit 1; }
jq -e -s 'all(.prefill_latency > 0 and .prefill_throughput > 0 and .median_decode_latency > 0 and
              .median_decode_throughput > 0 and .total_latency >= .prefill_latency and .overall_throughput > 0)' \
  "$work/out.jsonl" >/dev/null || { echo "FAIL: non-positive figures"; cat "$work/out.jsonl"; exit 1; }
grep -q "| 3 | 40 | 5 |" "$work/out.txt" || { echo "FAIL: table row missing"; cat "$work/out.txt"; exit 1; }
echo "PASS: bench_one_batch smoke"

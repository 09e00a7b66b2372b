#!/usr/bin/env bash
# Usage: program_example.sh SGL_PROGRAM SGL_MKMODEL WORKDIR
# Runs examples/program on a tiny synthetic model and checks what the program promises: the
# shared prefix is prefilled once and every branch finds it in the cache, the select answers one
# of its choices, and the regex-constrained gen matches its regex.
set -euo pipefail
program=$1 mkmodel=$2 work=$3
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
"$mkmodel" --arch llama --preset tiny --out "$work/tiny.gguf" >/dev/null
timeout 120 "$program" "$work/tiny.gguf" 1 >"$work/out.jsonl"
fail=0
check() { jq -e -s "$2" "$work/out.jsonl" >/dev/null || { echo "FAIL: $1 ($2)"; fail=1; }; }
check "prefix prefilled with nothing cached" '.[0].step == "prefix" and .[0].cached_tokens == 0 and .[0].prompt_tokens > 10'
check "three branches" '[.[] | select(.step == "branch")] | length == 3'
check "every branch reuses the whole prefix" \
  '.[0].prompt_tokens as $p | [.[] | select(.step == "branch") | .cached_tokens >= $p] | all'
check "select answers a choice" '[.[] | select(.step == "select") | (.choice as $c | .choices | index($c)) != null] | all'
check "regex gen matches" '[.[] | select(.step == "gen_regex") | .text | test("^[1-9][0-9]?$")] | all'
(( fail == 0 )) && echo "PASS: sgl-program (fork with a cached prefix, select, regex gen)"
exit $fail

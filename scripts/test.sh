#!/usr/bin/env bash
# Builds sgl and runs the whole test suite through ctest. Conformance tests read real data from
# $SGL_SHARED_DIR (default: ../shared next to this checkout, when it exists) and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SGL_SHARED_DIR:-}" ] && [ -d ../shared ]; then
  SGL_SHARED_DIR="$(cd ../shared && pwd)"
fi
export SGL_SHARED_DIR=${SGL_SHARED_DIR:-}
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"

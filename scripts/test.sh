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
# The official openai npm client for the server test (git-ignored; the one download besides apt).
if command -v npm >/dev/null 2>&1 && [ ! -d tests/integration/node/node_modules/openai ]; then
  tests/integration/node/install.sh >/dev/null || echo "npm install failed: the openai-client test will be skipped"
fi
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"

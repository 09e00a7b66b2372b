#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs dependencies (apt-get, and the official
# openai npm client into a git-ignored test folder), builds sgl, and runs the main job.
# Usage: scripts/setup.sh [MODEL]   (MODEL: a .gguf file or an HF directory)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The test suite drives sgl-server with the official openai client; fetch it now so that the test
# command itself downloads nothing. Without registry access that one test reports itself skipped.
if ! tests/integration/node/install.sh; then
  echo "warning: could not install the openai npm client; test_server_openai_client will be skipped" >&2
fi
scripts/build.sh
exec scripts/run-main.sh "$@"

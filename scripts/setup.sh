#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs dependencies (apt-get), builds sgl, and
# runs the main job. Usage: scripts/setup.sh [MODEL]   (MODEL: a .gguf file or an HF directory)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec scripts/run-main.sh "$@"

#!/usr/bin/env bash
# Installs the official `openai` npm client into tests/integration/node/node_modules (git-ignored)
# for the sgl-server client test. Run once before ctest; needs npm and registry access.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --no-package-lock
node -e "import('openai').then(m => console.log('openai', m.VERSION ?? 'installed'))"

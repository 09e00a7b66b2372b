#!/usr/bin/env bash
# Installs everything sgl needs to build and test from Debian 12 packages (run as root, or with
# sudo available). Nothing else is downloaded at build, test or run time.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtbb-dev libfmt-dev libxxhash-dev doctest-dev nlohmann-json3-dev libcpp-httplib-dev
  libcli11-dev libutf8proc-dev libeigen3-dev libbenchmark-dev
  clang libclang-rt-14-dev curl jq
  libgloo-dev
  golang-go cargo
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The openai-client integration test needs Node.js and npm (any source; Debian's if absent).
if ! command -v npm >/dev/null 2>&1; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

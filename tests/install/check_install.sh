#!/usr/bin/env bash
# Installs the built tree into a scratch prefix, then builds and runs a host project through
# find_package(sgl) (C ABI via sgl::sgl, C++ API via sgl::sgl_static) and through pkg-config.
set -euo pipefail
BUILD_DIR=$1
SRC_DIR=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" >/dev/null
test -L "$WORK/prefix/lib/libsgl.so.0" || { echo "soname link libsgl.so.0 missing"; exit 1; }
cmake -S "$SRC_DIR/consumer" -B "$WORK/build" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" >/dev/null
cmake --build "$WORK/build" >/dev/null
LD_LIBRARY_PATH="$WORK/prefix/lib" "$WORK/build/consumer_c"
"$WORK/build/consumer_cpp"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig" cc "$SRC_DIR/consumer/main.c" -o "$WORK/pc_consumer" \
  $(PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig" pkg-config --cflags --libs sgl)
LD_LIBRARY_PATH="$WORK/prefix/lib" "$WORK/pc_consumer"
echo "install check passed"

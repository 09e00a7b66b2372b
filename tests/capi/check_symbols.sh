#!/usr/bin/env bash
# Usage: check_symbols.sh LIBSGL_SO CAPI_DIR ABI_VERSION
# The shared library must export exactly the checked-in list capi/sgl.symbols (no C++ symbols,
# nothing missing), the list must match the functions sgl.h declares, and the soname must be
# libsgl.so.<ABI_VERSION>. When the API grows, add the new names to capi/sgl.symbols.
set -euo pipefail
lib=$1 capi=$2 abi=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$tmp/exported"
sort -u "$capi/sgl.symbols" > "$tmp/listed"
grep -o 'SGL_EXPORT [^(]*(' "$capi/sgl.h" | grep -v __ | sed -E 's/.*[ *](sgl_[a-z0-9_]+)\($/\1/' | sort -u > "$tmp/declared"

status=0
if ! diff -u "$tmp/listed" "$tmp/exported" > "$tmp/d1"; then
  echo "libsgl.so exports differ from capi/sgl.symbols (- listed, + exported):"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/listed" "$tmp/declared" > "$tmp/d2"; then
  echo "capi/sgl.symbols differs from the functions sgl.h declares (- listed, + declared):"; cat "$tmp/d2"; status=1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [[ "$soname" != "libsgl.so.$abi" ]]; then
  echo "soname is '$soname', expected libsgl.so.$abi"; status=1
fi
n=$(wc -l < "$tmp/exported")
[[ $status -eq 0 ]] && echo "libsgl.so ($soname) exports exactly the $n listed sgl_* symbols"
exit $status

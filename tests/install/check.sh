#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer with
# CMake's find_package(wsc) and with pkg-config. Usage: check.sh SOURCE-DIR BUILD-DIR
set -euo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

cmake -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 "$tmp/consumer/consumer_shared"
"$tmp/consumer/consumer_static"

libdir=$(ls -d "$prefix"/lib*/pkgconfig | head -1)
flags=$(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs wsc)
# shellcheck disable=SC2086
cc -std=c11 "$src/tests/install/consumer.c" $flags -o "$tmp/consumer_pc"
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 "$tmp/consumer_pc"
# Static: libwsc.a itself, plus what `pkg-config --static` adds for its private
# dependencies (zlib with permessage-deflate, the TLS libraries).
static_libs=$(PKG_CONFIG_PATH=$libdir pkg-config --static --libs-only-l wsc | sed 's/-lwsc\b//')
static_dirs=$(PKG_CONFIG_PATH=$libdir pkg-config --static --libs-only-L wsc)
# shellcheck disable=SC2086
cc -std=c11 "$src/tests/install/consumer.c" $(PKG_CONFIG_PATH=$libdir pkg-config --cflags wsc) \
  $static_dirs "$(dirname "$libdir")/libwsc.a" $static_libs -o "$tmp/consumer_pc_static"
"$tmp/consumer_pc_static"
echo "find_package(wsc) and pkg-config consumers built and ran (shared and static)"

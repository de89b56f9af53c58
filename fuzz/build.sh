#!/usr/bin/env bash
# Builds the libFuzzer targets that sit beside the parsers (src/core/*_fuzz.c)
# against the core sources, those of the extensions (src/ext/*_fuzz.c: the
# permessage-deflate codec, linked with zlib), and those of the transports
# (src/transport/*_fuzz.c: beside the transport file they test, e.g.
# proxy_fuzz.c with proxy.c). Not part of the CMake build. Targets build in
# parallel, $(nproc) at a time; a failed build fails the script.
#   fuzz/build.sh [outdir]          (default outdir: build-fuzz; CC defaults to clang)
#   build-fuzz/frame_fuzz -max_total_time=60 fuzz/corpus/frame
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
cc=${CC:-clang}
jobs=${JOBS:-$(nproc)}
mkdir -p "$out"
core=()
for f in src/core/*.c; do
  case $f in *_fuzz.c) ;; *) core+=("$f") ;; esac
done

# build NAME SOURCES... [LIBS...]
build() {
  local name=$1
  shift
  echo "building $out/$name"
  "$cc" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wpedantic -Wshadow -Werror -Iinclude -Isrc "$@" -o "$out/$name"
}

pids=()
wait_some() { # keeps at most $jobs builds running; fails if one failed
  while [ "${#pids[@]}" -ge "$1" ]; do
    wait "${pids[0]}" || { echo "fuzz/build.sh: a build failed" >&2; exit 1; }
    pids=("${pids[@]:1}")
  done
}
for target in src/core/*_fuzz.c src/ext/*_fuzz.c src/transport/*_fuzz.c; do
  [ -e "$target" ] || continue
  name=$(basename "$target" .c)
  case $target in
    src/core/*) build "$name" "$target" "${core[@]}" & ;;
    src/ext/*) build "$name" "$target" "${target%_fuzz.c}.c" "${core[@]}" -lz & ;;
    src/transport/*) build "$name" "$target" "${target%_fuzz.c}.c" "${core[@]}" & ;;
  esac
  pids+=($!)
  wait_some "$jobs"
done
wait_some 1

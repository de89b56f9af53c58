#!/usr/bin/env bash
# Builds the libFuzzer targets that sit beside the parsers (src/core/*_fuzz.c)
# against the core sources. Not part of the CMake build.
#   fuzz/build.sh [outdir]          (default outdir: build-fuzz; CC defaults to clang)
#   build-fuzz/frame_fuzz -max_total_time=60 fuzz/corpus/frame
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
cc=${CC:-clang}
mkdir -p "$out"
core=()
for f in src/core/*.c; do
  case $f in *_fuzz.c) ;; *) core+=("$f") ;; esac
done
for target in src/core/*_fuzz.c; do
  name=$(basename "$target" .c)
  echo "building $out/$name"
  "$cc" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wpedantic -Wshadow -Werror -Iinclude -Isrc \
    "$target" "${core[@]}" -o "$out/$name"
done

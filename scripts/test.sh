#!/usr/bin/env bash
# Prints the Cortex-M4 footprint of the core (scripts/footprint.sh), then builds
# wsc twice (release, then ASan+UBSan) and runs the whole test suite on each:
# unit tests, and integration tests against real servers started on 127.0.0.1; then
# the TLS tests once more with the mbedTLS backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The sans-I/O core cross-compiled for Cortex-M4: sizes, and no .data/.bss.
echo "== footprint =="
scripts/footprint.sh
jobs=$(nproc)
for variant in release sanitize; do
  dir=build-test-$variant
  extra=()
  [ "$variant" = sanitize ] && extra=(-DWSC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang)
  echo "== $variant build =="
  cmake -S . -B "$dir" "${extra[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $variant tests =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
done
# The TLS suite again with the embedded backend (mbedTLS instead of OpenSSL).
echo "== mbedtls build =="
cmake -S . -B build-test-mbedtls -DWSC_TLS=mbedtls -DWSC_BUILD_BENCH=OFF >/dev/null
cmake --build build-test-mbedtls -j"$jobs" >/dev/null
echo "== mbedtls tests (label tls) =="
ctest --test-dir build-test-mbedtls --output-on-failure -j"$jobs" --timeout 600 -L tls

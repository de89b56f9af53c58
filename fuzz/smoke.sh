#!/usr/bin/env bash
# CI smoke run of the fuzz targets: builds them all (fuzz/build.sh), then runs
# each for a short fixed time on a copy of its seed corpus (the tree is never
# written), $(nproc) targets at a time. Exits non-zero if a target fails to
# build, crashes, leaks or breaks one of its checks; the failing input is
# printed in hex and kept under OUTDIR/artifacts.
#   fuzz/smoke.sh [outdir] [seconds-per-target]     (defaults: build-fuzz-smoke, 10)
# Longer runs: see fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-fuzz-smoke}")
secs=${2:-${FUZZ_SECONDS:-10}}
jobs=${JOBS:-$(nproc)}
start=$(date +%s)

fuzz/build.sh "$out" >"$out.build.log" 2>&1 || {
  cat "$out.build.log" >&2
  echo "fuzz/smoke.sh: build failed" >&2
  exit 1
}
rm -rf "$out/corpus" "$out/artifacts" "$out/logs"
mkdir -p "$out/corpus" "$out/artifacts" "$out/logs"

# run NAME: one target on a scratch copy of fuzz/corpus/<name without _fuzz>.
run() {
  local name=$1 seeds=fuzz/corpus/${1%_fuzz}
  mkdir -p "$out/corpus/$name" "$out/artifacts/$name"
  [ -d "$seeds" ] && cp -r "$seeds/." "$out/corpus/$name/"
  "$out/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$name/" "$out/corpus/$name" >"$out/logs/$name" 2>&1
}

names=()
for bin in "$out"/*_fuzz; do
  [ -x "$bin" ] && names+=("$(basename "$bin")")
done
[ ${#names[@]} -gt 0 ] || { echo "fuzz/smoke.sh: no targets built" >&2; exit 1; }

failed=0
pids=()
pnames=()
reap() {
  local rc=0
  wait "${pids[0]}" || rc=$?
  local name=${pnames[0]}
  pids=("${pids[@]:1}")
  pnames=("${pnames[@]:1}")
  local runs
  runs=$(awk '/stat::number_of_executed_units/{print $2}' "$out/logs/$name")
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    echo "FAIL $name (exit $rc)"
    tail -n 40 "$out/logs/$name"
    for f in "$out/artifacts/$name"/*; do
      [ -f "$f" ] && { echo "input $f:"; od -An -tx1 "$f" | head -n 20; }
    done
  else
    echo "ok   $name: ${runs:-?} runs in ${secs}s"
  fi
}
for name in "${names[@]}"; do
  run "$name" &
  pids+=($!)
  pnames+=("$name")
  [ ${#pids[@]} -ge "$jobs" ] && reap
done
while [ ${#pids[@]} -gt 0 ]; do reap; done

total=${#names[@]}
echo "fuzz smoke took $(($(date +%s) - start)) s"
echo "fuzz: $((total - failed)) passed, $failed failed"
[ $failed -eq 0 ]

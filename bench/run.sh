#!/usr/bin/env bash
# Builds the benchmark, runs every driver on every workload, interleaved, for
# several repetitions, then prints the medians (bench/report.py) and writes
# docs/bench.md and docs/bench.png. See bench/README.md.
#
#   bench/run.sh                 full run: 5 repetitions plus callgrind counts
#   bench/run.sh --quick         one short repetition: correctness only, no docs
#   bench/run.sh --reps N        N repetitions
#   bench/run.sh --drivers "raw wsc"   a subset of raw wsc zephyr lws wslay
#   bench/run.sh --no-callgrind  skip the instruction counts
#   bench/run.sh --no-build --bin-dir DIR   use binaries built elsewhere (ctest)
#   bench/run.sh --out DIR       where bench.md/bench.png go (default docs/)
#
# Exits 0 when every run verified its data, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=0 reps=5 build=1 callgrind=1
bin_dir="$root/build-bench"
out_dir="$root/docs"
drivers="raw wsc zephyr lws wslay"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps=$2; shift ;;
    --no-build) build=0 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --out) out_dir=$2; shift ;;
    --drivers) drivers=$2; shift ;;
    --no-callgrind) callgrind=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ $quick = 1 ]; then
  reps=1
  callgrind=0
fi

if [ $build = 1 ]; then
  echo "== building into $bin_dir"
  cmake -S "$here" -B "$bin_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$bin_dir" --target bench_all -j"$(nproc)" >/dev/null
fi
# The binaries may sit in a subdirectory when bench/ was added by the parent.
server=$(find "$bin_dir" -name bench_load_server -type f -perm -u+x | head -n1)
[ -n "$server" ] || { echo "run.sh: no bench_load_server under $bin_dir" >&2; exit 1; }
bin=$(dirname "$server")

available=()
for d in $drivers; do
  if [ -x "$bin/bench_$d" ]; then
    available+=("$d")
  else
    echo "note: driver '$d' was not built (its library is missing); skipping it"
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/wsc-bench.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE # exit through the EXIT trap: never leave the server

: >"$work/server.out"
: >"$work/server.err"
"$server" >"$work/server.out" 2>>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(awk '/^PORT/ {print $2}' "$work/server.out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "run.sh: the load server did not start" >&2; cat "$work/server.err" >&2; exit 1; }

# Client and server on different cores for throughput; on one core for the echo.
# The quick run checks correctness only and pins nothing.
tput_client=-1 tput_server=-1 echo_cpu=-1
if [ $quick = 0 ]; then
  echo_cpu=0
  if [ "$(nproc)" -ge 2 ]; then tput_client=1 tput_server=0; fi
fi

# name kind size full-count quick-count
workloads=(
  "recv-16 recv 16 8000000 20000"
  "recv-128 recv 128 2000000 5000"
  "recv-64K recv 65536 4000 40"
  "recv-1M recv 1048576 250 4"
  "text-64K recv-text 65536 3000 40"
  "send-128 send 128 400000 5000"
  "send-64K send 65536 8000 40"
  "echo-32 echo 32 30000 200"
)

results="$work/results.txt"
: >"$results"
failures=0

run_one() { # rep driver kind size count [--bulk]
  local rep=$1 d=$2 kind=$3 size=$4 count=$5 extra=${6:-}
  local cpu=$tput_client scpu=$tput_server
  if [ "$kind" = echo ]; then cpu=$echo_cpu scpu=$echo_cpu; fi
  local line
  if line=$(timeout 300 "$bin/bench_$d" --port "$port" --kind "$kind" --size "$size" \
              --count "$count" --cpu "$cpu" --server-cpu "$scpu" $extra 2>"$work/err"); then
    echo "rep=$rep $line" >>"$results"
  else
    failures=$((failures + 1))
    echo "FAIL: $d $kind $size x $count $extra" >&2
    sed 's/^/    /' "$work/err" >&2
  fi
}

n=${#available[@]}
for rep in $(seq 1 "$reps"); do
  echo "== repetition $rep of $reps"
  for wl in "${workloads[@]}"; do
    read -r name kind size full quickc <<<"$wl"
    count=$full
    [ $quick = 1 ] && count=$quickc
    # Rotate the driver order each repetition so no library always runs first.
    for i in $(seq 0 $((n - 1))); do
      d=${available[$(((i + rep) % n))]}
      run_one "$rep" "$d" "$kind" "$size" "$count"
      # Sends also in large writes: raw TCP's, and wsc's event API batching;
      # and raw TCP with writes of the size a masked frame has.
      if { [ "$d" = raw ] || [ "$d" = wsc ]; } && [ "$kind" = send ]; then
        run_one "$rep" "$d" "$kind" "$size" "$count" --bulk
      fi
      if [ "$d" = raw ] && [ "$kind" = send ]; then
        run_one "$rep" "$d" "$kind" "$size" "$count" --framed
      fi
    done
    printf '   %-9s done\n' "$name"
  done
done

# Self-test of the verification itself: with one payload damaged (bench_corrupt),
# every driver must fail. Text carries invalid UTF-8 that the bytes check cannot
# see, so only the library's validator can reject it (raw TCP has none).
echo "== self-test: damaged data must be rejected"
for d in "${available[@]}"; do
  for spec in "recv 128 3000" "recv 65536 20" "recv-text 4096 100" "send 128 3000" \
              "send 128 3000 --bulk"; do
    read -r kind size count extra <<<"$spec"
    [ "$d" = raw ] && [ "$kind" = recv-text ] && continue
    [ -n "$extra" ] && [ "$d" != raw ] && [ "$d" != wsc ] && continue
    if timeout 60 "$bin/bench_$d" --port "$port" --kind "$kind" --size "$size" \
         --count "$count" --corrupt $extra >/dev/null 2>"$work/err"; then
      failures=$((failures + 1))
      echo "FAIL: $d accepted damaged data ($kind $size $extra)" >&2
    elif ! grep -q FAIL "$work/err"; then
      failures=$((failures + 1))
      echo "FAIL: $d did not report the damage ($kind $size $extra):" >&2
      sed 's/^/    /' "$work/err" >&2
    fi
  done
done
# The sink's reports of those damaged sends are expected; keep only the rest.
grep -v 'FAIL wrong bytes in message' "$work/server.err" >"$work/server.err2" || true
: >"$work/server.err"

if [ $callgrind = 1 ]; then
  if command -v valgrind >/dev/null; then
    echo "== callgrind: user-space instructions per received payload byte"
    cg_dir="$bin/callgrind"
    mkdir -p "$cg_dir"
    for d in "${available[@]}"; do
      for spec in "recv 65536 300" "recv-text 65536 300" "recv 128 100000"; do
        read -r kind size count <<<"$spec"
        f="$cg_dir/$d.$kind.$size.out"
        if valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$f" \
             "$bin/bench_$d" --callgrind --port "$port" --kind "$kind" --size "$size" \
             --count "$count" >/dev/null 2>"$work/err"; then
          ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
          echo "CALLGRIND driver=$d kind=$kind size=$size count=$count ir=$ir" >>"$results"
        else
          failures=$((failures + 1))
          echo "FAIL: callgrind $d $kind $size" >&2
          tail -n 5 "$work/err" | sed 's/^/    /' >&2
        fi
      done
    done
    echo "   profiles kept in $cg_dir (callgrind_annotate FILE)"
  else
    echo "note: valgrind not installed; skipping the instruction counts"
  fi
fi

cat "$work/server.err" >>"$work/server.err2"
if [ -s "$work/server.err2" ]; then
  echo "load server reported:" >&2
  sed 's/^/    /' "$work/server.err2" >&2
  failures=$((failures + 1))
fi

report_args=(--results "$results")
if [ $quick = 0 ]; then
  report_args+=(--out "$out_dir" --reps "$reps")
fi
cp "$results" "$bin/last-results.txt"
python3 "$here/report.py" "${report_args[@]}"

if [ $failures -gt 0 ]; then
  echo "bench: $failures run(s) failed verification or did not finish" >&2
  exit 1
fi
if [ $quick = 1 ]; then
  echo "bench smoke: every driver verified every workload"
fi
exit 0

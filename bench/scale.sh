#!/usr/bin/env bash
# The scale benchmark: builds bench_scale and bench_scale_server, starts the
# server, runs bench_scale against it, stops the server. See bench/README.md.
#
#   bench/scale.sh [--no-build] [--bin-dir DIR] [bench_scale options]
#   bench/scale.sh --conns 10000 --msgs 10 --size 64
#   bench/scale.sh --conns 1000 --msgs 100
#
# --bin-dir DIR   where to build (default build-bench/), or with --no-build
#                 where the binaries already are
# Everything else goes to bench_scale (--conns --msgs --size --rx --tx
# --inflight --timeout). bench_scale bounds each of its three phases by its
# --timeout (default 60 s); as a last resort it is killed after three of
# those plus 30 s. Exits with bench_scale's status (0: every connection
# opened, echoed and closed, every echo right, no library memory left), or 1
# when the server did not start or reported trouble.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=1 phase_timeout=60
bin_dir="$root/build-bench"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --timeout) phase_timeout=$2; args+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ $build = 1 ]; then
  echo "== building into $bin_dir"
  cmake -S "$here" -B "$bin_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$bin_dir" --target bench_scale bench_scale_server -j"$(nproc)" >/dev/null
fi
# The binaries may sit in a subdirectory when bench/ was added by the parent.
server=$(find "$bin_dir" -name bench_scale_server -type f -perm -u+x | head -n1)
[ -n "$server" ] || { echo "scale.sh: no bench_scale_server under $bin_dir" >&2; exit 1; }
client="$(dirname "$server")/bench_scale"
[ -x "$client" ] || { echo "scale.sh: no bench_scale beside $server" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wsc-scale.XXXXXX")
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

"$server" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(awk '/^PORT/ {print $2}' "$work/server.out")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$port" ] || { echo "scale.sh: the scale server did not start" >&2; cat "$work/server.err" >&2; exit 1; }

run_timeout=$((3 * phase_timeout + 30))
status=0
timeout -k 5 "$run_timeout" "$client" --port "$port" "${args[@]}" || status=$?
[ $status = 124 ] && echo "scale.sh: bench_scale killed after $run_timeout s" >&2

# SIGTERM: the server prints its STATS line, frees every connection, exits 0.
kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=""
grep '^STATS' "$work/server.out" | sed 's/^/server: /'
if [ $server_status != 0 ] || [ -s "$work/server.err" ]; then
  echo "scale.sh: the scale server exited $server_status; it reported:" >&2
  sed 's/^/    /' "$work/server.err" >&2
  [ $status = 0 ] && status=1
fi
exit $status

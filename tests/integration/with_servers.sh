#!/usr/bin/env bash
# Usage: with_servers.sh PREFIX SERVER-COMMAND... [--- PREFIX SERVER-COMMAND...]... --- TEST-COMMAND...
# with_server.sh for several servers (say a proxy and the server behind it). Each
# segment but the last starts a server on 127.0.0.1 and waits for its "PORT <n>"
# line; the test then runs with ${PREFIX}_PORT and ${PREFIX}_LOG set for every
# server ("@LOG@" in a server command is replaced by the path of its log file).
# With PREFIX WSC_TEST a server gets the variables itest.c reads. Every server is
# stopped when the test ends, whatever happens.
set -uo pipefail

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts the server described by the words in "$@" (PREFIX first).
start_server() {
  local prefix=$1
  shift
  [[ $prefix =~ ^[A-Z_][A-Z0-9_]*$ ]] || { echo "with_servers.sh: bad prefix '$prefix'" >&2; exit 2; }
  [ $# -gt 0 ] || { echo "with_servers.sh: no command for $prefix" >&2; exit 2; }
  local log="$tmp/$prefix.log" cmd=("$@") i port=""
  : >"$log"
  for i in "${!cmd[@]}"; do cmd[$i]=${cmd[$i]//@LOG@/$log}; done
  "${cmd[@]}" >"$tmp/$prefix.stdout" 2>"$tmp/$prefix.stderr" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 400); do
    port=$(awk '/^PORT /{print $2; exit}' "$tmp/$prefix.stdout")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "with_servers.sh: $prefix did not start: ${cmd[*]}" >&2
    cat "$tmp/$prefix.stderr" >&2
    exit 1
  fi
  export "${prefix}_PORT=$port" "${prefix}_LOG=$log"
  prefixes+=("$prefix")
}

prefixes=()
segment=()
for arg in "$@"; do
  if [ "$arg" = "---" ]; then
    [ ${#segment[@]} -gt 0 ] || { echo "with_servers.sh: empty segment" >&2; exit 2; }
    start_server "${segment[@]}"
    segment=()
  else
    segment+=("$arg")
  fi
done
[ ${#prefixes[@]} -gt 0 ] || { echo "with_servers.sh: no server given" >&2; exit 2; }
[ ${#segment[@]} -gt 0 ] || { echo "with_servers.sh: missing test command" >&2; exit 2; }

"${segment[@]}"
rc=$?
if [ $rc -ne 0 ]; then
  for prefix in "${prefixes[@]}"; do
    echo "--- $prefix stderr ---" >&2
    tail -n 40 "$tmp/$prefix.stderr" >&2
  done
fi
exit $rc

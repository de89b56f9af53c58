#!/usr/bin/env bash
# Usage: with_server.sh SERVER-COMMAND... --- TEST-COMMAND...
# Starts a test server on 127.0.0.1, waits for its "PORT <n>" line, runs the test
# with WSC_TEST_PORT and WSC_TEST_LOG set, then stops the server. "@LOG@" in the
# server command is replaced by the path of a log file the test may read.
set -uo pipefail
server=()
while [ $# -gt 0 ] && [ "$1" != "---" ]; do server+=("$1"); shift; done
shift || { echo "with_server.sh: missing ---" >&2; exit 2; }
[ $# -gt 0 ] || { echo "with_server.sh: missing test command" >&2; exit 2; }

tmp=$(mktemp -d)
log="$tmp/server.log"
: >"$log"
for i in "${!server[@]}"; do server[$i]=${server[$i]//@LOG@/$log}; done

"${server[@]}" >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=""
for _ in $(seq 400); do
  port=$(awk '/^PORT /{print $2; exit}' "$tmp/stdout")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "with_server.sh: server did not start: ${server[*]}" >&2
  cat "$tmp/stderr" >&2
  exit 1
fi

WSC_TEST_PORT=$port WSC_TEST_LOG=$log "$@"
rc=$?
if [ $rc -ne 0 ]; then
  echo "--- server stderr ---" >&2
  tail -n 40 "$tmp/stderr" >&2
fi
exit $rc

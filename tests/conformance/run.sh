#!/usr/bin/env bash
# Usage: run.sh [--python PY] [--report FILE] [--cases PATTERNS] [--agent NAME] [--compress] TESTEE
#
# Runs the strict conformance suite: starts server.py on 127.0.0.1, runs TESTEE
# (wsc-testee, or any Autobahn client testee taking "URL AGENT") against it, and
# prints the report. Exits 0 only when every selected case passed. --compress
# passes --compress to the testee (cases 12 and 13 need it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
report=""
agent=wsc
server_args=()
testee_args=()
while [ $# -gt 1 ]; do
  case $1 in
    --python) python=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --cases) server_args+=(--cases "$2"); shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --compress) testee_args+=(--compress); shift ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2; }
testee=$1

tmp=$(mktemp -d)
[ -n "$report" ] || report=$tmp/report.txt
rm -f "$report"
"$python" "$here/server.py" --report "$report" --lifetime 600 "${server_args[@]}" \
  >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=""
for _ in $(seq 200); do
  port=$(awk '/^PORT /{print $2; exit}' "$tmp/server.out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "run.sh: the conformance server did not start" >&2
  cat "$tmp/server.err" >&2
  exit 1
fi

start=$(date +%s)
"$testee" "${testee_args[@]}" "ws://127.0.0.1:$port" "$agent" >"$tmp/testee.out" 2>&1
testee_rc=$?
elapsed=$(($(date +%s) - start))

show_logs() {
  echo "--- testee output (last 40 lines) ---" >&2
  tail -n 40 "$tmp/testee.out" >&2
  if [ -s "$tmp/server.err" ]; then
    echo "--- server stderr ---" >&2
    tail -n 40 "$tmp/server.err" >&2
  fi
}
if [ ! -s "$report" ]; then
  echo "run.sh: no report was written (testee exit status $testee_rc)" >&2
  show_logs
  exit 1
fi
cat "$report"
echo "(${elapsed} s)"

# The report's last line is "N passed, M failed".
summary=$(tail -n 1 "$report")
if ! [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  echo "run.sh: the report does not end with a summary line" >&2
  exit 1
fi
passed=${BASH_REMATCH[1]}
failed=${BASH_REMATCH[2]}
if [ "$testee_rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  echo "run.sh: conformance failed: $failed case(s) failed, testee exit status $testee_rc" >&2
  show_logs
  exit 1
fi

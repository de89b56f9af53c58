#!/usr/bin/env bash
# Installs what is missing, builds wsc, and runs it against the bundled demo server,
# which sends a greeting and a ping in the same TCP write as its 101 response.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target wsc >/dev/null
echo "wsc: built build/wsc; starting the demo server"

log=$(mktemp)
/usr/bin/python3 tests/fixtures/hostile_server.py --lifetime 60 >"$log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^PORT ' "$log" && break; sleep 0.05; done
port=$(awk '/^PORT /{print $2; exit}' "$log")
[ -n "$port" ] || { echo "demo server did not start" >&2; exit 1; }

echo "\$ echo 'hello from wsc' | build/wsc -v -n 3 ws://127.0.0.1:$port/demo"
{ sleep 0.5; echo 'hello from wsc'; sleep 2; } | build/wsc -v -n 3 "ws://127.0.0.1:$port/demo"

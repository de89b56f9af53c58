#!/usr/bin/env bash
# The wsc tool through the CONNECT proxy fixture: --proxy, the environment,
# no_proxy, and the one-line refusal. Usage: cli_proxy_test.sh PATH-TO-WSC
# (run by with_servers.sh: WSC_TEST_PORT is the hostile fixture, WSC_PROXY_PORT
# the proxy, which wants alice / "p@ss w:rd").
set -u
WSC=$1
TARGET="ws://127.0.0.1:$WSC_TEST_PORT"
GOOD="http://alice:p%40ss%20w%3Ard@127.0.0.1:$WSC_PROXY_PORT"
BAD="http://alice:nope@127.0.0.1:$WSC_PROXY_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
unset http_proxy https_proxy all_proxy ALL_PROXY no_proxy NO_PROXY ws_proxy WS_PROXY

# run NAME WANT-EXIT WANT-STDOUT STDERR-REGEX -- [env assignments...] -- wsc args...
run() {
  local name=$1 want_rc=$2 want_out=$3 err_re=$4
  shift 5
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" timeout 30 "$WSC" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$? ok=1
  [ "$rc" -eq "$want_rc" ] || { echo "  exit $rc, want $want_rc"; ok=0; }
  [ "$(cat "$tmp/out")" = "$want_out" ] || { echo "  stdout: $(cat "$tmp/out")"; ok=0; }
  if [ -z "$err_re" ]; then
    [ ! -s "$tmp/err" ] || { echo "  stderr: $(cat "$tmp/err")"; ok=0; }
  elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq "$err_re" "$tmp/err"; then
    echo "  stderr should be one line matching /$err_re/: $(cat "$tmp/err")"; ok=0
  fi
  if [ $ok -eq 1 ]; then passed=$((passed + 1)); echo "ok - $name"
  else failed=$((failed + 1)); echo "not ok - $name"; fi
}

run "--proxy carries the session" 0 "protocol=none" "" -- -- --no-stdin -n 1 --proxy "$GOOD" "$TARGET/protocol"
run "http_proxy carries the session" 0 "protocol=none" "" -- http_proxy="$GOOD" -- --no-stdin -n 1 "$TARGET/protocol"
run "wrong proxy credentials" 3 "" "^wsc: proxy refused CONNECT: 407 Proxy Authentication Required$" \
  -- -- --no-stdin --proxy "$BAD" "$TARGET/protocol"
run "no_proxy bypasses the environment proxy" 0 "protocol=none" "" \
  -- http_proxy="$BAD" no_proxy=127.0.0.1 -- --no-stdin -n 1 "$TARGET/protocol"
run "--proxy '' ignores the environment" 0 "protocol=none" "" \
  -- http_proxy="$BAD" -- --no-stdin -n 1 --proxy "" "$TARGET/protocol"
run "malformed --proxy is a usage error" 2 "" "^wsc: invalid --proxy" -- -- --proxy "socks5://x" "$TARGET/protocol"
run "malformed http_proxy is a usage error" 2 "" "^wsc: invalid http_proxy" \
  -- http_proxy="ftp://x" -- --no-stdin "$TARGET/protocol"
run "unreachable proxy is a connect failure" 3 "" "^wsc: cannot connect to proxy 127\.0\.0\.1:1: connection refused$" \
  -- -- --no-stdin --proxy "http://127.0.0.1:1" "$TARGET/protocol"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

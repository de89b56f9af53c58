#!/usr/bin/env bash
# The wsc command-line contract against the hostile fixture: output, exit codes,
# and exactly one stderr line per failure. Usage: cli_test.sh PATH-TO-WSC
# (run by with_server.sh, which sets WSC_TEST_PORT and WSC_TEST_LOG).
set -u
WSC=$1
BASE="ws://127.0.0.1:$WSC_TEST_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
id=0

# check NAME EXPECTED-EXIT EXPECTED-STDOUT-FILE STDERR-PATTERN -- wsc args...
# STDERR-PATTERN "" means stderr must be empty; otherwise stderr must be exactly
# one line matching the extended regex.
check() {
  local name=$1 want_rc=$2 want_out=$3 err_re=$4
  shift 5
  timeout 30 "$WSC" "$@" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
  local rc=$? ok=1
  [ "$rc" -eq "$want_rc" ] || { echo "  exit $rc, want $want_rc"; ok=0; }
  if [ -n "$want_out" ] && ! cmp -s "$tmp/out" "$want_out"; then
    echo "  stdout differs:"; od -c "$tmp/out" | head -5; ok=0
  fi
  if [ -z "$err_re" ]; then
    [ ! -s "$tmp/err" ] || { echo "  unexpected stderr:"; cat "$tmp/err"; ok=0; }
  else
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$lines" -ne 1 ] || ! grep -Eq "$err_re" "$tmp/err"; then
      echo "  stderr should be one line matching /$err_re/, got:"; cat "$tmp/err"; ok=0
    fi
  fi
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1)); echo "ok - $name"
  else
    failed=$((failed + 1)); echo "not ok - $name"
  fi
}

stdin() { printf "$@" >"$tmp/stdin"; }
expect() { printf "$@" >"$tmp/want"; }
tag() { id=$((id + 1)); echo "id=$id"; }

log_has() {
  for _ in $(seq 100); do
    grep -qxF "$1" "$WSC_TEST_LOG" && return 0
    sleep 0.05
  done
  echo "  fixture log lacks: $1"
  return 1
}

stdin ''
# --- usage -------------------------------------------------------------------
check "--version prints the version" 0 "" "" -- --version
grep -q '^wsc [0-9]' "$tmp/out" || { echo "not ok - version text"; failed=$((failed + 1)); }
check "--help exits 0" 0 "" "" -- --help
grep -q 'exit' "$tmp/out" || { echo "not ok - --help lists exit codes"; failed=$((failed + 1)); }
check "no URL is a usage error" 2 "" "^wsc: " --
check "unknown option is a usage error" 2 "" "^wsc: " -- --no-such-option "$BASE/echo"
check "bad URL is a usage error" 2 "" "^wsc: .*(URL|scheme)" -- "http://127.0.0.1:$WSC_TEST_PORT/"
check "malformed -H is a usage error" 2 "" "^wsc: " -- -H "no colon here" "$BASE/echo"
check "bad --count is a usage error" 2 "" "^wsc: " -- -n abc "$BASE/echo"

# --- the no-loss contract ----------------------------------------------------
expect 'hello\nfragmented\n\x07&Ed\x83\nlast\n'
check "messages coalesced with the 101 are printed in order" 0 "$tmp/want" "" \
  -- --no-stdin -n 4 "$BASE/coalesced?big=5&$(tag)"
check "the same, dribbled one byte per write" 0 "$tmp/want" "" \
  -- --no-stdin -n 4 "$BASE/coalesced?big=5&dribble=1&$(tag)"
t=$(tag)
expect 'done\n'
check "a ping flood is answered" 0 "$tmp/want" "" -- --no-stdin -n 1 "$BASE/ping-flood?n=50&$t"
log_has "/ping-flood?n=50&$t PONGS 50 ORDER ok" || failed=$((failed + 1))

# --- stdin to messages ---------------------------------------------------------
stdin 'one\ntwo\nthree without newline'
expect 'one\ntwo\nthree without newline\n'
t=$(tag)
check "stdin lines are sent; EOF closes with 1000" 0 "$tmp/want" "" -- "$BASE/echo?$t"
log_has "/echo?$t CLOSE 1000" || failed=$((failed + 1))
stdin 'a\nb\nc\nd\n'
expect 'a\nb\n'
check "--count stops after N messages" 0 "$tmp/want" "" -- -n 2 "$BASE/echo?$(tag)"
stdin 'binary line\n'
expect 'binary line\n'
check "--binary sends lines as binary" 0 "$tmp/want" "" -- --binary "$BASE/echo?$(tag)"
head -c 300000 /dev/zero | tr '\0' 'x' >"$tmp/stdin"
{ cat "$tmp/stdin"; echo; } >"$tmp/want"
check "a 300000-byte line is one message" 0 "$tmp/want" "" -- "$BASE/echo?$(tag)"

# --- options -------------------------------------------------------------------
stdin 'hi\n'
# -H, -p and --origin reach the server; -v traces the handshake.
timeout 30 "$WSC" -v -H 'X-Test: yes' -p chat --origin http://example.test "$BASE/echo?$(tag)" \
  <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
for want in '> X-Test: yes' '> Origin: http://example.test' '> Sec-WebSocket-Protocol: chat' \
  '< HTTP/1.1 101 Switching Protocols' '< Sec-WebSocket-Protocol: chat'; do
  grep -qF -- "$want" "$tmp/err" || { echo "not ok - -v shows '$want'"; failed=$((failed + 1)); }
done
check "header injection is refused" 2 "" "^wsc: " -- -H $'X-A: b\r\nX-B: c' "$BASE/echo"
check "wsc's own headers cannot be overridden" 2 "" "^wsc: " -- -H 'Sec-WebSocket-Key: x' "$BASE/echo"

# --- failures and exit codes -------------------------------------------------
stdin ''
check "non-101 is a handshake failure" 4 "" "^wsc: handshake failed: server answered 403 Forbidden$" \
  -- --no-stdin "$BASE/status?code=403&reason=Forbidden"
check "bad accept is a handshake failure" 4 "" "^wsc: handshake failed: .*Sec-WebSocket-Accept" \
  -- --no-stdin "$BASE/bad-accept"
check "refused connection" 3 "" "^wsc: .*127\.0\.0\.1:1.*refused" -- --no-stdin "ws://127.0.0.1:1/"
check "wss to a refused port is a connect failure" 3 "" "^wsc: .*refused" -- --no-stdin "wss://127.0.0.1:1/"
check "handshake timeout" 6 "" "^wsc: .*timed out" -- --no-stdin --connect-timeout 0.3 "$BASE/silent"
expect 'before\n'
t=$(tag)
check "masked server frame is a protocol violation" 5 "$tmp/want" "^wsc: .*1002" \
  -- --no-stdin "$BASE/violation?kind=masked&$t"
log_has "/violation?kind=masked&$t CLOSE 1002" || failed=$((failed + 1))
t=$(tag)
check "invalid UTF-8 is a protocol violation" 5 "$tmp/want" "^wsc: .*1007" \
  -- --no-stdin "$BASE/violation?kind=bad-utf8&$t"
log_has "/violation?kind=bad-utf8&$t CLOSE 1007" || failed=$((failed + 1))
t=$(tag)
check "--max-message closes with 1009" 5 "$tmp/want" "^wsc: .*1009" \
  -- --no-stdin --max-message 1k "$BASE/violation?kind=too-big&size=2000&$t"
log_has "/violation?kind=too-big&size=2000&$t CLOSE 1009" || failed=$((failed + 1))
check "server close 1000 exits 0" 0 "$tmp/want" "" -- --no-stdin "$BASE/close?code=1000&$(tag)"
check "server close without code exits 0" 0 "$tmp/want" "" -- --no-stdin "$BASE/close?code=none&$(tag)"
check "server close 1011 exits 8" 8 "$tmp/want" "^wsc: .*1011" -- --no-stdin "$BASE/close?code=1011&reason=oops&$(tag)"
check "drop without close frame exits 7" 7 "$tmp/want" "^wsc: " -- --no-stdin "$BASE/drop?$(tag)"
check "reset exits 7" 7 "$tmp/want" "^wsc: " -- --no-stdin "$BASE/reset?$(tag)"

# --- authentication and redirects ----------------------------------------------
expect 'authorized\n'
check "URL userinfo sends Basic auth" 0 "$tmp/want" "" \
  -- --no-stdin -n 1 "ws://me:s%65cret@127.0.0.1:$WSC_TEST_PORT/auth?basic=me:secret"
check "--auth-bearer sends a bearer token" 0 "$tmp/want" "" \
  -- --no-stdin -n 1 --auth-bearer abc "$BASE/auth?bearer=abc"
check "wrong credentials are a handshake failure" 4 "" "^wsc: handshake failed: server answered 401 Unauthorized$" \
  -- --no-stdin --auth-bearer nope "$BASE/auth?bearer=abc"
expect 'protocol=none\n'
check "--location follows a redirect" 0 "$tmp/want" "" \
  -- --no-stdin -n 1 --location "$BASE/status?code=302&reason=Found&location=/protocol"
check "redirects are not followed by default" 4 "" "^wsc: handshake failed: server answered 302 Found$" \
  -- --no-stdin "$BASE/status?code=302&reason=Found&location=/protocol"

# --- keepalive, stats, reconnect ----------------------------------------------
stdin ''
t=$(tag)
check "a dead peer is detected by keepalive" 6 "" "^wsc: peer not responding" \
  -- --no-stdin --ping-interval 0.2 --pong-timeout 0.3 "$BASE/keepalive?pong=none&$t"
log_has "/keepalive?pong=none&$t CLOSE 1011" || failed=$((failed + 1))
expect 'before\n'
timeout 30 "$WSC" --no-stdin --stats "$BASE/close?code=1000&$(tag)" </dev/null >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q '^wsc: stats: messages in 1 out 0;' "$tmp/err" && cmp -s "$tmp/out" "$tmp/want"; then
  passed=$((passed + 1)); echo "ok - --stats prints the counters"
else
  failed=$((failed + 1)); echo "not ok - --stats prints the counters"; cat "$tmp/err"
fi
# /drop sends "before" then FIN: with --reconnect each drop is followed by a new
# connection; -n 3 stops after the third round, whose close fails on the drop (7).
expect 'before\nbefore\nbefore\n'
timeout 30 "$WSC" --no-stdin --reconnect -n 3 "$BASE/drop?$(tag)" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 7 ] && cmp -s "$tmp/out" "$tmp/want" && [ "$(grep -c '^wsc: reconnected' "$tmp/err")" -eq 2 ]; then
  passed=$((passed + 1)); echo "ok - --reconnect resumes after drops"
else
  failed=$((failed + 1)); echo "not ok - --reconnect resumes after drops (exit $rc)"; cat "$tmp/err"
fi

# --- compression (permessage-deflate) -------------------------------------------
# The fixture's /echo?deflate=1 accepts the offer and compresses its echoes. A build
# without zlib refuses --compress as a usage error, and skips the rest.
if "$WSC" --compress --version >/dev/null 2>&1; then
stdin 'hello hello hello hello\n{"a":1,"b":[1,2,3]}\n'
expect 'hello hello hello hello\n{"a":1,"b":[1,2,3]}\n'
timeout 30 "$WSC" -v --compress --stats -n 2 "$BASE/echo?deflate=1&$(tag)" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/want" &&
   grep -q '^> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits$' "$tmp/err" &&
   grep -q '^\* compression: permessage-deflate; server_max_window_bits=15; client_max_window_bits=15$' "$tmp/err" &&
   grep -q '; compressed payload bytes in [1-9][0-9]* (42 inflated) out [1-9][0-9]* (42 deflated)$' "$tmp/err"; then
  passed=$((passed + 1)); echo "ok - --compress round trip, -v shows the agreed compression"
else
  failed=$((failed + 1)); echo "not ok - --compress round trip (exit $rc)"; cat "$tmp/err"
fi
# Without --compress nothing is offered; a server that declines leaves it off.
timeout 30 "$WSC" -v -n 2 "$BASE/echo?deflate=1&$(tag)" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && cmp -s "$tmp/out" "$tmp/want" && ! grep -qi 'extensions\|compression' "$tmp/err"; then
  passed=$((passed + 1)); echo "ok - no compression is offered by default"
else
  failed=$((failed + 1)); echo "not ok - no compression is offered by default"; cat "$tmp/err"
fi
timeout 30 "$WSC" -v --compress -n 2 "$BASE/echo?$(tag)" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && cmp -s "$tmp/out" "$tmp/want" && grep -q '^\* compression: none' "$tmp/err"; then
  passed=$((passed + 1)); echo "ok - --compress with a server that declines"
else
  failed=$((failed + 1)); echo "not ok - --compress with a server that declines"; cat "$tmp/err"
fi
stdin ''
t=$(tag)
check "--compress: a decompression bomb is a protocol error (1009)" 5 "" \
  "^wsc: protocol error: .*larger than the configured maximum.*sent close 1009" \
  -- --no-stdin --compress --max-message 64k "$BASE/deflate-bomb?size=10000000&$t"
log_has "/deflate-bomb?size=10000000&$t CLOSE 1009" || failed=$((failed + 1))
t=$(tag)
check "--compress: corrupt data is a protocol error (1007)" 5 "" \
  "^wsc: protocol error: .*not valid DEFLATE.*sent close 1007" \
  -- --no-stdin --compress "$BASE/deflate-corrupt?$t"
log_has "/deflate-corrupt?$t CLOSE 1007" || failed=$((failed + 1))
else
  check "--compress without zlib is a usage error" 2 "" "^wsc: --compress is not available" \
    -- --compress --no-stdin "$BASE/echo"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

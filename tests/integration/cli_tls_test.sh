#!/usr/bin/env bash
# The wsc tool over wss://: --cacert, --capath, --cert/--key, --insecure, and
# exactly one stderr line (exit 3) per TLS failure. Usage: cli_tls_test.sh
# PATH-TO-WSC, run by with_servers.sh with four python_wss_echo.py peers:
#   WSS_OK_PORT       server.pem (localhost + 127.0.0.1, signed by ca.pem)
#   WSS_WRONG_PORT    wrong.pem (wrong.example only)
#   WSS_EXPIRED_PORT  expired.pem (valid 2020-01-01 .. 2020-01-02)
#   WSS_MUTUAL_PORT   server.pem, client certificate from client_ca.pem required
# and tests/fixtures/tls_server.py requiring the same (it sends the alert when
# it refuses one; python's asyncio just hangs up):
#   WSS_REFUSE_PORT
# and WSC_TLS_CERTS naming the directory make_certs.sh filled (see wss.cmake).
set -u
WSC=$1
C=$WSC_TLS_CERTS
OK="wss://localhost:$WSS_OK_PORT"
WRONG_IP="wss://127.0.0.1:$WSS_WRONG_PORT"
WRONG_DNS="wss://localhost:$WSS_WRONG_PORT"
EXPIRED="wss://localhost:$WSS_EXPIRED_PORT"
MUTUAL="wss://localhost:$WSS_MUTUAL_PORT"
REFUSE="wss://localhost:$WSS_REFUSE_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
# The system trust store must be the real one, and no proxy may get in the way.
unset SSL_CERT_FILE SSL_CERT_DIR http_proxy https_proxy all_proxy ALL_PROXY HTTPS_PROXY
unset no_proxy NO_PROXY

# check NAME WANT-EXIT WANT-STDOUT STDERR-REGEX -- wsc args...
# WANT-STDOUT "" skips the stdout check, otherwise it is the exact output (a
# final newline added). STDERR-REGEX "" means stderr must be empty; otherwise
# stderr must be exactly one line matching the extended regex.
check() {
  local name=$1 want_rc=$2 want_out=$3 err_re=$4
  shift 5
  timeout 30 "$WSC" "$@" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
  local rc=$? ok=1
  [ "$rc" -eq "$want_rc" ] || { echo "  exit $rc, want $want_rc"; ok=0; }
  if [ -n "$want_out" ] && [ "$(cat "$tmp/out")" != "$want_out" ]; then
    echo "  stdout ($(wc -c <"$tmp/out") bytes): $(head -c 200 "$tmp/out")"
    echo "  want   ($((${#want_out} + 1)) bytes): ${want_out:0:200}"; ok=0
  fi
  if [ -z "$err_re" ]; then
    [ ! -s "$tmp/err" ] || { echo "  unexpected stderr:"; cat "$tmp/err"; ok=0; }
  elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq "$err_re" "$tmp/err"; then
    echo "  stderr should be one line matching /$err_re/, got:"; cat "$tmp/err"; ok=0
  fi
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1)); echo "ok - $name"
  else
    failed=$((failed + 1)); echo "not ok - $name"
  fi
}

# stdout must contain the fixed string $1 (after a check that printed it).
out_has() {
  if grep -qF -- "$1" "$tmp/out"; then
    passed=$((passed + 1)); echo "ok - output has '$1'"
  else
    failed=$((failed + 1)); echo "not ok - output lacks '$1': $(cat "$tmp/out")"
  fi
}

stdin() { printf "$@" >"$tmp/stdin"; }

WARN='^wsc: warning: --insecure'
UNKNOWN_CA="^wsc: TLS with localhost failed: certificate verify failed: unable to get local issuer certificate \(unknown CA\); the certificate was issued by 'CN=wsc test CA'$"
EXPIRED_RE='^wsc: TLS with localhost failed: certificate verify failed: certificate has expired \(not valid after 2020-01-02 00:00:00 UTC\)$'

# --- verified sessions -----------------------------------------------------------
# Echo sessions use -n: python3-websockets answers our close at once and drops
# echoes its handler has not sent yet, so "EOF closes" could lose the last ones.
stdin 'hello\nworld\n'
check "--cacert: lines echoed" 0 $'hello\nworld' "" \
  -- -n 2 --cacert "$C/ca.pem" "$OK/echo"
check "--cacert with an IP literal (IP SAN)" 0 $'hello\nworld' "" \
  -- -n 2 --cacert "$C/ca.pem" "wss://127.0.0.1:$WSS_OK_PORT/echo"
check "--capath" 0 $'hello\nworld' "" -- -n 2 --capath "$C/capath" "$OK/echo"
SSL_CERT_FILE="$C/ca.pem" check "SSL_CERT_FILE stands in for the system store" 0 \
  $'hello\nworld' "" -- -n 2 "$OK/echo"
stdin ''
check "the server saw SNI and ALPN" 0 "" "" -- --no-stdin -n 1 --cacert "$C/ca.pem" "$OK/info"
out_has "sni=localhost alpn=http/1.1 version=TLSv1."
# -v traces the handshake inside the TLS stream; -p reaches the server.
timeout 30 "$WSC" -v --no-stdin -n 1 -p chat --cacert "$C/ca.pem" "$OK/info" \
  </dev/null >"$tmp/out" 2>"$tmp/err"
for want in "> GET /info HTTP/1.1" "> Host: localhost:$WSS_OK_PORT" '> Sec-WebSocket-Protocol: chat' \
  '< HTTP/1.1 101 Switching Protocols' '< Sec-WebSocket-Protocol: chat'; do
  if grep -qF -- "$want" "$tmp/err"; then passed=$((passed + 1)); echo "ok - -v shows '$want'"
  else failed=$((failed + 1)); echo "not ok - -v shows '$want'"; fi
done
head -c 200000 /dev/zero | tr '\0' 'x' >"$tmp/stdin"
check "a 200000-byte line over TLS" 0 "$(cat "$tmp/stdin")" "" -- -n 1 --cacert "$C/ca.pem" "$OK/big"

# --- verification failures: exit 3, one line naming the cause ---------------------
stdin 'must not be sent\n'
check "unknown CA (system store)" 3 "" "$UNKNOWN_CA" -- "$OK/unknown-ca"
check "unknown CA (--cacert of another CA)" 3 "" \
  '^wsc: TLS with localhost failed: certificate verify failed: unable to get local issuer certificate \(unknown CA\)' \
  -- --cacert "$C/other_ca.pem" "$OK/other-ca"
check "wrong name (IP literal)" 3 "" \
  "^wsc: TLS with 127\.0\.0\.1 failed: host name mismatch: certificate is for 'wrong\.example', not '127\.0\.0\.1'$" \
  -- --cacert "$C/ca.pem" "$WRONG_IP/wrong"
check "wrong name (localhost)" 3 "" \
  "^wsc: TLS with localhost failed: host name mismatch: certificate is for 'wrong\.example', not 'localhost'$" \
  -- --cacert "$C/ca.pem" "$WRONG_DNS/wrong"
check "expired certificate" 3 "" "$EXPIRED_RE" -- --cacert "$C/ca.pem" "$EXPIRED/expired"
check "missing --cacert file" 3 "" \
  "^wsc: TLS with localhost failed: cannot load CA certificates from '$C/nope\.pem'" \
  -- --cacert "$C/nope.pem" "$OK/"

# --- --insecure: works, with exactly the warning line -----------------------------
stdin 'insecure\n'
check "--insecure with an unknown CA" 0 "insecure" "$WARN" -- -n 1 --insecure "$OK/echo"
check "--insecure with a wrong name" 0 "insecure" "$WARN" -- -n 1 --insecure "$WRONG_IP/echo"
check "--insecure with an expired certificate" 0 "insecure" "$WARN" -- -n 1 --insecure "$EXPIRED/echo"
check "--insecure also with --cacert" 0 "insecure" "$WARN" \
  -- -n 1 --insecure --cacert "$C/ca.pem" "$EXPIRED/echo"
grep -qxF "wsc: warning: --insecure: the server's certificate and host name are not verified" \
  "$tmp/err" && { passed=$((passed + 1)); echo "ok - the warning's wording"; } \
  || { failed=$((failed + 1)); echo "not ok - the warning's wording: $(cat "$tmp/err")"; }

# --- mutual TLS ---------------------------------------------------------------------
stdin ''
check "--cert/--key: the server sees the client certificate" 0 "" "" \
  -- --no-stdin -n 1 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" "$MUTUAL/info"
out_has "client=wsc-test-client"
cat "$C/client.pem" "$C/client.key" >"$tmp/both.pem"
check "--cert holding the key too" 0 "" "" \
  -- --no-stdin -n 1 --cacert "$C/ca.pem" --cert "$tmp/both.pem" "$MUTUAL/info"
out_has "client=wsc-test-client"
stdin 'mutual\n'
check "mutual TLS echo" 0 "mutual" "" \
  -- -n 1 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" "$MUTUAL/echo"
# Refused: with TLS 1.3 the server's alert arrives when the 101 is read.
check "no client certificate: refused" 3 "" '^wsc: .*certificate' \
  -- --cacert "$C/ca.pem" "$REFUSE/refused"
check "a client certificate of the wrong CA: refused" 3 "" '^wsc: .*certificate' \
  -- --cacert "$C/ca.pem" --cert "$C/wrong.pem" --key "$C/wrong.key" "$REFUSE/refused"
check "a key that does not match the certificate" 3 "" '^wsc: TLS with localhost failed: .*does not match the certificate' \
  -- --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/server.key" "$MUTUAL/refused"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

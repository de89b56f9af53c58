#!/usr/bin/env bash
# Valgrind memcheck over the integration programs of a non-sanitizer build, each
# run through with_server.sh against its real server as ctest runs it:
#   tests/valgrind.sh BUILD-DIR
# (ctest: memcheck/integration). Any memory error, or any definitely or
# indirectly lost block, fails the program (--error-exitcode=1); so does a
# failing test. Programs a build lacks (the Zephyr layer is optional) are
# skipped. The split sweeps try every WSC_TEST_SWEEP_STEP-th offset (default 7
# here) to keep the run short; valgrind's logs stay in BUILD-DIR/memcheck/.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tests/valgrind.sh BUILD-DIR}" && pwd)
bin=$build/tests/integration
logs=$build/memcheck
mkdir -p "$logs"
py=/usr/bin/python3
hostile=("$py" "$src/tests/fixtures/hostile_server.py" --log @LOG@)
echo_peer=("$py" "$src/tests/peers/python_echo.py")
http=("$py" "$src/tests/fixtures/http_server.py")
step=${WSC_TEST_SWEEP_STEP:-7}

passed=0 failed=0 skipped=0
extra_env=() # VAR=VALUE settings for the next checks
# check NAME PROGRAM ARGS... --- SERVER...
check() {
  local name=$1 prog=$2
  shift 2
  local args=()
  while [ "$1" != "---" ]; do args+=("$1"); shift; done
  shift
  if [ ! -x "$bin/$prog" ]; then
    echo "skip $name ($prog not built)"
    skipped=$((skipped + 1))
    return
  fi
  local log=$logs/$name.log start=$SECONDS
  "$src/tests/integration/with_server.sh" "$@" --- env WSC_TEST_SWEEP_STEP="$step" "${extra_env[@]}" \
    valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --num-callers=30 --log-file="$log.%p" \
    "$bin/$prog" "${args[@]}" >"$log" 2>&1
  local rc=$?
  cat "$log".* >>"$log" 2>/dev/null
  rm -f "$log".*
  local summary
  summary=$(grep -h "ERROR SUMMARY" "$log" | tail -n 1 | sed 's/^==[0-9]*== //')
  if [ $rc -eq 0 ]; then
    echo "ok   $name ($((SECONDS - start)) s): ${summary:-no summary}"
    passed=$((passed + 1))
  else
    echo "FAIL $name (exit $rc, $((SECONDS - start)) s): ${summary:-no summary}"
    grep -v "^\[ " "$log" | tail -n 60
    failed=$((failed + 1))
  fi
}

check python_websockets_echo itest_echo_test --- "${echo_peer[@]}"
check hostile itest_hostile_test --- "${hostile[@]}"
check coalesced itest_coalesced_test --- "${hostile[@]}"
check live itest_live_test --- "${hostile[@]}"
check slow_peers itest_slow_test --- "${hostile[@]}"
check zephyr_hostile itest_zephyr_test hostile --- "${hostile[@]}"
check zephyr_echo itest_zephyr_test echo --- "${echo_peer[@]}"
check zephyr_http itest_zephyr_test http --- "${http[@]}"
# The event-driven API: its loop, the name lookup thread, redirects.
extra_env=(FIXTURE=1 ECHO_PATH=/echo)
check event_fixture itest_event_test --- "${hostile[@]}"
extra_env=()
# Buffers shrunk to force every boundary, as the *_tiny_buffers ctests do.
extra_env=(WSC_TEST_RX_BUF=16 WSC_TEST_TX_BUF=512)
# (hostile_test is not rerun with tiny buffers here: its 20 MB too-big case read
# 16 bytes at a time outlasts its 10 s receive timeout under valgrind.)
check coalesced_tiny_buffers itest_coalesced_test --- "${hostile[@]}"
extra_env=()

echo "memcheck: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]

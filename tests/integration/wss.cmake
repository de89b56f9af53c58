# wss:// end to end: wsc_connect() and the wsc tool over TLS against real
# servers on 127.0.0.1 (tests/integration/wss_test.c, cli_tls_test.sh).
# Included from tests/integration/CMakeLists.txt after tls.cmake, which
# defines the certificate fixture (wsc_tls_certs, test integration/tls_certs)
# these tests require. `ctest -L tls` selects them with the transport tests.
# Run them against both backends with two build trees: -DWSC_TLS=openssl (the
# default) and -DWSC_TLS=mbedtls.
if(WSC_TLS STREQUAL "none")
  return()
endif()

wsc_itest_program(wss_test)

# The directory make_certs.sh fills (the same one tls.cmake names).
set(WSS_CERTS ${CMAKE_CURRENT_BINARY_DIR}/tls_certs)
set(WSS_WITH_SERVER ${CMAKE_CURRENT_SOURCE_DIR}/with_server.sh)
set(WSS_WITH_SERVERS ${CMAKE_CURRENT_SOURCE_DIR}/with_servers.sh)
set(WSS_PY ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/peers/python_wss_echo.py --log @LOG@)
set(WSS_NODE ${WSC_NODE} ${CMAKE_SOURCE_DIR}/tests/peers/node/wss_echo.js --log @LOG@)
set(WSS_HOSTILE ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/hostile_server.py --log @LOG@)
set(WSS_TLS_SERVER ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/tls_server.py --log @LOG@)
set(WSS_FRONT ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/tls_front.py)
# wss_test.c has these credentials percent-encoded.
set(WSS_PROXY ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/connect_proxy.py
    --log @LOG@ "--auth=alice:p@ss w:rd")
set(_c ${WSS_CERTS})
set(WSS_SERVER_CERT --cert ${_c}/server.pem --key ${_c}/server.key)

# wsc_wss_test(NAME RUNNER ARGS...): one ctest entry, labelled tls, that needs
# the certificates; ARGS are the runner's (servers, ---, the test command).
function(wsc_wss_test name runner)
  add_test(NAME integration/wss_${name} COMMAND ${runner} ${ARGN})
  set_tests_properties(integration/wss_${name} PROPERTIES
    LABELS "integration;tls" TIMEOUT 600 FIXTURES_REQUIRED wsc_tls_certs)
endfunction()

# wsc_wss_group(NAME GROUP RUNNER SERVER-SEGMENTS...): wss_test GROUP after
# the servers, twice: with default buffers, and as NAME_tiny_buffers with a
# 16-byte input buffer (most of every TLS record waits inside the TLS library)
# and a 512-byte output buffer.
function(wsc_wss_group name group runner)
  wsc_wss_test(${name} ${runner} ${ARGN} ---
    env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> ${group})
  wsc_wss_test(${name}_tiny_buffers ${runner} ${ARGN} ---
    env WSC_TLS_CERTS=${WSS_CERTS} WSC_TEST_RX_BUF=16 WSC_TEST_TX_BUF=512
    $<TARGET_FILE:itest_wss_test> ${group})
endfunction()

# python3-websockets 10.4 over ssl.SSLContext.
wsc_wss_group(python_echo echo ${WSS_WITH_SERVER} ${WSS_PY} ${WSS_SERVER_CERT})
wsc_wss_test(python_wrong_name ${WSS_WITH_SERVER}
  ${WSS_PY} --cert ${_c}/wrong.pem --key ${_c}/wrong.key ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> wrong_name)
wsc_wss_test(python_expired ${WSS_WITH_SERVER}
  ${WSS_PY} --cert ${_c}/expired.pem --key ${_c}/expired.key ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> expired)
wsc_wss_test(python_mutual ${WSS_WITH_SERVER}
  ${WSS_PY} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> mutual)
# TLS 1.2: the refusal of a client certificate ends the TLS handshake itself.
wsc_wss_test(python_mutual_tls12 ${WSS_WITH_SERVER}
  ${WSS_PY} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem --tls-max 1.2 ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> mutual)
# asyncio never sends the alert for a refused client certificate; tls_server.py
# does: the refusal named in wsc_conn_detail(), TLS 1.3 (after the handshake,
# on reading the 101) and TLS 1.2 (in the handshake).
wsc_wss_test(refused ${WSS_WITH_SERVER}
  ${WSS_TLS_SERVER} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> refused)
wsc_wss_test(refused_tls12 ${WSS_WITH_SERVER}
  ${WSS_TLS_SERVER} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem --tls-max 1.2 ---
  env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> refused)

# tls_server.py: the 101, "hello" and a ping in one TLS record.
wsc_wss_group(coalesced coalesced ${WSS_WITH_SERVER}
  ${WSS_TLS_SERVER} ${WSS_SERVER_CERT} --mode coalesced)

# The hostile fixture's scenarios over TLS: tls_front.py reads the hostile
# fixture's port from WSC_TEST_PORT, which with_servers.sh exported.
wsc_wss_group(hostile_front front ${WSS_WITH_SERVERS}
  WSC_TEST ${WSS_HOSTILE} --- WSC_FRONT ${WSS_FRONT} ${WSS_SERVER_CERT})

# Through the HTTP CONNECT proxy fixture to the python peer.
wsc_wss_group(proxy proxy ${WSS_WITH_SERVERS}
  WSC_TEST ${WSS_PY} ${WSS_SERVER_CERT} --- WSC_PROXY ${WSS_PROXY})

# The npm ws server over node's https.createServer().
if(WSC_NODE AND WSC_NPM)
  wsc_wss_group(node_echo echo ${WSS_WITH_SERVER} ${WSS_NODE} ${WSS_SERVER_CERT})
  wsc_wss_test(node_mutual ${WSS_WITH_SERVER}
    ${WSS_NODE} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem ---
    env WSC_TLS_CERTS=${WSS_CERTS} $<TARGET_FILE:itest_wss_test> node_mutual)
  set_tests_properties(integration/wss_node_echo integration/wss_node_echo_tiny_buffers
    integration/wss_node_mutual PROPERTIES FIXTURES_REQUIRED "wsc_tls_certs;node_ws")
endif()

# The wsc tool: --cacert, --capath, --cert/--key, --insecure, and one stderr
# line per TLS failure, against four python peers (valid, wrong name,
# expired, client certificate required) and tls_server.py requiring a client
# certificate (it announces refusals with an alert; asyncio does not).
if(WSC_BUILD_CLI)
  wsc_wss_test(cli ${WSS_WITH_SERVERS}
    WSS_OK ${WSS_PY} ${WSS_SERVER_CERT} ---
    WSS_WRONG ${WSS_PY} --cert ${_c}/wrong.pem --key ${_c}/wrong.key ---
    WSS_EXPIRED ${WSS_PY} --cert ${_c}/expired.pem --key ${_c}/expired.key ---
    WSS_MUTUAL ${WSS_PY} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem ---
    WSS_REFUSE ${WSS_TLS_SERVER} ${WSS_SERVER_CERT} --client-ca ${_c}/client_ca.pem ---
    env WSC_TLS_CERTS=${WSS_CERTS}
    ${CMAKE_CURRENT_SOURCE_DIR}/cli_tls_test.sh $<TARGET_FILE:wsc>)
endif()
unset(_c)

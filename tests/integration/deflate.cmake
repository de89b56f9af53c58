# permessage-deflate (RFC 7692) end to end: deflate_test.c against python3-websockets,
# npm ws and the hostile fixture, each with compression on in several
# configurations. DEFLATE_AGREED is what the default offer must agree on with that
# server ("-": the server declines). Included from CMakeLists.txt after PY_ECHO,
# HOSTILE, NODE_DIR and wsc_itest_program() are defined.
if(NOT WSC_DEFLATE)
  return()
endif()

wsc_itest_program(deflate_test)
set(DEFLATE_TEST $<TARGET_FILE:itest_deflate_test>)

# websockets' own defaults: 12-bit windows both ways, context takeover.
wsc_peer_test(python_websockets_deflate ${PY_ECHO} --compress ---
  env DEFLATE_AGREED=s12,c12 ${DEFLATE_TEST})
# No context takeover either way and a 10-bit server window, imposed by the server.
wsc_peer_test(python_websockets_deflate_no_takeover ${PY_ECHO}
  --deflate server_no_context_takeover,client_no_context_takeover,server_max_window_bits=10
  --- env DEFLATE_AGREED=s10nct,c15nct ${DEFLATE_TEST})
# A server that declines: everything flows uncompressed.
wsc_peer_test(python_websockets_deflate_declined ${PY_ECHO} ---
  env DEFLATE_AGREED=- ${DEFLATE_TEST})
# Tiny buffers: compressed frames of at most 512 bytes, input read 16 bytes at a time.
wsc_peer_test(python_websockets_deflate_tiny_buffers ${PY_ECHO} --compress ---
  env WSC_TEST_RX_BUF=16 WSC_TEST_TX_BUF=512 DEFLATE_AGREED=s12,c12 ${DEFLATE_TEST})
# The fixture: its echo compresses with zlib directly; plus bombs and corrupt data.
wsc_peer_test(fixture_deflate ${HOSTILE} ---
  env ECHO_PATH=/echo?deflate=1 HOSTILE=1 DEFLATE_AGREED=s15,c15 ${DEFLATE_TEST})
wsc_peer_test(fixture_deflate_tiny_buffers ${HOSTILE} ---
  env ECHO_PATH=/echo?deflate=1 HOSTILE=1 DEFLATE_AGREED=s15,c15
  WSC_TEST_RX_BUF=16 WSC_TEST_TX_BUF=512 ${DEFLATE_TEST})

if(WSC_NODE AND WSC_NPM)
  wsc_peer_test(node_ws_deflate ${WSC_NODE} ${NODE_DIR}/echo.js --deflate default ---
    env DEFLATE_AGREED=s15,c15 ${DEFLATE_TEST})
  # ws refuses the handshake (400) for an offer it cannot honour, such as a server
  # window below its own: 9 bits, the smallest, accepts every offer the test makes.
  wsc_peer_test(node_ws_deflate_no_takeover ${WSC_NODE} ${NODE_DIR}/echo.js --deflate
    serverNoContextTakeover,clientNoContextTakeover,serverMaxWindowBits=9
    --- env DEFLATE_AGREED=s9nct,c15nct ${DEFLATE_TEST})
  set_tests_properties(integration/node_ws_deflate integration/node_ws_deflate_no_takeover
    PROPERTIES FIXTURES_REQUIRED node_ws)
endif()

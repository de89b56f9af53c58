# Sessions through an HTTP CONNECT proxy (tests/fixtures/connect_proxy.py) to the
# hostile fixture. Two servers, so with_servers.sh: the hostile fixture gets the
# WSC_TEST_* variables itest.c reads, the proxy WSC_PROXY_PORT and WSC_PROXY_LOG.
# Included from CMakeLists.txt after HOSTILE and wsc_itest_program() are defined.
set(WITH_SERVERS ${CMAKE_CURRENT_SOURCE_DIR}/with_servers.sh)
# The credentials need percent-encoding in a proxy URL ("p%40ss%20w%3Ard"), which
# is the point; proxy_test.c has the encoded form.
set(CONNECT_PROXY ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/connect_proxy.py
    --log @LOG@ "--auth=alice:p@ss w:rd")

wsc_itest_program(proxy_test)

# wsc_proxy_test(NAME TEST-COMMAND...)
function(wsc_proxy_test name)
  add_test(NAME integration/${name}
    COMMAND ${WITH_SERVERS} WSC_TEST ${HOSTILE} --- WSC_PROXY ${CONNECT_PROXY} --- ${ARGN})
  set_tests_properties(integration/${name} PROPERTIES LABELS integration TIMEOUT 600)
endfunction()

wsc_proxy_test(proxy $<TARGET_FILE:itest_proxy_test>)
# A 16-byte input buffer: the proxy's reply spans reads and the tunnel bytes
# behind it are split from the head at an arbitrary point.
wsc_proxy_test(proxy_tiny_buffers
  env WSC_TEST_RX_BUF=16 WSC_TEST_TX_BUF=256 $<TARGET_FILE:itest_proxy_test>)

if(WSC_BUILD_CLI)
  wsc_proxy_test(cli_proxy ${CMAKE_CURRENT_SOURCE_DIR}/cli_proxy_test.sh $<TARGET_FILE:wsc>)
endif()

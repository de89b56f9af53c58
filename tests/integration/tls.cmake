# TLS transport tests: wsc_tls_connect over wsc_tcp_connect against
# tests/fixtures/tls_server.py on 127.0.0.1, one server configuration per ctest
# entry. Included from tests/integration/CMakeLists.txt after wsc_itest_program()
# and wsc_peer_test() are defined. Run the suite against both backends with two
# build trees: -DWSC_TLS=openssl (the default) and -DWSC_TLS=mbedtls.
if(WSC_TLS STREQUAL "none")
  return()
endif()

wsc_itest_program(tls_test)

# Throwaway CA, server, client, expired and wrong-name certificates, generated
# once per build tree by the openssl CLI before any TLS test runs.
set(WSC_TLS_CERTS ${CMAKE_CURRENT_BINARY_DIR}/tls_certs)
add_test(NAME integration/tls_certs
  COMMAND ${CMAKE_SOURCE_DIR}/tests/fixtures/make_certs.sh ${WSC_TLS_CERTS})
set_tests_properties(integration/tls_certs PROPERTIES
  FIXTURES_SETUP wsc_tls_certs LABELS integration TIMEOUT 120)

set(TLS_SERVER ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/tls_server.py --log @LOG@)

# wsc_tls_test(NAME GROUP SERVER-ARGS...): runs the GROUP tests of tls_test
# against a tls_server.py started with SERVER-ARGS (cert paths relative to the
# certificate directory are spelled out by the caller).
function(wsc_tls_test name group)
  wsc_peer_test(tls_${name} ${TLS_SERVER} ${ARGN} ---
    env WSC_TLS_CERTS=${WSC_TLS_CERTS} $<TARGET_FILE:itest_tls_test> ${group})
  set_tests_properties(integration/tls_${name} PROPERTIES
    FIXTURES_REQUIRED wsc_tls_certs LABELS "integration;tls")
endfunction()

set(_c ${WSC_TLS_CERTS})
wsc_tls_test(valid valid --cert ${_c}/server.pem --key ${_c}/server.key)
wsc_tls_test(valid_tls12 valid --cert ${_c}/server.pem --key ${_c}/server.key --tls-max 1.2)
wsc_tls_test(expired expired --cert ${_c}/expired.pem --key ${_c}/expired.key)
wsc_tls_test(wrong_name wrong_name --cert ${_c}/wrong.pem --key ${_c}/wrong.key)
wsc_tls_test(mutual mutual --cert ${_c}/server.pem --key ${_c}/server.key
  --client-ca ${_c}/client_ca.pem)
wsc_tls_test(mutual_tls12 mutual --cert ${_c}/server.pem --key ${_c}/server.key
  --client-ca ${_c}/client_ca.pem --tls-max 1.2)
wsc_tls_test(coalesced coalesced --cert ${_c}/server.pem --key ${_c}/server.key
  --mode coalesced)
unset(_c)

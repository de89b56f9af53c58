# The Zephyr compatibility layer (compat/zephyr) against real servers, through
# Zephyr's API only, and the example applications built unchanged against its
# headers, run as tests. Included from tests/integration/CMakeLists.txt, whose
# helpers (wsc_peer_test, HOSTILE, PY_ECHO, WSC_PYTHON3) it uses.
if(TARGET wsc_zephyr)
  add_executable(itest_zephyr_test ${CMAKE_CURRENT_LIST_DIR}/zephyr_test.c)
  target_link_libraries(itest_zephyr_test PRIVATE wsc_zephyr PkgConfig::CMOCKA)
  target_compile_definitions(itest_zephyr_test PRIVATE
    CONFIG_WEBSOCKET_MAX_CONTEXTS=${CONFIG_WEBSOCKET_MAX_CONTEXTS})
  target_compile_options(itest_zephyr_test PRIVATE ${WSC_WARNINGS} -Wno-conversion
    -Wno-sign-conversion)

  set(HTTP_FIXTURE ${WSC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fixtures/http_server.py)
  wsc_peer_test(zephyr_hostile ${HOSTILE} --- $<TARGET_FILE:itest_zephyr_test> hostile)
  wsc_peer_test(zephyr_echo ${PY_ECHO} --- $<TARGET_FILE:itest_zephyr_test> echo)
  wsc_peer_test(zephyr_http ${HTTP_FIXTURE} --- $<TARGET_FILE:itest_zephyr_test> http)

  # The examples take the server's port from SERVER_PORT, as a device would
  # from its configuration.
  if(TARGET seed_case AND TARGET zephyr_client)
    set(AS_SERVER_PORT sh -c "SERVER_PORT=$WSC_TEST_PORT exec \"$0\"")
    wsc_peer_test(zephyr_example_seed_case ${HOSTILE} --- ${AS_SERVER_PORT}
      $<TARGET_FILE:seed_case>)
    wsc_peer_test(zephyr_example_client ${PY_ECHO} --- ${AS_SERVER_PORT}
      $<TARGET_FILE:zephyr_client>)
  endif()
endif()

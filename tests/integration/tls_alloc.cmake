# Failing allocators over wss:// (tls_alloc_test.c): every allocation of a
# scripted wss:// session, wsc's and the TLS library's, failed in turn against
# tests/peers/python_wss_echo.py. Included from tests/integration/CMakeLists.txt
# after wss.cmake, whose certificate fixture and server variables it uses.
# Labelled tls, so the -DWSC_TLS=mbedtls build runs it too.
if(WSC_TLS STREQUAL "none")
  return()
endif()

if(WSC_TLS STREQUAL "openssl")
  # CRYPTO_set_mem_functions() routes OpenSSL's allocations to the test.
  wsc_itest_program(tls_alloc_test)
  target_compile_definitions(itest_tls_alloc_test PRIVATE WSC_TLS_ALLOC_OPENSSL=1)
  target_link_libraries(itest_tls_alloc_test PRIVATE OpenSSL::Crypto)
else()
  # Debian's mbedTLS 2.28 lacks MBEDTLS_PLATFORM_MEMORY: it calls calloc() and
  # free() itself. Linked from its static archives (PIC on Debian) with
  # --wrap=calloc,--wrap=free, those calls reach the test; wsc's objects are
  # linked in directly, not through wsc_static, whose users get the shared
  # libraries. Without the archives: wsc's own allocations only.
  find_library(WSC_MBEDTLS_A NAMES libmbedtls.a HINTS ${MBEDTLS_ROOT_DIR}/lib)
  find_library(WSC_MBEDX509_A NAMES libmbedx509.a HINTS ${MBEDTLS_ROOT_DIR}/lib)
  find_library(WSC_MBEDCRYPTO_A NAMES libmbedcrypto.a HINTS ${MBEDTLS_ROOT_DIR}/lib)
  if(WSC_MBEDTLS_A AND WSC_MBEDX509_A AND WSC_MBEDCRYPTO_A)
    add_executable(itest_tls_alloc_test tls_alloc_test.c itest.c
      $<TARGET_OBJECTS:wsc_core_objs> $<TARGET_OBJECTS:wsc_posix_objs>
      $<TARGET_OBJECTS:wsc_ext_objs>)
    target_include_directories(itest_tls_alloc_test PRIVATE ${CMAKE_SOURCE_DIR}/include
      ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(itest_tls_alloc_test PRIVATE
      ${WSC_MBEDTLS_A} ${WSC_MBEDX509_A} ${WSC_MBEDCRYPTO_A} PkgConfig::CMOCKA)
    if(WSC_DEFLATE)
      target_link_libraries(itest_tls_alloc_test PRIVATE ZLIB::ZLIB)
    endif()
    target_link_options(itest_tls_alloc_test PRIVATE -Wl,--wrap=calloc -Wl,--wrap=free)
    target_compile_definitions(itest_tls_alloc_test PRIVATE WSC_TLS_ALLOC_WRAP=1
      _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
    target_compile_options(itest_tls_alloc_test PRIVATE ${WSC_WARNINGS} -Wno-conversion
      -Wno-sign-conversion)
  else()
    wsc_itest_program(tls_alloc_test)
  endif()
endif()

# Every allocation is failed in turn: about 40 s for OpenSSL, 50 s for
# mbedTLS. A sanitizer build takes twice as long per run, so it fails every
# second one (plus the first 200 and the last 100). The server lives longer
# than its default 120 s.
set(_step "")
if(WSC_SANITIZE)
  set(_step WSC_TLS_ALLOC_STEP=2)
endif()
wsc_wss_test(failed_allocations_end_cleanly ${WSS_WITH_SERVER}
  ${WSS_PY} ${WSS_SERVER_CERT} --lifetime 900 ---
  env WSC_TLS_CERTS=${WSS_CERTS} ${_step} $<TARGET_FILE:itest_tls_alloc_test>)
unset(_step)

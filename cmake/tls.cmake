# TLS backend selection for wsc.
#
#   -DWSC_TLS=openssl   OpenSSL 1.1.1 or 3.x (find_package(OpenSSL))
#   -DWSC_TLS=mbedtls   mbedTLS 2.28 (headers mbedtls/ssl.h; libraries mbedtls,
#                       mbedx509, mbedcrypto; hints: MBEDTLS_ROOT_DIR)
#   -DWSC_TLS=none      no TLS: wss:// fails with WSC_ENOTLS
# Default on the first configure: openssl if it is found, else none. The choice
# is then cached, so it stays put until changed explicitly.
#
# Sets, for the including CMakeLists.txt:
#   WSC_TLS_SOURCES       sources to add to the library (POSIX/platform layer)
#   WSC_TLS_LIBS          link items: OpenSSL::SSL OpenSSL::Crypto, or the three
#                         mbedTLS library paths (in link order), or nothing
#   WSC_TLS_INCLUDE_DIRS  extra include directories (mbedTLS only)
#   WSC_TLS_DEFINE        WSC_HAVE_TLS=1, or WSC_HAVE_TLS=0 for none
#   WSC_TLS_FIND_DEPENDENCY  a line for wscConfig.cmake.in, so find_package(wsc)
#                         users get the imported targets wsc_static links to
#   WSC_TLS_PC_REQUIRES   for wsc.pc.in "Requires.private:" (libssl libcrypto)
#   WSC_TLS_PC_LIBS       for wsc.pc.in "Libs.private:" (-lmbedtls ...)
# and defines wsc_tls_link(<objects> <static> <shared>) which applies them.

if(NOT DEFINED CACHE{WSC_TLS})
  find_package(OpenSSL 1.1.1 QUIET)
  if(OPENSSL_FOUND)
    set(_wsc_tls_default openssl)
  else()
    set(_wsc_tls_default none)
  endif()
  set(WSC_TLS ${_wsc_tls_default} CACHE STRING "TLS backend: openssl, mbedtls or none")
  unset(_wsc_tls_default)
endif()
set_property(CACHE WSC_TLS PROPERTY STRINGS openssl mbedtls none)

set(_wsc_tls_dir ${CMAKE_CURRENT_LIST_DIR}/../src/transport)
set(WSC_TLS_INCLUDE_DIRS "")
set(WSC_TLS_FIND_DEPENDENCY "")
set(WSC_TLS_PC_REQUIRES "")
set(WSC_TLS_PC_LIBS "")

if(WSC_TLS STREQUAL "openssl")
  find_package(OpenSSL 1.1.1 REQUIRED)
  set(WSC_TLS_SOURCES ${_wsc_tls_dir}/tls_openssl.c ${_wsc_tls_dir}/tls_io.c)
  set(WSC_TLS_LIBS OpenSSL::SSL OpenSSL::Crypto)
  set(WSC_TLS_DEFINE WSC_HAVE_TLS=1)
  set(WSC_TLS_FIND_DEPENDENCY "find_dependency(OpenSSL 1.1.1)")
  set(WSC_TLS_PC_REQUIRES "libssl libcrypto")
  message(STATUS "wsc TLS backend: OpenSSL ${OPENSSL_VERSION}")
elseif(WSC_TLS STREQUAL "mbedtls")
  find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h HINTS ${MBEDTLS_ROOT_DIR}/include)
  find_library(MBEDTLS_LIBRARY mbedtls HINTS ${MBEDTLS_ROOT_DIR}/lib)
  find_library(MBEDX509_LIBRARY mbedx509 HINTS ${MBEDTLS_ROOT_DIR}/lib)
  find_library(MBEDCRYPTO_LIBRARY mbedcrypto HINTS ${MBEDTLS_ROOT_DIR}/lib)
  foreach(_v MBEDTLS_INCLUDE_DIR MBEDTLS_LIBRARY MBEDX509_LIBRARY MBEDCRYPTO_LIBRARY)
    if(NOT ${_v})
      message(FATAL_ERROR "WSC_TLS=mbedtls but ${_v} was not found "
                          "(Debian: apt-get install libmbedtls-dev; or set MBEDTLS_ROOT_DIR)")
    endif()
  endforeach()
  file(STRINGS ${MBEDTLS_INCLUDE_DIR}/mbedtls/version.h _wsc_mbedtls_version
       REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" _wsc_mbedtls_version "${_wsc_mbedtls_version}")
  if(NOT _wsc_mbedtls_version MATCHES "^2\\.")
    message(FATAL_ERROR "wsc's mbedTLS backend needs mbedTLS 2.x (2.28 LTS); found "
                        "'${_wsc_mbedtls_version}' in ${MBEDTLS_INCLUDE_DIR}")
  endif()
  set(WSC_TLS_SOURCES ${_wsc_tls_dir}/tls_mbedtls.c ${_wsc_tls_dir}/tls_io.c)
  # Link order matters for static archives: ssl needs x509 needs crypto.
  set(WSC_TLS_LIBS ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY} ${MBEDCRYPTO_LIBRARY})
  set(WSC_TLS_INCLUDE_DIRS ${MBEDTLS_INCLUDE_DIR})
  set(WSC_TLS_DEFINE WSC_HAVE_TLS=1)
  # Exported as absolute paths, so find_package(wsc) needs no extra lookup.
  set(WSC_TLS_PC_LIBS "-lmbedtls -lmbedx509 -lmbedcrypto")
  message(STATUS "wsc TLS backend: mbedTLS ${_wsc_mbedtls_version}")
  unset(_wsc_mbedtls_version)
elseif(WSC_TLS STREQUAL "none")
  set(WSC_TLS_SOURCES ${_wsc_tls_dir}/tls_none.c)
  set(WSC_TLS_LIBS "")
  set(WSC_TLS_DEFINE WSC_HAVE_TLS=0)
  message(STATUS "wsc TLS backend: none (wss:// unavailable)")
else()
  message(FATAL_ERROR "WSC_TLS must be openssl, mbedtls or none, not '${WSC_TLS}'")
endif()
unset(_wsc_tls_dir)

# Applies the backend to the library targets: the object library compiles the
# sources, the static library passes the link items on to its users, and the
# shared library links them itself.
function(wsc_tls_link objects static shared)
  target_compile_definitions(${objects} PRIVATE ${WSC_TLS_DEFINE})
  if(WSC_TLS_INCLUDE_DIRS)
    target_include_directories(${objects} SYSTEM PRIVATE ${WSC_TLS_INCLUDE_DIRS})
  endif()
  if(WSC_TLS_LIBS)
    target_link_libraries(${objects} PRIVATE ${WSC_TLS_LIBS})
    target_link_libraries(${static} PUBLIC ${WSC_TLS_LIBS})
    target_link_libraries(${shared} PRIVATE ${WSC_TLS_LIBS})
  endif()
endfunction()

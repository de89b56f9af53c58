#!/usr/bin/env bash
# Installs the Debian 12 packages wsc needs to build and test, if any is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libcmocka-dev zlib1g-dev python3
      python3-websockets libwebsockets-dev libwslay-dev gnuplot-nox valgrind libssl-dev
      libmbedtls-dev openssl ca-certificates gcc-arm-none-eabi libnewlib-arm-none-eabi)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another apt source that bundles npm; only add what is absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "wsc: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

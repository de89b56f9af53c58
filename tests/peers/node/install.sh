#!/bin/sh
# Installs the node peer's dependencies (the exact versions in package-lock.json)
# into tests/peers/node/node_modules, but only when they are missing or stale, so
# every test may call this first. Safe to run concurrently: one install at a time.
set -eu
cd "$(dirname "$0")"

# The stamp is a copy of the lock file the current node_modules was installed from.
stamp=node_modules/.wsc-installed-lock
up_to_date() {
    [ -f node_modules/ws/package.json ] && cmp -s package-lock.json "$stamp"
}

up_to_date && exit 0

install() {
    up_to_date && return 0  # another process finished while we waited for the lock
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
}

if command -v flock >/dev/null 2>&1; then
    # flock on a file outside node_modules, which npm ci deletes and recreates.
    exec 9>.install.lock
    flock 9
    install
else
    install
fi

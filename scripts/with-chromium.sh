#!/usr/bin/env bash
# Runs a command with what the browser tests need (tests/e2e/graphiql.rs): Debian's Chromium,
# Node.js, and tests/browser's packages from its package-lock.json. Exports CHROMIUM.
#
# Chromium comes from Debian's `chromium` package and Node.js (when missing) from `nodejs` and
# `npm`, installed with apt-get when missing, as with-postgres.sh does for PostgreSQL.
# `npm ci` runs in tests/browser when its node_modules is missing or older than the lock file.
#
# Usage: scripts/with-chromium.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'with-chromium: %s\n' "$*" >&2; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian's ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export CHROMIUM=/usr/bin/chromium
log "using $("$CHROMIUM" --version 2>/dev/null | head -n1) and Node.js $(node --version)"

browser=tests/browser
if [ ! -f "$browser/node_modules/.package-lock.json" ] \
    || [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
  log "npm ci in $browser"
  (cd "$browser" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
"$@"

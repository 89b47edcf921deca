#!/usr/bin/env bash
# Installs what the TypeScript client example (examples/panel) needs before the test suite
# compiles and runs it (tests/e2e/panel_example.rs): Node.js and npm from Debian's packages
# when missing, then the example's dependencies with `npm ci` from its package-lock.json.
# `npm ci` is skipped when node_modules was already installed from the same lock file.
#
# Usage: scripts/panel-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'panel-example: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "Node.js or npm not found; installing Debian's nodejs and npm packages"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
log "using node $(node --version), npm $(npm --version)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is needed (graphql-ws 6 requires it); this is $(node --version)."
  log "Debian 13's nodejs package is 20; on Debian 12 install a newer Node.js first."
  exit 1
fi

dir=examples/panel
marker="$dir/node_modules/.installed-from-package-lock.json"
if [ -f "$marker" ] && cmp -s "$marker" "$dir/package-lock.json"; then
  log "dependencies already installed from package-lock.json"
else
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$marker"
fi

#!/usr/bin/env bash
# Runs the whole test suite: every end-to-end test on SQLite and on a throwaway PostgreSQL
# cluster (see with-postgres.sh). Extra arguments go to `cargo test`.
#
# Some end-to-end tests drive Node.js tools (the graphql-http audit, front-end examples):
# Debian's nodejs and npm are installed when missing, as PostgreSQL is.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test.sh: node or npm not found; installing Debian's nodejs and npm" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

exec scripts/with-postgres.sh cargo test --workspace "$@"

#!/usr/bin/env bash
# Runs the whole test suite: every end-to-end test on SQLite and on a throwaway PostgreSQL
# cluster (see with-postgres.sh), the TypeScript client example included. Extra arguments go
# to `cargo test`.
#
# Some end-to-end tests drive Node.js tools (the graphql-http audit, the TypeScript example):
# panel-example.sh installs Debian's nodejs and npm when missing, as with-postgres.sh does
# PostgreSQL, and the example's dependencies with npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/panel-example.sh
exec scripts/with-postgres.sh cargo test --workspace "$@"

#!/usr/bin/env bash
# Runs the whole test suite: every end-to-end test on SQLite and on a throwaway PostgreSQL
# cluster (see with-postgres.sh), the TypeScript client example included (its Node.js and
# dependencies are installed first by panel-example.sh). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/panel-example.sh
exec scripts/with-postgres.sh cargo test --workspace "$@"

#!/usr/bin/env bash
# Runs the whole test suite: every end-to-end test on SQLite and on a throwaway PostgreSQL
# cluster (see with-postgres.sh), with Chromium and Node.js for the browser tests (see
# with-chromium.sh) and the TypeScript client example (its dependencies installed first by
# panel-example.sh). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/panel-example.sh
exec scripts/with-chromium.sh scripts/with-postgres.sh cargo test --workspace "$@"

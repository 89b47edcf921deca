#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: exports TEST_DATABASE_URL (the
# `postgres` database of the cluster) and MIGRATION_TEST_PG_URL (a scratch database), runs the
# command, and removes the cluster whatever happens.
#
# PostgreSQL comes from Debian's `postgresql` package, installed when missing. The cluster
# lives in a temporary directory, listens on 127.0.0.1 on a free port, trusts local
# connections, and is removed on exit. initdb refuses to run as root, so as root the cluster
# runs as the `postgres` system user; as an ordinary user it runs as yourself.
#
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'with-postgres: %s\n' "$*" >&2; }

find_pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if ! PG_BIN=$(find_pg_bin); then
  log "PostgreSQL server binaries not found; installing Debian's postgresql package"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(find_pg_bin) || { log "postgresql installed but initdb not found"; exit 1; }
fi
log "using PostgreSQL from $PG_BIN"

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-pg.XXXXXX")
chmod 755 "$PG_DIR"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$PG_DIR"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; exit 1; }

# Try a few random high ports until one is free.
started=""
for _ in $(seq 1 20); do
  PG_PORT=$((20000 + RANDOM % 40000))
  if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1; then
    started=yes
    break
  fi
done
if [ -z "$started" ]; then
  log "could not start PostgreSQL; its log follows"
  cat "$PG_DIR/server.log" >&2 || true
  exit 1
fi
log "PostgreSQL is up on 127.0.0.1:$PG_PORT"

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PG_BIN PG_PORT
# The migration crate's own up/down/up test gets a scratch database of its own.
"${as_pg[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres migration_test
export MIGRATION_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/migration_test"
"$@"

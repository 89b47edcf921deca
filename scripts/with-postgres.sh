#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: exports TEST_DATABASE_URL (the
# `postgres` database of the cluster), MIGRATION_TEST_PG_URL (a scratch database) and
# TEST_READ_DATABASE_URL (the `postgres` database of a streaming standby of the cluster, made
# with pg_basebackup, on another port; it replicates every database of the cluster), runs
# the command, and removes both whatever happens. A standby that cannot start fails the run.
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
  if [ -d "$PG_DIR/standby" ]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/standby" -m immediate stop >/dev/null 2>&1 || true
  fi
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; exit 1; }

# Settings of both servers (a hot standby needs max_connections at least the primary's).
# initdb's defaults already allow streaming replication: wal_level=replica, max_wal_senders=10
# and `host replication all 127.0.0.1/32 trust` in pg_hba.conf.
# WITH_POSTGRES_OPTS adds settings for an experiment, e.g. profiling statements with
# "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on".
PG_OPTS="-c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${WITH_POSTGRES_OPTS:-}"

# Starts the cluster in $1 on a random free high port (tries a few), logging to $2; prints
# the port.
start_on_free_port() {
  local port
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$1" -l "$2" -w -t 60 -o "-p $port -k $PG_DIR $PG_OPTS" \
        start >/dev/null 2>&1; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

if ! PG_PORT=$(start_on_free_port "$PG_DIR/data" "$PG_DIR/server.log"); then
  log "could not start PostgreSQL; its log follows"
  cat "$PG_DIR/server.log" >&2 || true
  exit 1
fi
log "PostgreSQL is up on 127.0.0.1:$PG_PORT"

# The standby: a base backup streamed over loopback, with -R writing standby.signal and the
# primary_conninfo to follow; pg_ctl -w returns once it accepts read-only connections.
if ! "${as_pg[@]}" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$PG_DIR/standby" \
    -R -X stream -c fast >"$PG_DIR/basebackup.log" 2>&1; then
  log "could not take a base backup for the standby; its log follows"
  cat "$PG_DIR/basebackup.log" >&2 || true
  exit 1
fi
if ! STANDBY_PORT=$(start_on_free_port "$PG_DIR/standby" "$PG_DIR/standby.log"); then
  log "could not start the PostgreSQL standby; its log follows"
  cat "$PG_DIR/standby.log" >&2 || true
  exit 1
fi
in_recovery=$("${as_pg[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$STANDBY_PORT" -U postgres -d postgres -Atc \
  "SELECT pg_is_in_recovery()")
if [ "$in_recovery" != "t" ]; then
  log "the server on 127.0.0.1:$STANDBY_PORT is not a standby (pg_is_in_recovery: $in_recovery)"
  exit 1
fi
log "PostgreSQL standby is up on 127.0.0.1:$STANDBY_PORT"
export TEST_READ_DATABASE_URL="postgres://postgres@127.0.0.1:$STANDBY_PORT/postgres"

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PG_BIN PG_PORT
# The migration crate's own up/down/up test gets a scratch database of its own.
"${as_pg[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres migration_test
export MIGRATION_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/migration_test"
"$@"

#!/usr/bin/env bash
# Starts or stops a project-private PostgreSQL cluster that listens on 127.0.0.1 only.
#
#   scripts/pg.sh start DIR PORT [VARIABLE]
#                                  initialise DIR if needed, start the server, create the
#                                  "setora" database and print its URL; VARIABLE names the
#                                  setting that moves PORT, for the message when PORT is in use
#   scripts/pg.sh stop DIR         stop the server whose data lives in DIR
#
# PostgreSQL refuses to run as root, so when this script runs as root the server runs as the
# unprivileged "postgres" user, which owns DIR. Nothing outside DIR is touched, except that a
# machine without PostgreSQL gets the Debian package when the script runs as root.
set -euo pipefail

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
    return
  fi
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
}

install_postgres() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server binaries (initdb, pg_ctl) were not found." >&2
    echo "Install PostgreSQL 15 or newer, for example 'sudo apt-get install postgresql'," >&2
    echo "or set DATABASE_URL (and TEST_DATABASE_URL for tests) to a server you run yourself." >&2
    exit 1
  fi
  echo "Installing PostgreSQL with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

# as_owner runs a command as the cluster's owner: postgres when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir=$1 port=$2 variable=${3:-} bin running_port
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    install_postgres
    bin=$(find_bin)
  fi

  mkdir -p "$dir/run"
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "Running as root needs the 'postgres' user, which the Debian package creates." >&2
      exit 1
    fi
    chown -R postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "The postgres user cannot write to $dir; move the repository somewhere it can reach," >&2
      echo "or set SETORA_STATE_DIR to such a folder." >&2
      exit 1
    fi
  fi

  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U setora --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi

  if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    # The fourth line of postmaster.pid is the port the running server listens on.
    running_port=$(sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
      echo "The PostgreSQL cluster in $dir is already running on port $running_port, not $port" >&2
      echo "(another 'make run'?). Stop it first, or set SETORA_STATE_DIR to another folder." >&2
      exit 1
    fi
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Port 127.0.0.1:$port is already in use, so PostgreSQL cannot listen there." >&2
      echo "Stop whatever listens there${variable:+, or set $variable to a free port}." >&2
      exit 1
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir/run -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${SETORA_PG_FSYNC:-on}" \
      start >/dev/null ||
      { tail -n 30 "$dir/server.log" >&2; exit 1; }
  fi

  if ! as_owner "$bin/psql" -h "$dir/run" -p "$port" -U setora -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'setora'" | grep -q 1; then
    as_owner "$bin/createdb" -h "$dir/run" -p "$port" -U setora setora
  fi
  echo "postgres://setora@127.0.0.1:$port/setora?sslmode=disable"
}

stop() {
  local dir=$1 bin
  bin=$(find_bin)
  [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ] || return 0
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start "$2" "$3" "${4:-}" ;;
  stop) stop "$2" ;;
  *)
    echo "usage: $0 start DIR PORT [VARIABLE] | stop DIR" >&2
    exit 2
    ;;
esac

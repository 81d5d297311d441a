#!/usr/bin/env bash
# Starts or stops a project-private Redis that listens on 127.0.0.1 only, for the shared rate
# limits.
#
#   scripts/redis.sh start DIR PORT [VARIABLE]
#                                     start a server whose data and log live in DIR (or reuse the
#                                     one already running there) and print its URL; VARIABLE
#                                     names the setting that moves PORT. Exits with 3 when PORT
#                                     is in use.
#   scripts/redis.sh stop DIR         stop the server started in DIR
#   scripts/redis.sh free-port PORT   print the first port from PORT on that nothing listens on
#
# Nothing outside DIR is touched, except that a machine without redis-server gets the Debian
# package when the script runs as root. The server keeps nothing on disk: rate-limit counters
# live for a minute at most.
set -euo pipefail

install_redis() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-server was not found." >&2
    echo "Install it, for example 'sudo apt-get install redis-server', or set REDIS_URL to a" >&2
    echo "Redis you run yourself." >&2
    exit 1
  fi
  echo "Installing Redis with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; fetch them only when the package is not known.
  if ! apt-cache show redis-server >/dev/null 2>&1; then
    apt-get update -qq >&2
  fi
  apt-get install -y -qq --no-install-recommends redis-server >&2
  # The package starts a system-wide service on port 6379; the project does not use it.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
}

# running DIR succeeds when the server started in DIR is still alive.
running() {
  local pid
  [ -f "$1/redis.pid" ] || return 1
  pid=$(cat "$1/redis.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start() {
  local dir=$1 port=$2 variable=${3:-}
  if ! command -v redis-server >/dev/null 2>&1; then
    install_redis
  fi
  mkdir -p "$dir"

  if ! running "$dir"; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Port 127.0.0.1:$port is already in use, so Redis cannot listen there." >&2
      echo "Stop whatever listens there${variable:+, or set $variable to a free port}." >&2
      exit 3
    fi
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --save "" --appendonly no --protected-mode yes >/dev/null
    local deadline=$((SECONDS + 10))
    until redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
      if [ $SECONDS -ge $deadline ]; then
        echo "Redis did not start on 127.0.0.1:$port; its log follows." >&2
        tail -n 20 "$dir/redis.log" >&2 || true
        exit 1
      fi
      sleep 0.1
    done
    echo "$port" >"$dir/redis.port"
  fi
  # A server already running in DIR keeps the port it was started with.
  echo "redis://127.0.0.1:$(cat "$dir/redis.port")/0"
}

stop() {
  local dir=$1 pid deadline
  running "$dir" || return 0
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
}

free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

case "${1:-}" in
  start) start "$2" "$3" "${4:-}" ;;
  stop) stop "$2" ;;
  free-port) free_port "$2" ;;
  *)
    echo "usage: $0 start DIR PORT [VARIABLE] | stop DIR | free-port PORT" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# make test: runs every Go test with -race against a private PostgreSQL and a private Redis that
# this script starts and stops, unless TEST_DATABASE_URL and REDIS_URL name servers already.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

pg_dir=""
redis_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then scripts/pg.sh stop "$pg_dir"; fi
  if [ -n "$redis_dir" ]; then scripts/redis.sh stop "$redis_dir"; fi
}
trap cleanup EXIT

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pg_dir=$(state_dir pg-test)
  # The test cluster is thrown away, so durability is not needed.
  TEST_DATABASE_URL=$(SETORA_PG_FSYNC=off scripts/pg.sh start "$pg_dir" "${SETORA_TEST_PG_PORT:-54339}" SETORA_TEST_PG_PORT)
fi
export TEST_DATABASE_URL

if [ -z "${REDIS_URL:-}" ]; then
  redis_dir=$(state_dir redis-test)
  # Several test runs may share a machine: take the first free port from the default on.
  REDIS_URL=$(scripts/redis.sh start "$redis_dir" "$(scripts/redis.sh free-port "${SETORA_TEST_REDIS_PORT:-16380}")")
fi
export REDIS_URL

go test -race -count=1 -timeout 20m "${@:-./...}"

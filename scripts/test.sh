#!/usr/bin/env bash
# make test: runs every Go test with -race against a private PostgreSQL that this script starts
# and stops, unless TEST_DATABASE_URL names one already.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then scripts/pg.sh stop "$pg_dir"; fi
}
trap cleanup EXIT

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pg_dir=$(state_dir pg-test)
  # The test cluster is thrown away, so durability is not needed.
  TEST_DATABASE_URL=$(SETORA_PG_FSYNC=off scripts/pg.sh start "$pg_dir" "${SETORA_TEST_PG_PORT:-54339}")
fi
export TEST_DATABASE_URL

go test -race -count=1 -timeout 20m "${@:-./...}"

#!/usr/bin/env bash
# make bench: measures the figures of docs/benchmarks.md, each beside a baseline from the same
# run on the same machine, and rewrites that page.
#
#   1. a private PostgreSQL cluster (127.0.0.1:$SETORA_BENCH_PG_PORT, 54361 by default) with a
#      fresh "setora_bench" database;
#   2. the Go benchmarks: availability over HTTP (cache warm, 304, cache disabled, a fixed-body
#      Fiber handler), the slot engine, and booking-svc's store when it has benchmarks;
#   3. booking-svc, three availability-svc replicas and the gateway on 127.0.0.1 ports
#      $SETORA_BENCH_PORT_BASE (18200) to +24, driven by loadtest: uncontended bookings,
#      pgbench's single-row insert, a booking rush, mixed traffic with freshness probes, and
#      the memory of a fresh replica holding 10,000 location-days;
#   4. loadtest report, which writes $SETORA_BENCH_DOC (docs/benchmarks.md).
#
# Every output stays in a results folder under .local/bench/ (or $SETORA_STATE_DIR/bench/).
# Rate limits are kept in each process (no Redis), which changes nothing here because every
# key allows 100,000 requests a minute. Everything it starts, it stops.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

started=$SECONDS
pg_port=${SETORA_BENCH_PG_PORT:-54361}
base=${SETORA_BENCH_PORT_BASE:-18200}
doc=${SETORA_BENCH_DOC:-docs/benchmarks.md}
results="$(state_dir bench)/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results/bin" "$results/logs"
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)

gateway_port=$base
booking_port=$((base + 2)) booking_admin=$((base + 3))
replica_ports=($((base + 11)) $((base + 12)) $((base + 13)))
replica_admins=($((base + 21)) $((base + 22)) $((base + 23)))
memory_port=$((base + 14)) memory_admin=$((base + 24))

for port in "$gateway_port" "$booking_port" "$booking_admin" $((base + 5)) $((base + 6)) "${replica_ports[@]}" "${replica_admins[@]}" "$memory_port" "$memory_admin"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port on 127.0.0.1 is already in use; stop what listens there or set SETORA_BENCH_PORT_BASE." >&2
    exit 1
  fi
done

pids=()
pg_dir=""
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_dir" ]; then scripts/pg.sh stop "$pg_dir"; fi
}
trap cleanup INT TERM EXIT

step() { echo "== $(date -u +%H:%M:%S) $*"; }

# wait_http URL waits until URL returns any HTTP status; the gateway has no readiness endpoint,
# and its routes return 401 without a key.
wait_http() {
  local deadline=$((SECONDS + 30))
  until curl -s -o /dev/null "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for $1" >&2
      return 1
    fi
    sleep 0.2
  done
}

step "PostgreSQL on 127.0.0.1:$pg_port"
pg_dir=$(state_dir pg-bench)
scripts/pg.sh start "$pg_dir" "$pg_port" >/dev/null
server_url="postgres://setora@127.0.0.1:$pg_port/postgres?sslmode=disable"
db_url="postgres://setora@127.0.0.1:$pg_port/setora_bench?sslmode=disable"
reader=$(reader_url "$db_url")
psql_bin=$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
psql_bin=${psql_bin:-psql}
"$psql_bin" -q "$server_url" -c "DROP DATABASE IF EXISTS setora_bench WITH (FORCE)" -c "CREATE DATABASE setora_bench"
pg_version=$("$psql_bin" -tA "$server_url" -c "SHOW server_version")

step "build"
go build -o "$results/bin/" ./availability-svc ./booking-svc ./tools/gateway ./loadtest
bin="$results/bin"
DATABASE_URL=$db_url "$bin/booking-svc" migrate >"$results/logs/migrate.log"

step "Go benchmark: availability over HTTP"
TEST_DATABASE_URL=$server_url go test -run '^$' -bench BenchmarkAvailabilityHTTP -benchtime 3s -count 3 ./availability-svc/ |
  tee "$results/availability-bench.txt"
step "Go benchmark: slot engine"
go test -run '^$' -bench . -benchmem -count 3 ./shared/slots/ | tee "$results/slots-bench.txt"
if grep -qs '^func Benchmark' booking-svc/bookings/*_test.go; then
  step "Go benchmark: booking store"
  # booking-svc's own benchmark is reported beside loadtest's figures, not instead of them, so
  # its failure is recorded in the report rather than stopping the run.
  if ! BENCH_HTTP_PORT=$((base + 5)) BENCH_ADMIN_PORT=$((base + 6)) TEST_DATABASE_URL=$server_url \
    go test -run '^$' -bench . -benchtime 4000x ./booking-svc/bookings/ 2>&1 | tee "$results/bookings-bench.txt"; then
    echo "bench: booking-svc's benchmark failed; the report says so" >&2
  fi
fi

step "services"
# start NAME LOG READY_URL ENV... -- ARGS... runs a binary in the background and waits until
# READY_URL returns 200, or any status when READY_URL starts with "any:".
start() {
  local name=$1 log=$2 ready=$3 env=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do env+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  env "${env[@]}" "$bin/$name" "$@" >"$log" 2>&1 &
  pids+=($!)
  case "$ready" in
    any:*) wait_http "${ready#any:}" ;;
    *) wait_ready "$ready" 30 ;;
  esac
}
start booking-svc "$results/logs/booking-svc.log" "http://127.0.0.1:$booking_admin/readyz" \
  DATABASE_URL="$db_url" HTTP_ADDR="127.0.0.1:$booking_port" ADMIN_ADDR="127.0.0.1:$booking_admin" SHUTDOWN_DRAIN=0s -- serve
upstreams=() replica_urls=() replica_metrics=()
for i in 0 1 2; do
  start availability-svc "$results/logs/availability-svc-$((i + 1)).log" "http://127.0.0.1:${replica_admins[$i]}/readyz" \
    DATABASE_URL="$reader" HTTP_ADDR="127.0.0.1:${replica_ports[$i]}" ADMIN_ADDR="127.0.0.1:${replica_admins[$i]}" SHUTDOWN_DRAIN=0s
  upstreams+=("http://127.0.0.1:${replica_ports[$i]}")
  replica_urls+=("http://127.0.0.1:${replica_ports[$i]}/v1")
  replica_metrics+=("http://127.0.0.1:${replica_admins[$i]}/metrics")
done
start gateway "$results/logs/gateway.log" "any:http://127.0.0.1:$gateway_port/v1/bookings/none" -- \
  -listen "127.0.0.1:$gateway_port" -availability "$(IFS=,; echo "${upstreams[*]}")" -booking "http://127.0.0.1:$booking_port"

common=(-target "http://127.0.0.1:$gateway_port/v1" -database-url "$db_url"
  -replicas "$(IFS=,; echo "${replica_urls[*]}")" -replica-metrics "$(IFS=,; echo "${replica_metrics[*]}")"
  -metrics "http://127.0.0.1:$booking_admin/metrics" -progress 5s)

step "loadtest: bookings through the API, uncontended"
"$bin/loadtest" run "${common[@]}" -scenario bookings -rate 0 -concurrency 16 -duration 20s -retry 0 -duplicate 0 \
  -orgs 1 -locations 4 -staff 25 -weeks 8 -booked 0 -freshness-samples 0 -out "$results/bookings"
step "loadtest: pgbench single-row insert"
"$bin/loadtest" pgbench -database-url "$db_url" -clients 16 -seconds 15 -out "$results/pgbench.json"
step "loadtest: booking rush"
"$bin/loadtest" run "${common[@]}" -scenario rush -rate 100 -duration 15s -rush-slots 4 -rush-wave 2s \
  -orgs 1 -locations 2 -staff 4 -weeks 1 -booked 0.3 -out "$results/rush"
step "loadtest: mixed traffic"
"$bin/loadtest" run "${common[@]}" -scenario mixed -rate 300 -duration 60s -warmup 10s -booking-share 0.05 \
  -out "$results/mixed"

step "loadtest: memory of a fresh replica"
# The rendered-answer cache is off here, so the figure is the day cache's alone.
start availability-svc "$results/logs/availability-svc-memory.log" "http://127.0.0.1:$memory_admin/readyz" \
  DATABASE_URL="$reader" HTTP_ADDR="127.0.0.1:$memory_port" ADMIN_ADDR="127.0.0.1:$memory_admin" SHUTDOWN_DRAIN=0s \
  ANSWER_CACHE_BYTES=0
"$bin/loadtest" memory -target "http://127.0.0.1:$memory_port/v1" -metrics "http://127.0.0.1:$memory_admin/metrics" \
  -database-url "$db_url" -location-days 10000 -days-per-location 50 -staff 4 -booked 0.4 -out "$results/memory.json"

elapsed=$((SECONDS - started))
step "report"
"$bin/loadtest" report -in "$results" -out "$doc" -commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  -postgres "$pg_version" -load-start "$load_start" -elapsed "$((elapsed / 60)) min $((elapsed % 60)) s" -replicas 3
echo "bench: results in $results; $doc rewritten"

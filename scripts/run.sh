#!/usr/bin/env bash
# make run: starts a private PostgreSQL (unless DATABASE_URL is set) and a private Redis for the
# rate limits (unless REDIS_URL is set), migrates, loads the demo shop, then runs both services
# behind one base URL, http://localhost:8080/v1 by default. Ctrl-C stops everything this script
# started.
#
# REPLICAS=3 (make run-cluster) starts three availability-svc processes on 127.0.0.1:8101-8103
# (admin ports 9101-9103) behind the same base URL, the local stand-in for the Deployment.
#
# Logs go to .local/logs (or SETORA_STATE_DIR/logs); an earlier run's logs are moved into a
# folder there named after the time that run started.
#
# Every port can be moved with an environment variable (defaults in brackets):
#   SETORA_PG_PORT (54329) and SETORA_REDIS_PORT (16379) for the private servers,
#   SETORA_HTTP_PORT (8080) for the base URL,
#   SETORA_BOOKING_PORT (8082) and SETORA_BOOKING_ADMIN_PORT (9082),
#   SETORA_AVAILABILITY_PORT (8081) and SETORA_AVAILABILITY_ADMIN_PORT (9081).
# With REPLICAS above 1 the last two are the first of consecutive ports, 8101 and 9101 by default.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

replicas=${REPLICAS:-1}
pg_port=${SETORA_PG_PORT:-54329}
redis_port=${SETORA_REDIS_PORT:-16379}
http_port=${SETORA_HTTP_PORT:-8080}
booking_port=${SETORA_BOOKING_PORT:-8082}
booking_admin_port=${SETORA_BOOKING_ADMIN_PORT:-9082}
if [ "$replicas" -eq 1 ]; then
  availability_port=${SETORA_AVAILABILITY_PORT:-8081}
  availability_admin_port=${SETORA_AVAILABILITY_ADMIN_PORT:-9081}
else
  availability_port=${SETORA_AVAILABILITY_PORT:-8101}
  availability_admin_port=${SETORA_AVAILABILITY_ADMIN_PORT:-9101}
fi
pids=()
pg_dir=""
redis_dir=""
# cleanup stops what the script started and keeps its exit status, so that a failed start
# still fails. Ctrl-C is a normal stop and exits with 0.
cleanup() {
  local status=$?
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_dir" ]; then scripts/pg.sh stop "$pg_dir"; fi
  if [ -n "$redis_dir" ]; then scripts/redis.sh stop "$redis_dir"; fi
  echo "Stopped."
  exit "$status"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# check_port PORT VARIABLE stops the script when something already listens on PORT.
check_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "Port 127.0.0.1:$1 is already in use (an earlier 'make run'?). Stop whatever listens there," >&2
    echo "or set $2 to a free port." >&2
    exit 1
  fi
}
check_port "$http_port" SETORA_HTTP_PORT
check_port "$booking_port" SETORA_BOOKING_PORT
check_port "$booking_admin_port" SETORA_BOOKING_ADMIN_PORT
for i in $(seq 0 $((replicas - 1))); do
  check_port $((availability_port + i)) SETORA_AVAILABILITY_PORT
  check_port $((availability_admin_port + i)) SETORA_AVAILABILITY_ADMIN_PORT
done

if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir=$(state_dir pg)
  echo "Starting the private PostgreSQL in $pg_dir on 127.0.0.1:$pg_port..."
  DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port" SETORA_PG_PORT)
fi
export DATABASE_URL

if [ -z "${REDIS_URL:-}" ]; then
  redis_dir=$(state_dir redis)
  echo "Starting the private Redis in $redis_dir on 127.0.0.1:$redis_port..."
  # Without Redis each service limits requests on its own, which is exact for one replica each.
  # A port in use is a setting to fix, so it stops the script.
  redis_status=0
  REDIS_URL=$(scripts/redis.sh start "$redis_dir" "$redis_port" SETORA_REDIS_PORT) || redis_status=$?
  if [ "$redis_status" -eq 3 ]; then
    redis_dir=""
    exit 1
  elif [ "$redis_status" -ne 0 ]; then
    echo "Redis did not start; rate limits are kept in each process instead." >&2
    REDIS_URL=""
    redis_dir=""
  fi
fi
export REDIS_URL
reader=${READER_DATABASE_URL:-$(reader_url "$DATABASE_URL")}

echo "Building..."
mkdir -p bin
go build -o bin/ ./availability-svc ./booking-svc ./tools/gateway

logs=$(state_dir logs)
earlier=$(keep_earlier_logs "$logs")
if [ -n "$earlier" ]; then echo "The previous run's logs are now in $earlier"; fi
bin/booking-svc migrate >"$logs/migrate.log"
key=$(bin/booking-svc demo -key-file "$(state_dir demo)/demo.key")

SHUTDOWN_DRAIN=0s HTTP_ADDR=127.0.0.1:$booking_port ADMIN_ADDR=127.0.0.1:$booking_admin_port bin/booking-svc serve >"$logs/booking-svc.log" 2>&1 &
pids+=($!)
upstreams=()
admins=()
for i in $(seq 1 "$replicas"); do
  http=$((availability_port + i - 1)) admin=$((availability_admin_port + i - 1))
  log="$logs/availability-svc-$i.log"
  if [ "$replicas" -eq 1 ]; then log="$logs/availability-svc.log"; fi
  SHUTDOWN_DRAIN=0s HTTP_ADDR=127.0.0.1:$http ADMIN_ADDR=127.0.0.1:$admin DATABASE_URL=$reader LISTEN_DATABASE_URL=$reader \
    bin/availability-svc >"$log" 2>&1 &
  pids+=($!)
  upstreams+=("http://127.0.0.1:$http")
  admins+=("http://127.0.0.1:$admin/readyz")
done
bin/gateway -listen "127.0.0.1:$http_port" -availability "$(IFS=,; echo "${upstreams[*]}")" \
  -booking "http://127.0.0.1:$booking_port" >"$logs/gateway.log" 2>&1 &
pids+=($!)

wait_ready "http://127.0.0.1:$booking_admin_port/readyz"
for url in "${admins[@]}"; do wait_ready "$url"; done

date=$(date -d "+2 days" +%F 2>/dev/null || date -v+2d +%F)
# The private cluster's URL carries no password, so it is safe to print. A URL of your own may
# carry one, so it is not repeated.
if [ -n "$pg_dir" ]; then
  database_line="export DATABASE_URL='$DATABASE_URL'"
else
  database_line="# DATABASE_URL: the one you set for make run"
fi
cat <<BANNER

Setora API is running at http://localhost:$http_port/v1 (logs in $logs)

Demo key (test mode, every scope):
  $key

Try:
  curl -G http://localhost:$http_port/v1/locations/soho/availability \\
    --data-urlencode "service_ids=2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15" \\
    --data-urlencode "date=$date" --data-urlencode "days=7" \\
    -H "Authorization: Bearer $key"

Manage API keys from another shell (docs/api.md, "Managing keys"):
  $database_line
  $root/bin/booking-svc keys list-orgs
  $root/bin/booking-svc keys create -org "Setora Demo Barbers" -scopes availability:read

Press Ctrl-C to stop.
BANNER
wait -n "${pids[@]}" || true
# Ctrl-C reaches the services too, so they may exit just before this script's own trap runs.
# If every one of them is gone, it was a stop, not a crash.
sleep 1
for pid in "${pids[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then
    echo "A service exited on its own; see the logs in $logs." >&2
    exit 1
  fi
done
exit 0

#!/usr/bin/env bash
# make run: starts a private PostgreSQL (unless DATABASE_URL is set) and a private Redis for the
# rate limits (unless REDIS_URL is set), migrates, loads the demo shop, then runs both services
# behind one base URL, http://localhost:8080/v1. Ctrl-C stops everything this script started.
#
# REPLICAS=3 (make run-cluster) starts three availability-svc processes on 127.0.0.1:8101-8103
# (admin ports 9101-9103) behind the same base URL, the local stand-in for the Deployment.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

pg_port=${SETORA_PG_PORT:-54329}
pids=()
pg_dir=""
redis_dir=""
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_dir" ]; then scripts/pg.sh stop "$pg_dir"; fi
  if [ -n "$redis_dir" ]; then scripts/redis.sh stop "$redis_dir"; fi
  echo "Stopped."
  exit 0
}
trap cleanup INT TERM EXIT

replicas=${REPLICAS:-1}
ports=(8080 8082 9082)
if [ "$replicas" -eq 1 ]; then ports+=(8081 9081); else
  for i in $(seq 1 "$replicas"); do ports+=($((8100 + i)) $((9100 + i))); done
fi
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port on 127.0.0.1 is already in use; stop whatever is listening there (an earlier 'make run'?) and try again." >&2
    exit 1
  fi
done

if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir=$(state_dir pg)
  echo "Starting the private PostgreSQL in $pg_dir on 127.0.0.1:$pg_port..."
  DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
fi
export DATABASE_URL

if [ -z "${REDIS_URL:-}" ]; then
  redis_dir=$(state_dir redis)
  redis_port=${SETORA_REDIS_PORT:-16379}
  echo "Starting the private Redis in $redis_dir on 127.0.0.1:$redis_port..."
  # Without Redis each service limits requests on its own, which is exact for one replica each.
  REDIS_URL=$(scripts/redis.sh start "$redis_dir" "$redis_port") ||
    { echo "Redis did not start; rate limits are kept in each process instead." >&2; REDIS_URL=""; redis_dir=""; }
fi
export REDIS_URL
reader=${READER_DATABASE_URL:-$(reader_url "$DATABASE_URL")}

echo "Building..."
mkdir -p bin
go build -o bin/ ./availability-svc ./booking-svc ./tools/gateway

logs=$(state_dir logs)
bin/booking-svc migrate >"$logs/migrate.log"
key=$(bin/booking-svc demo -key-file "$(state_dir demo)/demo.key")

SHUTDOWN_DRAIN=0s HTTP_ADDR=127.0.0.1:8082 ADMIN_ADDR=127.0.0.1:9082 bin/booking-svc serve >"$logs/booking-svc.log" 2>&1 &
pids+=($!)
upstreams=()
admins=()
for i in $(seq 1 "$replicas"); do
  if [ "$replicas" -eq 1 ]; then
    http=8081 admin=9081 log="$logs/availability-svc.log"
  else
    http=$((8100 + i)) admin=$((9100 + i)) log="$logs/availability-svc-$i.log"
  fi
  SHUTDOWN_DRAIN=0s HTTP_ADDR=127.0.0.1:$http ADMIN_ADDR=127.0.0.1:$admin DATABASE_URL=$reader LISTEN_DATABASE_URL=$reader \
    bin/availability-svc >"$log" 2>&1 &
  pids+=($!)
  upstreams+=("http://127.0.0.1:$http")
  admins+=("http://127.0.0.1:$admin/readyz")
done
bin/gateway -listen 127.0.0.1:8080 -availability "$(IFS=,; echo "${upstreams[*]}")" >"$logs/gateway.log" 2>&1 &
pids+=($!)

wait_ready http://127.0.0.1:9082/readyz
for url in "${admins[@]}"; do wait_ready "$url"; done

date=$(date -d "+2 days" +%F 2>/dev/null || date -v+2d +%F)
cat <<BANNER

Setora API is running at http://localhost:8080/v1 (logs in $logs)

Demo key (test mode, every scope):
  $key

Try:
  curl -G http://localhost:8080/v1/locations/soho/availability \\
    --data-urlencode "service_ids=2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15" \\
    --data-urlencode "date=$date" --data-urlencode "days=7" \\
    -H "Authorization: Bearer $key"

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

package bookings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/internal/proctest"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
)

// The booking benchmark measures POST /v1/bookings on the real booking-svc binary against the
// PostgreSQL server of TEST_DATABASE_URL. In the same run pgbench inserts single rows into the
// same bookings table, so the ratio compares the API with the database's own limit:
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench BookingThroughput -benchtime 4000x ./booking-svc/bookings/
//
// BENCH_HTTP_PORT (default 18001) and BENCH_ADMIN_PORT (18002) set where booking-svc listens,
// and PGBENCH the pgbench binary (found under /usr/lib/postgresql or on PATH otherwise).
const (
	benchLocations     = 50 // each with benchStaffPerPlace staff members
	benchStaffPerPlace = 4
	benchClients       = 16 // concurrent callers, for pgbench and HTTP alike
	benchContenders    = 20 // callers racing for each slot in the contended case
	benchWindowDays    = 60 // spread starts over this many days
	benchSlotsPerDay   = 96 // 15-minute slots over 24 hours
)

// benchClock is the organisation's test clock; every start lies after it.
var benchClock = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// benchEnv is one database with a running booking-svc, shared by the sub-benchmarks.
type benchEnv struct {
	pool     *pgxpool.Pool
	dbURL    string
	baseURL  string
	key      string
	service  uuid.UUID
	staff    [][]uuid.UUID // per location
	pgPlace  uuid.UUID
	org      uuid.UUID
	requests atomic.Int64 // offsets each run's slots so that runs never collide
}

func BenchmarkBookingThroughput(b *testing.B) {
	env := setupBench(b)
	var pgbenchTPS float64

	b.Run("pgbench_insert", func(b *testing.B) {
		pgbenchTPS = env.runPgbench(b)
	})
	spread := func(b *testing.B, idempotent bool) {
		offset := env.requests.Add(int64(b.N)) - int64(b.N)
		result := env.load(b, benchClients, idempotent, func(i int) map[string]any {
			n := int(offset) + i
			place := n % benchLocations
			staff := (n / benchLocations) % benchStaffPerPlace
			slot := n / (benchLocations * benchStaffPerPlace)
			return env.body(place, staff, slot%benchWindowDays+1, (slot/benchWindowDays)%benchSlotsPerDay)
		})
		result.report(b)
		if result.statuses[http.StatusCreated] != b.N {
			b.Errorf("statuses = %v, want %d created", result.statuses, b.N)
		}
		if pgbenchTPS > 0 {
			b.ReportMetric(result.perSecond/pgbenchTPS, "ratio_to_pgbench")
		}
	}
	b.Run("http_spread", func(b *testing.B) { spread(b, true) })
	// Without Idempotency-Key the request skips the two statements that claim and store the key.
	b.Run("http_spread_no_key", func(b *testing.B) { spread(b, false) })
	b.Run("http_contended", func(b *testing.B) {
		// Groups of benchContenders consecutive requests ask for the same staff member and start,
		// on the last day of the window, so that each group has exactly one winner.
		offset := env.requests.Add(int64(b.N)) - int64(b.N)
		result := env.load(b, benchContenders, true, func(i int) map[string]any {
			group := (int(offset) + i) / benchContenders
			return env.body(group%benchLocations, 0, benchWindowDays+1+group/(benchLocations*benchSlotsPerDay),
				(group/benchLocations)%benchSlotsPerDay)
		})
		result.report(b)
		groups := (b.N + benchContenders - 1) / benchContenders
		b.ReportMetric(float64(result.statuses[http.StatusCreated]), "created")
		b.ReportMetric(float64(result.statuses[http.StatusConflict]), "conflicts")
		if created := result.statuses[http.StatusCreated]; created > groups+1 || result.statuses[http.StatusCreated]+
			result.statuses[http.StatusConflict] != b.N {
			b.Errorf("statuses = %v for %d groups", result.statuses, groups)
		}
	})
}

func setupBench(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	env := &benchEnv{dbURL: dbtest.New(b), org: uuid.New(), service: uuid.New(), pgPlace: uuid.New()}
	pool, err := pgxpool.New(ctx, env.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	env.pool = pool

	exec := func(sql string, args ...any) {
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("set up: %v\n%s", err, sql)
		}
	}
	exec(`INSERT INTO organisations (id, name, mode, test_clock) VALUES ($1, 'Bench', 'test', $2)`, env.org, benchClock)
	exec(`INSERT INTO services (id, organisation_id, name, duration_minutes) VALUES ($1, $2, 'Cut', 15)`, env.service, env.org)
	for p := range benchLocations {
		place := uuid.New()
		exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes,
			booking_window_days) VALUES ($1, $2, $3, 'Bench', 'Europe/London', 15, 0, 730)`, place, env.org, fmt.Sprintf("place-%d", p))
		exec(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
			SELECT $1, d, 0, 1440 FROM generate_series(0, 6) d`, place)
		var staff []uuid.UUID
		for range benchStaffPerPlace {
			id := uuid.New()
			staff = append(staff, id)
			exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Staff')`, id, env.org)
			exec(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`,
				env.org, id, env.service, place)
			exec(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
				SELECT $1, $2, d, 'work', 0, 1440 FROM generate_series(0, 6) d`, id, place)
		}
		env.staff = append(env.staff, staff)
	}

	// pgbench inserts for its own location and staff, numbered so that its script can name them.
	exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone) VALUES ($1, $2, 'pgbench', 'pgbench', 'UTC')`,
		env.pgPlace, env.org)
	exec(`INSERT INTO staff (id, organisation_id, name)
		SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, $1, 'pgbench' FROM generate_series(0, 199) n`, env.org)
	exec(`CREATE SEQUENCE bench_reference`)

	key, prefix, hash, err := auth.NewKey(auth.ModeTest)
	if err != nil {
		b.Fatal(err)
	}
	exec(`INSERT INTO api_keys (organisation_id, prefix, hash, scopes, rate_limit_per_minute, description)
		VALUES ($1, $2, $3, $4, 100000, 'benchmark')`, env.org, prefix, hash, auth.AllScopes)
	env.key = key
	env.baseURL = startBookingService(b, env.dbURL)
	return env
}

// startBookingService builds booking-svc, migrates the database with it (the webhook job queue
// has tables of its own), starts it and stops it when the benchmark ends.
func startBookingService(b *testing.B, dbURL string) string {
	b.Helper()
	bins := proctest.BuildForTest(b, proctest.BookingSvc)
	env := []string{"DATABASE_URL=" + dbURL}
	bins.Run(b, "booking-svc", env, "migrate")

	httpPort, adminPort := envOr("BENCH_HTTP_PORT", "18001"), envOr("BENCH_ADMIN_PORT", "18002")
	env = append(env, "HTTP_ADDR=127.0.0.1:"+httpPort, "ADMIN_ADDR=127.0.0.1:"+adminPort,
		"SHUTDOWN_DRAIN=0s", "DATABASE_MAX_CONNS=40")
	bins.Start(b, "booking-svc", env, "http://127.0.0.1:"+adminPort+"/readyz", "serve")
	return "http://127.0.0.1:" + httpPort
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// body returns a create request for one staff member at a 15-minute slot of a day after the
// clock.
func (env *benchEnv) body(place, staff, day, slot int) map[string]any {
	start := benchClock.AddDate(0, 0, day).Add(time.Duration(slot) * 15 * time.Minute)
	return map[string]any{
		"location_slug": fmt.Sprintf("place-%d", place),
		"service_ids":   []string{env.service.String()},
		"staff_id":      env.staff[place][staff].String(),
		"starts_at":     start.Format(time.RFC3339),
	}
}

type loadResult struct {
	statuses  map[int]int
	latencies []time.Duration
	perSecond float64
}

func (r loadResult) report(b *testing.B) {
	slices.Sort(r.latencies)
	quantile := func(q float64) float64 {
		return float64(r.latencies[int(q*float64(len(r.latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(r.perSecond, "requests/s")
	b.ReportMetric(quantile(0.5), "p50_ms")
	b.ReportMetric(quantile(0.99), "p99_ms")
	b.ReportMetric(0, "ns/op")
}

// load sends b.N requests from workers concurrent callers, each with its own Idempotency-Key
// when idempotent is set, and measures each answer's latency.
func (env *benchEnv) load(b *testing.B, workers int, idempotent bool, body func(i int) map[string]any) loadResult {
	b.Helper()
	payloads := make([][]byte, b.N)
	for i := range payloads {
		data, err := json.Marshal(body(i))
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = data
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	runID := uuid.NewString()

	var next atomic.Int64
	var mu sync.Mutex
	result := loadResult{statuses: map[int]int{}}
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses := map[int]int{}
			var latencies []time.Duration
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					break
				}
				req, _ := http.NewRequest("POST", env.baseURL+"/v1/bookings", bytes.NewReader(payloads[i]))
				req.Header.Set("Authorization", "Bearer "+env.key)
				req.Header.Set("Content-Type", "application/json")
				if idempotent {
					req.Header.Set("Idempotency-Key", runID+"-"+strconv.Itoa(i))
				}
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					statuses[0]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies = append(latencies, time.Since(sent))
				statuses[resp.StatusCode]++
			}
			mu.Lock()
			defer mu.Unlock()
			for status, n := range statuses {
				result.statuses[status] += n
			}
			result.latencies = append(result.latencies, latencies...)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	result.perSecond = float64(b.N) / elapsed.Seconds()
	if len(result.latencies) == 0 {
		b.Fatalf("no request succeeded: %v", result.statuses)
	}
	return result
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// runPgbench inserts about b.N single rows into bookings with pgbench, each at a random start
// of one of 200 staff members so that the exclusion constraint checks but rarely conflicts,
// and returns pgbench's transactions per second.
func (env *benchEnv) runPgbench(b *testing.B) float64 {
	b.Helper()
	bin := pgbenchPath()
	if bin == "" {
		b.Skip("pgbench not found; set PGBENCH")
	}
	script := filepath.Join(b.TempDir(), "insert.sql")
	err := os.WriteFile(script, []byte(`\set n random(1, 1000000000)
\set staff :n % 200
\set slot :n / 200
INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked)
SELECT :org::uuid, 'SET-' || lpad(upper(to_hex(nextval('bench_reference'))), 6, '0'), :place::uuid,
	('00000000-0000-4000-8000-' || lpad(:staff::text, 12, '0'))::uuid, 'confirmed',
	t.start, t.start + interval '15 minutes', tstzrange(t.start, t.start + interval '15 minutes', '[)')
FROM (SELECT '2031-01-01'::timestamptz + :slot::int * interval '15 minutes' AS start) t
ON CONFLICT DO NOTHING;
`), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	perClient := max(1, b.N/benchClients)
	cmd := exec.Command(bin, "-n", "-M", "prepared", "-c", strconv.Itoa(benchClients), "-j", "2",
		"-t", strconv.Itoa(perClient), "-f", script, "-D", "org="+env.org.String(), "-D", "place="+env.pgPlace.String(), env.dbURL)
	b.ResetTimer()
	out, err := cmd.CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	b.ReportMetric(tps, "inserts/s")
	b.ReportMetric(0, "ns/op")
	return tps
}

func pgbenchPath() string {
	if p := os.Getenv("PGBENCH"); p != "" {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(matches) > 0 {
		slices.Sort(matches)
		return matches[len(matches)-1]
	}
	p, _ := exec.LookPath("pgbench")
	return p
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/ratelimit"
)

// benchShop is a London location with 12 staff members who work 09:00-18:00 every day with a
// break 13:00-13:30, about 60% booked in 30-minute appointments over the week asked for: the
// shape of the slot engine's BenchmarkFind7Days12Staff, stored in PostgreSQL.
type benchShop struct {
	ownerURL, readerURL string
	// keys are many, because each key's rate limit (at most 100000 a minute) is far below
	// what one process serves.
	keys  []string
	query string // path and query of the 7-day request
}

// benchKeys is the number of keys the benchmark spreads its requests over.
const benchKeys = 64

func setUpBenchShop(b *testing.B) benchShop {
	b.Helper()
	ownerURL := dbtest.New(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)

	orgID, locID, serviceID := uuid.New(), uuid.New(), uuid.New()
	london, _ := time.LoadLocation("Europe/London")
	now := time.Now().In(london)
	first := time.Date(now.Year(), now.Month(), now.Day()+2, 0, 0, 0, 0, london)

	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Benchmark Barbers', 'test')`, orgID)
	var keys []string
	for range benchKeys {
		key, prefix, hash, err := auth.NewKey(auth.ModeTest)
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, key)
		batch.Queue(`INSERT INTO api_keys (organisation_id, prefix, hash, scopes, rate_limit_per_minute)
			VALUES ($1, $2, $3, $4, 100000)`, orgID, prefix, hash, auth.AllScopes)
	}
	batch.Queue(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes, booking_window_days)
		VALUES ($1, $2, 'bench', 'Benchmark Barbers', 'Europe/London', 15, 60, 60)`, locID, orgID)
	batch.Queue(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
		SELECT $1, d, 510, 1140 FROM generate_series(0, 6) d`, locID)
	batch.Queue(`INSERT INTO services (id, organisation_id, name, duration_minutes) VALUES ($1, $2, 'Haircut', 30)`, serviceID, orgID)
	for i := range 12 {
		staffID := uuid.New()
		batch.Queue(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, $3)`, staffID, orgID, fmt.Sprintf("Staff %d", i+1))
		batch.Queue(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`,
			orgID, staffID, serviceID, locID)
		batch.Queue(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
			SELECT $1, $2, d, k.kind, k.s, k.e FROM generate_series(0, 6) d,
				(VALUES ('work', 540, 1080), ('break', 780, 810)) AS k (kind, s, e)`, staffID, locID)
		// Six in ten of the half-hour starts outside the break, chosen by a fixed pattern so that
		// every run books the same share.
		batch.Queue(`INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked)
			SELECT $1, 'SET-' || lpad(upper(to_hex($5::int * 10000 + d * 100 + m / 30)), 6, '0'), $2, $3::uuid, 'confirmed', t, t + interval '30 minutes',
				tstzrange(t, t + interval '30 minutes')
			FROM generate_series(0, 6) d, generate_series(540, 1050, 30) m,
				LATERAL (SELECT (($4::date + d) + make_interval(mins => m)) AT TIME ZONE 'Europe/London' AS t) x
			WHERE m <> 780 AND (d * 18 + m / 30 + $5::int) % 10 < 6`,
			orgID, locID, staffID, first.Format(time.DateOnly), i)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		b.Fatalf("set up the benchmark shop: %v", err)
	}

	q := url.Values{}
	q.Set("service_ids", serviceID.String())
	q.Set("date", first.Format(time.DateOnly))
	q.Set("days", "7")
	return benchShop{ownerURL: ownerURL, readerURL: dbtest.ReaderURL(b, ownerURL), keys: keys,
		query: "/v1/locations/bench/availability?" + q.Encode()}
}

// serve starts app on a free loopback port until the benchmark ends and returns its address.
func serve(b *testing.B, app *fiber.App) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String()
}

// benchConnections is the number of client connections; RunParallel spreads them over
// goroutines.
const benchConnections = 16

// hammer sends the request over benchConnections connections until b.N responses arrive,
// failing on any status but want, and reports requests per second. Requests take the keys in
// turn.
func hammer(b *testing.B, addr, path string, keys []string, want int, headers ...string) {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: benchConnections}
	authorization := make([]string, len(keys))
	for i, k := range keys {
		authorization[i] = "Bearer " + k
	}
	var next atomic.Uint64
	b.SetParallelism(max(benchConnections/runtime.GOMAXPROCS(0), 1))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		for pb.Next() {
			req.Header.Set("Authorization", authorization[next.Add(1)%uint64(len(authorization))])
			if err := client.Do(req, resp); err != nil {
				b.Errorf("request failed: %v", err)
				return
			}
			if resp.StatusCode() != want {
				b.Errorf("status %d, want %d: %.200s", resp.StatusCode(), want, resp.Body())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// fetch sends one request with the first key and returns the answer's status, body and ETag.
func fetch(b *testing.B, addr, path string, keys []string) (int, []byte, string) {
	b.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.Header.Set("Authorization", "Bearer "+keys[0])
	if err := fasthttp.Do(req, resp); err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), string(resp.Header.Peek("ETag"))
}

// startAvailability serves the real availability route with the day reader that readerFor
// builds on the pool: the cache, or the database reader alone. It returns the address and the
// service's metrics.
func startAvailability(b *testing.B, shop benchShop, readerFor func(pool *pgxpool.Pool, metrics *serviceMetrics) cache.Reader) (string, *serviceMetrics) {
	b.Helper()
	pool, err := pgxpool.New(context.Background(), shop.readerURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// Requests are logged as in production but into io.Discard, so the formatting is paid and
	// the disk is not.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	metrics := newServiceMetrics(prometheus.NewRegistry())
	catalogue, err := cache.NewCatalogue(pool, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(catalogue.Close)
	// The limiter keeps its counts in this process, as a single replica without Redis does.
	limiter, err := ratelimit.New(context.Background(), ratelimit.Config{}, log, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	rendered, err := newAnswers(64 << 20)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rendered.close)
	h := &availabilityHandler{catalogue: catalogue, days: readerFor(pool, metrics), answers: rendered, db: pool, metrics: metrics, log: log}
	return serve(b, newApp(log, auth.NewAuthenticator(pool, 30*time.Second), limiter, h)), metrics
}

func warmCache(b *testing.B) func(*pgxpool.Pool, *serviceMetrics) cache.Reader {
	return func(pool *pgxpool.Pool, metrics *serviceMetrics) cache.Reader {
		days, err := cache.New(cache.DBReader{DB: pool}, cache.Config{MaxCost: 64 << 20, TTL: time.Hour}, metrics)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(days.Close)
		// No listener runs here, so declare the LISTEN connection up for the cache to keep fills.
		days.SetListening(true)
		return days
	}
}

func noCache(pool *pgxpool.Pool, _ *serviceMetrics) cache.Reader { return cache.DBReader{DB: pool} }

// BenchmarkAvailabilityHTTP measures the 7-day availability response over loopback HTTP with the
// client in the same process, so client and server share the machine's cores:
//
//   - fixed-body: a Fiber handler on the same app setup returning the warm answer's bytes,
//     the HTTP stack's limit on this machine;
//   - cache-warm: the real route with every day cached;
//   - cache-warm-304: the same with If-None-Match carrying the current ETag;
//   - cache-disabled: the real route reading PostgreSQL on every request.
//
// It needs TEST_DATABASE_URL; scripts/bench.sh runs it and compares the sub-benchmarks.
func BenchmarkAvailabilityHTTP(b *testing.B) {
	shop := setUpBenchShop(b)
	warmAddr, metrics := startAvailability(b, shop, warmCache(b))
	status, body, etag := fetch(b, warmAddr, shop.query, shop.keys)
	if status != fiber.StatusOK {
		b.Fatalf("warm-up status %d: %s", status, body)
	}
	// Fills land in the cache asynchronously; a second read makes sure they are in.
	time.Sleep(50 * time.Millisecond)
	fetch(b, warmAddr, shop.query, shop.keys)
	b.Logf("answer: %d bytes", len(body))

	b.Run("fixed-body", func(b *testing.B) {
		app := httpapi.NewApp(serviceName, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		app.Get("/v1/locations/:slug/availability", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
			return c.Send(body)
		})
		hammer(b, serve(b, app), shop.query, shop.keys, fiber.StatusOK)
		b.ReportMetric(float64(len(body)), "body-bytes")
	})
	b.Run("cache-warm", func(b *testing.B) {
		misses := testutil.ToFloat64(metrics.cacheMisses)
		hammer(b, warmAddr, shop.query, shop.keys, fiber.StatusOK)
		b.ReportMetric(float64(len(body)), "body-bytes")
		// Day schedules read from the cache against all read; 1 means the cache stayed warm. Most
		// requests reuse a rendered answer and read no day at all, so count only misses.
		misses = testutil.ToFloat64(metrics.cacheMisses) - misses
		b.ReportMetric(misses, "day-misses")
	})
	b.Run("cache-warm-304", func(b *testing.B) {
		hammer(b, warmAddr, shop.query, shop.keys, fiber.StatusNotModified, "If-None-Match", etag)
	})
	b.Run("cache-disabled", func(b *testing.B) {
		addr, _ := startAvailability(b, shop, noCache)
		hammer(b, addr, shop.query, shop.keys, fiber.StatusOK)
	})
}

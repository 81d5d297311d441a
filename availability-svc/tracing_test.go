package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/availability-svc/listener"
	"github.com/setora/rest/booking-svc/api"
	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/idempotency"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/telemetry"
)

// A client as an integrator sends them; none of these may reach a span or a log line.
const (
	tracedClientName  = "Ysolde Tracing-Testperson"
	tracedClientPhone = "+447700900789"
	tracedClientEmail = "ysolde.testperson@private-mail.test"
)

// TestTraceFromBookingToEviction runs booking-svc's API and an availability-svc replica in this
// process, against one database, with every span recorded in memory. One booking must yield
// the booking's server span, its database spans, and an eviction span in the replica linked to
// the booking's span. An availability request must yield its server span and database spans.
// No span and no log line may contain the client's details or the key.
func TestTraceFromBookingToEviction(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tracing := telemetry.NewTracing(recorder)
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	var logs lockedBuffer
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&logs, nil)))

	shop := newTracedShop(t)
	booking := newBookingApp(t, shop.ownerURL, tracing, log)
	availability := newAvailabilityReplica(t, shop.readerURL, tracing, log)

	query := "/v1/locations/traced/availability?service_ids=" + shop.serviceID.String() + "&date=2026-05-12"
	if status, body := send(t, availability, "GET", query, shop.key, ""); status != http.StatusOK {
		t.Fatalf("availability status = %d, body %s", status, body)
	}
	body := `{"location_slug": "traced", "service_ids": ["` + shop.serviceID.String() + `"],
		"starts_at": "2026-05-12T10:00:00+01:00", "staff_id": "` + shop.staffID.String() + `",
		"client": {"name": "` + tracedClientName + `", "phone": "` + tracedClientPhone + `", "email": "` + tracedClientEmail + `"}}`
	if status, body := send(t, booking, "POST", "/v1/bookings", shop.key, body); status != http.StatusCreated {
		t.Fatalf("booking status = %d, body %s", status, body)
	}

	bookingSpan := findSpan(t, recorder, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == "/v1/bookings" && s.SpanKind() == trace.SpanKindServer
	})
	eviction := findSpan(t, recorder, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == "process "+notify.Channel && len(s.Links()) > 0
	})
	t.Run("booking span", func(t *testing.T) {
		if bookingSpan.Parent().IsValid() {
			t.Errorf("the booking span has parent %s, want none", bookingSpan.Parent().SpanID())
		}
		insert := findSpan(t, recorder, func(s sdktrace.ReadOnlySpan) bool {
			return strings.HasPrefix(spanAttribute(s, "db.query.text"), "INSERT INTO bookings")
		})
		if insert.SpanContext().TraceID() != bookingSpan.SpanContext().TraceID() {
			t.Errorf("the booking's INSERT is in trace %s, want the request's %s", insert.SpanContext().TraceID(),
				bookingSpan.SpanContext().TraceID())
		}
	})
	t.Run("eviction span", func(t *testing.T) {
		if eviction.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("eviction span kind = %v, want consumer", eviction.SpanKind())
		}
		link := eviction.Links()[0].SpanContext
		if link.TraceID() != bookingSpan.SpanContext().TraceID() || link.SpanID() != bookingSpan.SpanContext().SpanID() {
			t.Errorf("eviction links to %s/%s, want the booking span %s/%s", link.TraceID(), link.SpanID(),
				bookingSpan.SpanContext().TraceID(), bookingSpan.SpanContext().SpanID())
		}
		if eviction.SpanContext().TraceID() == bookingSpan.SpanContext().TraceID() {
			t.Error("the eviction is inside the booking's trace, want a trace of its own")
		}
		if got := spanAttribute(eviction, "setora.change.kind"); got != notify.KindSchedule {
			t.Errorf("setora.change.kind = %q, want %q", got, notify.KindSchedule)
		}
		if spanAttribute(eviction, "messaging.message.id") == "" {
			t.Error("the eviction span does not name the notification")
		}
	})
	t.Run("availability span", func(t *testing.T) {
		request := findSpan(t, recorder, func(s sdktrace.ReadOnlySpan) bool {
			return s.Name() == "/v1/locations/:slug/availability"
		})
		findSpan(t, recorder, func(s sdktrace.ReadOnlySpan) bool {
			return s.SpanContext().TraceID() == request.SpanContext().TraceID() && spanAttribute(s, "db.query.text") != ""
		})
	})
	t.Run("log lines name their trace", func(t *testing.T) {
		lines := requestLines(t, logs.String())
		if lines["/v1/bookings"] != bookingSpan.SpanContext().TraceID().String() {
			t.Errorf("the booking's request line has trace_id %q, want %s", lines["/v1/bookings"], bookingSpan.SpanContext().TraceID())
		}
	})
	t.Run("no personal data or key", func(t *testing.T) {
		secrets := []string{tracedClientName, tracedClientPhone, tracedClientEmail, shop.key}
		for _, s := range recorder.Ended() {
			for _, field := range spanText(s) {
				for _, secret := range secrets {
					if strings.Contains(field, secret) {
						t.Errorf("span %q holds %q in %q", s.Name(), secret, field)
					}
				}
			}
		}
		for _, secret := range secrets {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the logs hold %q", secret)
			}
		}
	})
}

// tracedShop is one organisation with a location "traced" in London, open 09:00-18:00 every
// day, one 30-minute service and one staff member, and a key with every scope.
type tracedShop struct {
	ownerURL, readerURL string
	key                 string
	serviceID, staffID  uuid.UUID
}

func newTracedShop(t *testing.T) tracedShop {
	t.Helper()
	ownerURL := dbtest.New(t)
	shop := tracedShop{ownerURL: ownerURL, readerURL: dbtest.ReaderURL(t, ownerURL), serviceID: uuid.New(), staffID: uuid.New()}
	key, prefix, hash, err := auth.NewKey(auth.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	shop.key = key

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	orgID, locID := uuid.New(), uuid.New()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO organisations (id, name, mode, test_clock) VALUES ($1, 'Traced Barbers', 'test', '2026-05-11T12:00:00+01:00')`, []any{orgID}},
		{`INSERT INTO api_keys (organisation_id, prefix, hash, scopes, rate_limit_per_minute) VALUES ($1, $2, $3, $4, 1000)`,
			[]any{orgID, prefix, hash, auth.AllScopes}},
		{`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes, booking_window_days)
			VALUES ($1, $2, 'traced', 'Traced Barbers', 'Europe/London', 30, 0, 60)`, []any{locID, orgID}},
		{`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
			SELECT $1, d, 540, 1080 FROM generate_series(0, 6) d`, []any{locID}},
		{`INSERT INTO services (id, organisation_id, name, duration_minutes) VALUES ($1, $2, 'Cut', 30)`, []any{shop.serviceID, orgID}},
		{`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Staff')`, []any{shop.staffID, orgID}},
		{`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`,
			[]any{orgID, shop.staffID, shop.serviceID, locID}},
		{`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
			SELECT $1, $2, d, 'work', 540, 1080 FROM generate_series(0, 6) d`, []any{shop.staffID, locID}},
	} {
		if _, err := pool.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			t.Fatalf("set up the shop: %v", err)
		}
	}
	return shop
}

// newBookingApp builds booking-svc's public API the way its newApp does, without the rate
// limiter and the key-use recorder, with writes that wait for the replicas' acknowledgements.
func newBookingApp(t *testing.T, ownerURL string, tracing *telemetry.Tracing, log *slog.Logger) *fiber.App {
	t.Helper()
	pool, err := db.Connect(context.Background(), ownerURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	echo := notify.NewEcho()
	runInBackground(t, func(ctx context.Context) { echo.Run(ctx, ownerURL, log) })
	store := bookings.NewStore(pool, echo)

	app := httpapi.NewApp("booking-svc", log, telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(prometheus.NewRegistry(), "booking-svc"))...)
	v1 := app.Group("/v1", auth.NewAuthenticator(pool, 0).Middleware(), idempotency.Middleware(pool, log, nil))
	api.Mount(v1, api.Deps{Pool: pool, Store: store, Echo: echo, Log: log})
	return app
}

// newAvailabilityReplica builds this service's app and starts its listener, as run does, and
// returns once the replica listens for changes.
func newAvailabilityReplica(t *testing.T, readerURL string, tracing *telemetry.Tracing, log *slog.Logger) *fiber.App {
	t.Helper()
	pool, err := db.Connect(context.Background(), readerURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	registry := prometheus.NewRegistry()
	metrics := newServiceMetrics(registry)
	days, err := cache.New(cache.DBReader{DB: pool}, cache.Config{MaxCost: 16 << 20, TTL: time.Minute}, metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(days.Close)
	catalogue, err := cache.NewCatalogue(pool, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(catalogue.Close)
	authenticator := auth.NewAuthenticator(pool, time.Second)

	changes := &changeHandler{days: days, catalogue: catalogue, auth: authenticator, metrics: metrics, log: log}
	runInBackground(t, func(ctx context.Context) { listener.Run(ctx, readerURL, "traced-replica", changes, log) })
	deadline := time.Now().Add(10 * time.Second)
	for !days.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the replica's LISTEN connection did not come up within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	h := &availabilityHandler{catalogue: catalogue, days: days, db: pool, metrics: metrics, log: log}
	return newApp(log, authenticator, nil, h, telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(registry, serviceName))...)
}

// runInBackground runs fn in a goroutine until the test ends, then cancels its context and
// waits for it to return.
func runInBackground(t *testing.T, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func send(t *testing.T, app *fiber.App, method, target, key, body string) (int, string) {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, reader)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// findSpan returns an ended span that matches, waiting up to ten seconds for it, because the
// replica applies a change after the commit that sent it.
func findSpan(t *testing.T, recorder *tracetest.SpanRecorder, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range recorder.Ended() {
			if match(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching span among %d within 10s", len(recorder.Ended()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func spanAttribute(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// spanText returns every string a span carries besides its ids: name, attributes, status,
// events and links.
func spanText(s sdktrace.ReadOnlySpan) []string {
	text := []string{s.Name(), s.Status().Description}
	for _, kv := range s.Attributes() {
		text = append(text, string(kv.Key)+"="+kv.Value.Emit())
	}
	for _, e := range s.Events() {
		text = append(text, e.Name)
		for _, kv := range e.Attributes {
			text = append(text, string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	for _, l := range s.Links() {
		for _, kv := range l.Attributes {
			text = append(text, string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	return text
}

// requestLines returns the trace_id of each request log line by route.
func requestLines(t *testing.T, logs string) map[string]string {
	t.Helper()
	traces := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry struct {
			Msg, Route string
			TraceID    string `json:"trace_id"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if entry.Msg == "request" {
			traces[entry.Route] = entry.TraceID
		}
	}
	return traces
}

// lockedBuffer is a log destination that the request handlers and the listener write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

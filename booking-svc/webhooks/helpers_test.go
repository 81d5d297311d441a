package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/booking-svc/webhooks/signature"
	"github.com/setora/rest/shared/dbtest"
)

// testLog writes warnings and errors only, so a failing test's output stays readable.
var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// shop is one organisation on its own migrated database: a London location open every day
// from 08:00 to 20:00 with one staff member who performs one 30-minute service.
type shop struct {
	t        *testing.T
	ctx      context.Context
	pool     *pgxpool.Pool
	bookings *bookings.Store
	hooks    *webhooks.Store
	org      uuid.UUID
	mode     string
	staff    uuid.UUID
	service  uuid.UUID
	// now is the organisation's present for booking rules: 07:00 on day.
	now time.Time
	day string
}

func newShop(t *testing.T, mode string) *shop {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := webhooks.MigrateQueue(ctx, pool); err != nil {
		t.Fatalf("migrate job queue: %v", err)
	}
	hooks, err := webhooks.NewStore(pool, nil)
	if err != nil {
		t.Fatalf("webhook store: %v", err)
	}

	s := &shop{t: t, ctx: ctx, pool: pool, bookings: bookings.NewStore(pool, nil), hooks: hooks,
		org: uuid.New(), mode: mode, staff: uuid.New(), service: uuid.New(), day: "2030-01-08"}
	s.now = s.at("07:00")
	location := uuid.New()
	s.exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Webhook Barbers', $2)`, s.org, mode)
	s.exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes,
		booking_window_days) VALUES ($1, $2, 'shop', 'Webhook Barbers', 'Europe/London', 15, 0, 60)`, location, s.org)
	s.exec(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
		SELECT $1, d, 480, 1200 FROM generate_series(0, 6) d`, location)
	s.exec(`INSERT INTO services (id, organisation_id, name, duration_minutes, price_minor) VALUES ($1, $2, 'Cut', 30, 2800)`,
		s.service, s.org)
	s.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Sam')`, s.staff, s.org)
	s.exec(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`,
		s.org, s.staff, s.service, location)
	s.exec(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
		SELECT $1, $2, d, 'work', 480, 1200 FROM generate_series(0, 6) d`, s.staff, location)
	return s
}

func (s *shop) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(s.ctx, sql, args...); err != nil {
		s.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (s *shop) queryInt(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(s.ctx, sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// at returns a London wall time on the shop's test day.
func (s *shop) at(clock string) time.Time {
	s.t.Helper()
	zone, err := time.LoadLocation("Europe/London")
	if err != nil {
		s.t.Fatal(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s.day+" "+clock, zone)
	if err != nil {
		s.t.Fatal(err)
	}
	return t
}

// book creates a confirmed booking at a wall time.
func (s *shop) book(clock string) *bookings.Booking {
	s.t.Helper()
	b, err := s.bookings.Create(s.ctx, s.org, s.now, bookings.CreateInput{LocationSlug: "shop",
		ServiceIDs: []uuid.UUID{s.service}, StartsAt: s.at(clock), StaffID: s.staff, Source: "test"})
	if err != nil {
		s.t.Fatalf("book %s: %v", clock, err)
	}
	return b
}

// endpoint registers an endpoint for the receiver and returns it with its secret.
func (s *shop) endpoint(url string, eventTypes ...string) *webhooks.Endpoint {
	s.t.Helper()
	if len(eventTypes) == 0 {
		eventTypes = []string{webhooks.AllEventTypes}
	}
	e, err := s.hooks.CreateEndpoint(s.ctx, s.org, s.mode, webhooks.EndpointInput{URL: url, EventTypes: eventTypes})
	if err != nil {
		s.t.Fatalf("create endpoint: %v", err)
	}
	return e
}

// testConfig delivers quickly: short dispatch and poll intervals, a 50 ms first retry, and a
// one-minute horizon that tests shorten further where they need it.
func testConfig() webhooks.Config {
	return webhooks.Config{
		DispatchInterval:  20 * time.Millisecond,
		DispatchBatch:     100,
		Workers:           4,
		AttemptTimeout:    2 * time.Second,
		RetryBaseDelay:    50 * time.Millisecond,
		RetryMaxDelay:     200 * time.Millisecond,
		RetryHorizon:      time.Minute,
		RescueAfter:       10 * time.Second,
		FetchPollInterval: 20 * time.Millisecond,
		BacklogInterval:   50 * time.Millisecond,
	}
}

// startDelivery runs a delivery service until the test ends and returns its metrics registry.
func (s *shop) startDelivery(cfg webhooks.Config) *prometheus.Registry {
	s.t.Helper()
	registry := prometheus.NewRegistry()
	service, err := webhooks.NewService(s.pool, cfg, registry, testLog)
	if err != nil {
		s.t.Fatalf("new delivery service: %v", err)
	}
	if err := service.Start(s.ctx); err != nil {
		s.t.Fatalf("start delivery service: %v", err)
	}
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := service.Stop(ctx); err != nil {
			s.t.Errorf("stop delivery service: %v", err)
		}
	})
	return registry
}

// eventsOf returns the outbox event ids of a booking in sequence order.
func (s *shop) eventsOf(bookingID uuid.UUID) []uuid.UUID {
	s.t.Helper()
	rows, err := s.pool.Query(s.ctx, `SELECT id FROM outbox_events WHERE booking_id = $1 ORDER BY sequence`, bookingID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// delivery is one request the receiver got.
type delivery struct {
	body   []byte
	header http.Header
	event  receivedEvent
	// status is the receiver's response status, or 0 when the sender gave up first.
	status int
}

// receivedEvent is the part of an event body the tests check.
type receivedEvent struct {
	ID           uuid.UUID `json:"id"`
	Type         string    `json:"type"`
	CreatedAt    string    `json:"created_at"`
	APIVersion   string    `json:"api_version"`
	Sequence     int       `json:"sequence"`
	Organisation struct {
		ID   uuid.UUID `json:"id"`
		Mode string    `json:"mode"`
	} `json:"organisation"`
	Data struct {
		Booking struct {
			ID     uuid.UUID `json:"id"`
			Status string    `json:"status"`
			// StartsAt is the booking's start as the API writes it.
			StartsAt string `json:"starts_at"`
		} `json:"booking"`
	} `json:"data"`
}

// receiver is an HTTP server on 127.0.0.1 that records every request. answer returns the
// status for the n-th request, counted from 1. A negative status makes the receiver hang until
// the sender gives up.
type receiver struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	requests []delivery
	answer   func(n int) int
	changed  chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{t: t, answer: answer, changed: make(chan struct{}, 1)}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	return r
}

func alwaysOK(int) int { return http.StatusOK }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{body: body, header: req.Header.Clone()}
	if err := json.Unmarshal(body, &d.event); err != nil {
		r.t.Errorf("receiver: body is not an event: %v", err)
	}
	r.mu.Lock()
	r.requests = append(r.requests, d)
	n := len(r.requests)
	answer := r.answer
	r.mu.Unlock()

	status := answer(n)
	if status < 0 {
		<-req.Context().Done()
		status = 0
	} else {
		w.WriteHeader(status)
	}
	r.mu.Lock()
	r.requests[n-1].status = status
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// setAnswer replaces the function that chooses response statuses.
func (r *receiver) setAnswer(answer func(n int) int) {
	r.mu.Lock()
	r.answer = answer
	r.mu.Unlock()
}

// all returns a copy of every request so far.
func (r *receiver) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.requests...)
}

// acknowledged returns the requests answered with a 2xx status.
func (r *receiver) acknowledged() []delivery {
	var out []delivery
	for _, d := range r.all() {
		if d.status >= 200 && d.status < 300 {
			out = append(out, d)
		}
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSignature verifies a received request with the documented procedure.
func checkSignature(t *testing.T, d delivery, secret string) {
	t.Helper()
	if err := signature.Verify(d.body, d.header.Get(signature.Header), secret, signature.DefaultTolerance, time.Now()); err != nil {
		t.Errorf("event %s (%s): signature does not verify: %v", d.event.ID, d.event.Type, err)
	}
}

// attemptHeader returns the Setora-Delivery-Attempt header as a number.
func attemptHeader(t *testing.T, d delivery) int {
	t.Helper()
	n, err := strconv.Atoi(d.header.Get(webhooks.HeaderAttempt))
	if err != nil {
		t.Fatalf("%s header %q: %v", webhooks.HeaderAttempt, d.header.Get(webhooks.HeaderAttempt), err)
	}
	return n
}

// deliveryLog returns an endpoint's whole delivery log, oldest first.
func (s *shop) deliveryLog(endpointID uuid.UUID) []*webhooks.Delivery {
	s.t.Helper()
	var all []*webhooks.Delivery
	page := webhooks.Page{Limit: webhooks.MaxPageLimit}
	for {
		list, next, err := s.hooks.ListDeliveries(s.ctx, s.org, endpointID, webhooks.DeliveryFilter{}, page)
		if err != nil {
			s.t.Fatalf("list deliveries: %v", err)
		}
		all = append(all, list...)
		if next == nil {
			break
		}
		page.After = next
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/internal/proctest"
	"github.com/setora/rest/shared/dbtest"
)

// Demo shop values that `booking-svc demo` loads.
const (
	demoClassicCut = "2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15"
	demoMarcus     = "9b3e7d2c-4a1f-48e6-bc52-7f0a9d3b1e84"
)

// The real booking-svc binary is killed with SIGKILL twice: once after a booking committed but
// before the dispatcher saw it, once while its delivery request was in flight. After each
// restart the event is delivered, every committed event arrives exactly once acknowledged, and
// nothing arrives for a write that rolled back.
func TestKilledServiceDeliversAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and restarts booking-svc; skipped with -short")
	}
	t.Parallel()
	ctx := context.Background()
	began := time.Now()
	bins := proctest.BuildForTest(t, proctest.BookingSvc)
	t.Logf("built booking-svc in %s", time.Since(began).Round(time.Millisecond))
	dbURL := dbtest.New(t)
	bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + dbURL}, "migrate")
	key := strings.TrimSpace(bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + dbURL}, "demo"))
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// A Monday 08:00 in London, when the demo shop's Marcus works from 09:00.
	if _, err := pool.Exec(ctx, `UPDATE organisations SET test_clock = '2030-01-07T08:00:00Z'`); err != nil {
		t.Fatal(err)
	}

	hangFirst := make(chan struct{})
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			close(hangFirst)
			return -1
		}
		return http.StatusOK
	})

	// Phase 1: the dispatcher runs once at start and then not for an hour, so a booking made now
	// stays committed and undispatched until the process is killed.
	svc := startBookingSvc(t, bins, dbURL, "WEBHOOK_DISPATCH_INTERVAL=1h")
	created := svc.call(t, key, http.MethodPost, "/v1/webhook_endpoints",
		map[string]any{"url": r.server.URL + "/setora", "event_types": []string{"*"}})
	if created.status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", created.status, created.raw)
	}
	secret, _ := created.data()["secret"].(string)
	endpointID, _ := created.data()["id"].(string)

	first := svc.call(t, key, http.MethodPost, "/v1/bookings", bookingRequest("2030-01-07T10:00:00+00:00"))
	if first.status != http.StatusCreated {
		t.Fatalf("create booking: %d %s", first.status, first.raw)
	}
	firstID, _ := first.data()["id"].(string)
	if n := countRows(t, pool, `SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL`); n != 1 {
		t.Fatalf("%d undispatched events before the kill, want the new booking's 1", n)
	}
	svc.kill(t)

	// Phase 2: the event is dispatched and sent; the receiver holds the request open, and the
	// process is killed while it waits.
	svc = startBookingSvc(t, bins, dbURL, "WEBHOOK_DISPATCH_INTERVAL=50ms", "WEBHOOK_ATTEMPT_TIMEOUT=3s",
		"WEBHOOK_RESCUE_AFTER=9s", "WEBHOOK_FETCH_POLL_INTERVAL=100ms", "WEBHOOK_RETRY_BASE_DELAY=200ms")
	select {
	case <-hangFirst:
	case <-time.After(30 * time.Second):
		t.Fatal("the event was not sent after the first restart")
	}
	svc.kill(t)
	t.Logf("killed during delivery after %s", time.Since(began).Round(time.Millisecond))
	if n := countRows(t, pool, `SELECT count(*) FROM river_job WHERE state = 'running'`); n != 1 {
		t.Fatalf("%d delivery jobs left running by the kill, want 1", n)
	}

	// Phase 3: River rescues the job of the dead process, so the event is delivered. New writes
	// are delivered too, but a rolled-back write is not.
	svc = startBookingSvc(t, bins, dbURL, "WEBHOOK_DISPATCH_INTERVAL=50ms", "WEBHOOK_ATTEMPT_TIMEOUT=3s",
		"WEBHOOK_RESCUE_AFTER=9s", "WEBHOOK_FETCH_POLL_INTERVAL=100ms", "WEBHOOK_RETRY_BASE_DELAY=200ms")
	taken := svc.call(t, key, http.MethodPost, "/v1/bookings", bookingRequest("2030-01-07T10:00:00+00:00"))
	if taken.status != http.StatusConflict {
		t.Fatalf("booking a taken slot: %d, want 409", taken.status)
	}

	// A transaction that writes an outbox row and stays open while the dispatcher polls, then
	// rolls back: its event must never be sent.
	rolledBack := uuid.New()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox_events (id, organisation_id, booking_id, type, sequence, payload)
		SELECT $1, organisation_id, id, 'booking.cancelled', version + 1, '{}' FROM bookings WHERE id = $2`,
		rolledBack, firstID); err != nil {
		t.Fatal(err)
	}

	second := svc.call(t, key, http.MethodPost, "/v1/bookings", bookingRequest("2030-01-07T11:00:00+00:00"))
	if second.status != http.StatusCreated {
		t.Fatalf("create second booking: %d %s", second.status, second.raw)
	}
	waitUntil(t, "the second booking's event is acknowledged", func() bool {
		for _, d := range r.acknowledged() {
			if d.event.Data.Booking.ID.String() == second.data()["id"] {
				return true
			}
		}
		return false
	})
	t.Logf("second booking delivered after %s", time.Since(began).Round(time.Millisecond))
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	cancelled := svc.call(t, key, http.MethodPost, "/v1/bookings/"+firstID+"/cancel", map[string]any{"reason": "test"})
	if cancelled.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", cancelled.status, cancelled.raw)
	}

	waitUntil(t, "every committed event is acknowledged", func() bool {
		return len(r.acknowledged()) == countRows(t, pool, `SELECT count(*) FROM outbox_events`)
	})
	waitUntil(t, "the queue is empty", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
	})

	committed := map[uuid.UUID]bool{}
	rows, err := pool.Query(ctx, `SELECT id FROM outbox_events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		committed[id] = true
	}
	rows.Close()
	if len(committed) != 3 {
		t.Errorf("%d committed events, want 3 (two created, one cancelled): the 409 and the rollback add none", len(committed))
	}
	acked := map[uuid.UUID]int{}
	for _, d := range r.acknowledged() {
		acked[d.event.ID]++
		checkSignature(t, d, secret)
	}
	for id := range committed {
		if acked[id] != 1 {
			t.Errorf("committed event %s acknowledged %d times, want once", id, acked[id])
		}
	}
	for _, d := range r.all() {
		if d.event.ID == rolledBack {
			t.Errorf("the rolled-back event %s was sent", rolledBack)
		}
		if !committed[d.event.ID] {
			t.Errorf("event %s was sent but never committed", d.event.ID)
		}
	}
	if got := len(r.all()); got != 4 {
		t.Errorf("receiver got %d requests, want 4: the interrupted one and three acknowledged", got)
	}

	log := svc.call(t, key, http.MethodGet, "/v1/webhook_endpoints/"+endpointID+"/deliveries", nil)
	if log.status != http.StatusOK {
		t.Fatalf("delivery log: %d %s", log.status, log.raw)
	}
	entries, _ := log.body["data"].([]any)
	if len(entries) != 3 {
		t.Errorf("delivery log has %d entries, want 3: the killed attempt never finished", len(entries))
	}
}

// bookingRequest books a classic cut with Marcus at the demo shop.
func bookingRequest(startsAt string) map[string]any {
	return map[string]any{"location_slug": "soho", "service_ids": []string{demoClassicCut},
		"starts_at": startsAt, "staff_id": demoMarcus}
}

func countRows(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// process is one running booking-svc.
type process struct {
	*proctest.Process
	baseURL string
}

// startBookingSvc starts `booking-svc serve` on the database with env added to its
// environment and waits until it is ready.
func startBookingSvc(t *testing.T, bins proctest.Binaries, dbURL string, env ...string) *process {
	t.Helper()
	port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
	p := bins.Start(t, "booking-svc", append([]string{"DATABASE_URL=" + dbURL,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port), fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", adminPort),
		"SHUTDOWN_DRAIN=0s"}, env...), fmt.Sprintf("http://127.0.0.1:%d/readyz", adminPort), "serve")
	return &process{Process: p, baseURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// kill sends SIGKILL, so nothing gets a chance to shut down cleanly, and waits for the exit.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
}

type apiResponse struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r apiResponse) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (p *process) call(t *testing.T, key, method, path string, body any) apiResponse {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, p.baseURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResponse{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

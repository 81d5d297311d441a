package idempotency_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/booking-svc/idempotency"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
)

// deferredRoute is the route the tests store keys for in the handler's transaction.
const deferredRoute = "/v1/things"

type fixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	app   *fiber.App
	org   uuid.UUID
	key   string
	calls atomic.Int32 // handler runs
}

// newFixture serves handler at POST deferredRoute behind the key check and the idempotency
// middleware, on a fresh database.
func newFixture(t *testing.T, handler func(f *fixture, c *fiber.Ctx) error) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f := &fixture{t: t, pool: pool, org: uuid.New()}
	if _, err := pool.Exec(ctx, `INSERT INTO organisations (id, name, mode) VALUES ($1, 'Shop', 'test')`, f.org); err != nil {
		t.Fatal(err)
	}
	key, prefix, hash, err := auth.NewKey(auth.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO api_keys (organisation_id, prefix, hash, scopes) VALUES ($1, $2, $3, $4)`,
		f.org, prefix, hash, auth.AllScopes); err != nil {
		t.Fatal(err)
	}
	f.key = key

	log := slog.New(slog.DiscardHandler)
	f.app = httpapi.NewApp("idempotency-test", log)
	v1 := f.app.Group("/v1", auth.NewAuthenticator(pool, 0).Middleware(),
		idempotency.Middleware(pool, log, nil, http.MethodPost+" "+deferredRoute))
	v1.Post("/things", func(c *fiber.Ctx) error {
		f.calls.Add(1)
		return handler(f, c)
	})
	return f
}

// post sends body to the deferred route with an Idempotency-Key.
func (f *fixture) post(idempotencyKey, body string) (int, string, http.Header) {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, deferredRoute, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(idempotency.Header, idempotencyKey)
	resp, err := f.app.Test(req, 10_000)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

func (f *fixture) storedStatus(idempotencyKey string) int {
	f.t.Helper()
	var status int
	err := f.pool.QueryRow(context.Background(), `SELECT response_status FROM idempotency_keys
		WHERE organisation_id = $1 AND key = $2`, f.org, idempotencyKey).Scan(&status)
	if err != nil {
		f.t.Fatalf("read stored status: %v", err)
	}
	return status
}

// A handler that stores its key in its own transaction runs once, and a retry is replayed
// without running the handler.
func TestDeferredKeyStoredInTransaction(t *testing.T) {
	const body = `{"data":"made"}`
	f := newFixture(t, func(f *fixture, c *fiber.Ctx) error {
		d := idempotency.FromContext(c.UserContext())
		if d == nil {
			return apierr.Internal()
		}
		tx, err := f.pool.Begin(c.UserContext())
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.Background()) }()
		batch := &pgx.Batch{}
		d.Queue(batch, http.StatusCreated, []byte(body))
		if err := tx.SendBatch(c.UserContext(), batch).Close(); err != nil {
			return err
		}
		if err := d.Taken(); err != nil {
			return err
		}
		if err := tx.Commit(c.UserContext()); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(http.StatusCreated).SendString(body)
	})

	status, got, _ := f.post("k-1", `{"n":1}`)
	if status != http.StatusCreated || got != body {
		t.Fatalf("first request = %d %s", status, got)
	}
	status, got, header := f.post("k-1", `{"n":1}`)
	if status != http.StatusCreated || got != body || header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("retry = %d %s, replayed %q; want the first response replayed", status, got, header.Get(idempotency.ReplayedHeader))
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	if status, _, _ := f.post("k-1", `{"n":2}`); status != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body = %d, want 422", status)
	}
}

// A failure is stored for retries, which are replayed without running the handler.
func TestDeferredKeyStoresFailure(t *testing.T) {
	f := newFixture(t, func(f *fixture, c *fiber.Ctx) error {
		return apierr.New(http.StatusConflict, "slot_unavailable", "starts_at", "that slot was just taken")
	})
	if status, _, _ := f.post("k-2", `{"n":1}`); status != http.StatusConflict {
		t.Fatalf("first request = %d, want 409", status)
	}
	if got := f.storedStatus("k-2"); got != http.StatusConflict {
		t.Errorf("stored status = %d, want 409", got)
	}
	status, _, header := f.post("k-2", `{"n":1}`)
	if status != http.StatusConflict || header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("retry = %d, replayed %q; want the 409 replayed", status, header.Get(idempotency.ReplayedHeader))
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// A copy that fails while another copy of the same request stores its 201 gets that 201, so no
// copy contradicts what a retry will see.
func TestFailedCopyGetsStoredResponse(t *testing.T) {
	const winner = `{"data":"booked by the other copy"}`
	f := newFixture(t, func(f *fixture, c *fiber.Ctx) error {
		d := idempotency.FromContext(c.UserContext())
		// The other copy commits its key and response while this one runs.
		_, err := f.pool.Exec(c.UserContext(), `INSERT INTO idempotency_keys
				(organisation_id, key, fingerprint, response_status, response_body)
			VALUES ($1, $2, $3, 201, $4)`, d.OrganisationID, d.Key, d.Fingerprint, []byte(winner))
		if err != nil {
			return err
		}
		return apierr.New(http.StatusConflict, "slot_unavailable", "starts_at", "that slot was just taken")
	})
	status, got, header := f.post("k-3", `{"n":1}`)
	if status != http.StatusCreated || got != winner || header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("failed copy = %d %s, replayed %q; want the stored 201", status, got, header.Get(idempotency.ReplayedHeader))
	}
	if got := f.storedStatus("k-3"); got != http.StatusCreated {
		t.Errorf("stored status = %d, want the other copy's 201", got)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
)

func keysPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestCreateKeyChecksModeAndScopes(t *testing.T) {
	ctx := context.Background()
	pool := keysPool(t)
	org, err := createOrganisation(ctx, pool, uuid.New(), "Live shop", auth.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMode(ctx, pool, org, auth.ModeTest); err == nil || !strings.Contains(err.Error(), "live mode") {
		t.Errorf("test mode on a live organisation: %v", err)
	}
	if err := checkMode(ctx, pool, org, auth.ModeLive); err != nil {
		t.Errorf("matching mode rejected: %v", err)
	}
	if _, err := createKey(ctx, pool, org, []string{"catalog:wirte"}, 120, ""); err == nil || !strings.Contains(err.Error(), "catalog:wirte") {
		t.Errorf("misspelt scope: %v", err)
	}
	key, err := createKey(ctx, pool, org, []string{auth.ScopeCatalogRead}, 120, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "sk_live_") {
		t.Errorf("live organisation's key starts %.8s", key)
	}
}

func TestSetLimitAndRevoke(t *testing.T) {
	ctx := context.Background()
	pool := keysPool(t)
	org, err := createOrganisation(ctx, pool, uuid.New(), "Test shop", auth.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	key, err := createKey(ctx, pool, org, []string{auth.ScopeCatalogRead}, 120, "")
	if err != nil {
		t.Fatal(err)
	}
	authenticator := auth.NewAuthenticator(pool, 0)

	if err := setRateLimit(ctx, pool, auth.Prefix(key), 0); err == nil {
		t.Error("a limit of 0 was accepted")
	}
	if err := setRateLimit(ctx, pool, auth.Prefix(key), 600); err != nil {
		t.Fatal(err)
	}
	p, err := authenticator.Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.RateLimit != 600 {
		t.Errorf("rate limit after set-limit = %d, want 600", p.RateLimit)
	}

	if err := revokeKey(ctx, pool, auth.Prefix(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := authenticator.Lookup(ctx, key); err != auth.ErrUnknownKey {
		t.Errorf("revoked key lookup: %v, want ErrUnknownKey", err)
	}
	if err := revokeKey(ctx, pool, auth.Prefix(key)); err == nil {
		t.Error("revoking twice succeeded")
	}
}

func TestRecordKeyUseAtMostOncePerMinute(t *testing.T) {
	ctx := context.Background()
	pool := keysPool(t)
	org, err := createOrganisation(ctx, pool, uuid.New(), "Test shop", auth.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	key, err := createKey(ctx, pool, org, []string{auth.ScopeCatalogRead}, 120, "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := httpapi.NewApp("test", log)
	app.Use(auth.NewAuthenticator(pool, 0).Middleware(), recordKeyUse(pool, log))
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })

	lastUsed := func() *time.Time {
		var at *time.Time
		if err := pool.QueryRow(ctx, `SELECT last_used_at FROM api_keys WHERE prefix = $1`, auth.Prefix(key)).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if lastUsed() != nil {
		t.Fatal("a new key has a last use")
	}
	send := func() {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := app.Test(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request: %v, %v", resp, err)
		}
	}
	send()
	first := lastUsed()
	if first == nil {
		t.Fatal("last_used_at not written after a request")
	}
	// Move the stored time back so that a second write would show.
	if _, err := pool.Exec(ctx, `UPDATE api_keys SET last_used_at = last_used_at - interval '30 seconds'`); err != nil {
		t.Fatal(err)
	}
	send()
	if second := lastUsed(); !second.Equal(first.Add(-30 * time.Second)) {
		t.Errorf("last_used_at written again within a minute: %v then %v", first, second)
	}
}

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

func TestFindOrganisationByIDOrName(t *testing.T) {
	ctx := context.Background()
	pool := keysPool(t)
	shop, err := createOrganisation(ctx, pool, uuid.New(), "Camden Cutters", auth.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Twin Cuts", "Twin Cuts"} {
		if _, err := createOrganisation(ctx, pool, uuid.New(), name, auth.ModeTest); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := findOrganisation(ctx, pool, shop.String()); err != nil || got != shop {
		t.Errorf("by id: %s, %v; want %s", got, err, shop)
	}
	if got, err := findOrganisation(ctx, pool, "Camden Cutters"); err != nil || got != shop {
		t.Errorf("by name: %s, %v; want %s", got, err, shop)
	}
	if _, err := findOrganisation(ctx, pool, ""); err == nil || !strings.Contains(err.Error(), "-org is required") {
		t.Errorf("empty -org: %v", err)
	}
	if _, err := findOrganisation(ctx, pool, "Mayfair"); err == nil || !strings.Contains(err.Error(), "list-orgs") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := findOrganisation(ctx, pool, "Twin Cuts"); err == nil || !strings.Contains(err.Error(), "2 organisations") {
		t.Errorf("shared name: %v", err)
	}
}

func TestListOrganisationsCountsActiveKeys(t *testing.T) {
	ctx := context.Background()
	pool := keysPool(t)
	shop, err := createOrganisation(ctx, pool, uuid.New(), "Camden Cutters", auth.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createKey(ctx, pool, shop, []string{auth.ScopeAvailabilityRead}, 120, ""); err != nil {
		t.Fatal(err)
	}
	revoked, err := createKey(ctx, pool, shop, []string{auth.ScopeAvailabilityRead}, 120, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := revokeKey(ctx, pool, auth.Prefix(revoked)); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	if err := listOrganisations(ctx, pool, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("list-orgs printed %d lines, want a header and one organisation:\n%s", len(lines), out.String())
	}
	fields := strings.Fields(lines[1])
	if fields[0] != shop.String() {
		t.Errorf("id column %q, want %s", fields[0], shop)
	}
	if fields[1] != auth.ModeLive {
		t.Errorf("mode column %q, want %s", fields[1], auth.ModeLive)
	}
	if fields[2] != "1" {
		t.Errorf("active keys column %q, want 1 (one of two keys is revoked)", fields[2])
	}
	if !strings.HasSuffix(lines[1], "Camden Cutters") {
		t.Errorf("row %q does not end with the name", lines[1])
	}
}

// Package dbtest gives each test its own PostgreSQL database, copied from a migrated template,
// on the server named by TEST_DATABASE_URL. Without that variable the tests that need a
// database are skipped; `make test` always sets it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/setora/rest/shared/db"
)

// templateName changes whenever the migrations do, so a template of an older schema is never
// reused.
var templateName = "setora_template_" + db.MigrationsDigest()

// templateLock is the advisory lock that serialises template creation across test packages.
const templateLock = 74_301

// New creates an empty migrated database for t, drops it when t ends, and returns its URL for
// the owner role.
func New(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set; run the tests with `make test`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)

	if err := ensureTemplate(ctx, admin, base); err != nil {
		t.Fatalf("prepare template database: %v", err)
	}

	name := "setora_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return WithDatabase(base, name)
}

// ReaderURL returns the URL of the same database for the read-only role setora_reader.
func ReaderURL(t testing.TB, ownerURL string) string {
	t.Helper()
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	u.User = url.User("setora_reader")
	return u.String()
}

// WithDatabase returns base with its database name replaced.
func WithDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func ensureTemplate(ctx context.Context, admin *pgx.Conn, base string) error {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return err
	}
	defer func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLock) }()

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", templateName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := templateName + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return err
	}
	if _, err := db.Migrate(ctx, WithDatabase(base, building)); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, templateName))
	return err
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

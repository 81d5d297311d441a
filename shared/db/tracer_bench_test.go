package db_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/dbtest"
)

// BenchmarkQueryTracing compares one SELECT through a pool without a tracer and through a
// pool from Connect, whose otelpgx tracer runs with OpenTelemetry's no-op tracer provider
// (tracing off, the default).
func BenchmarkQueryTracing(b *testing.B) {
	url := dbtest.New(b)
	ctx := context.Background()
	plain, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(plain.Close)
	traced, err := db.Connect(ctx, url, 4)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(traced.Close)

	for _, tc := range []struct {
		name string
		pool *pgxpool.Pool
	}{{"no_tracer", plain}, {"otelpgx_tracing_off", traced}} {
		b.Run(tc.name, func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.pool.QueryRow(ctx, "SELECT $1::int", 1).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

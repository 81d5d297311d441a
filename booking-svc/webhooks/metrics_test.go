package webhooks

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/setora/rest/shared/dbtest"
)

func TestRefreshBacklogReadsOutboxQueueAndFailing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := MigrateQueue(ctx, pool); err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}

	org, endpoint, event := uuid.New(), uuid.New(), uuid.New()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("exec %q: %v", sql, err)
		}
	}
	exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Backlog', 'test')`, org)
	exec(`INSERT INTO outbox_events (id, organisation_id, type, sequence, payload, created_at)
		VALUES ($1, $2, 'booking.created', 1, '{}', now() - interval '90 seconds')`, event, org)
	exec(`INSERT INTO webhook_endpoints (id, organisation_id, url, event_types, secret, status, failing_since)
		VALUES ($1, $2, 'http://localhost/', '{*}', 'whsec_x', 'failing', now())`, endpoint, org)

	if err := m.refreshBacklog(ctx, pool); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := testutil.ToFloat64(m.outboxBacklog); got != 1 {
		t.Errorf("outbox backlog = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.outboxOldestAge); got < 90 {
		t.Errorf("outbox oldest age = %v s, want at least 90", got)
	}
	if got := testutil.ToFloat64(m.endpointsFailing); got != 1 {
		t.Errorf("failing endpoints = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.queueBacklog.WithLabelValues("available")); got != 0 {
		t.Errorf("available jobs = %v, want 0", got)
	}

	store, err := NewStore(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.Redeliver(ctx, org, endpoint, RedeliverInput{EventID: &event}); err != nil || n != 1 {
		t.Fatalf("redeliver = %d, %v", n, err)
	}
	if err := m.refreshBacklog(ctx, pool); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := testutil.ToFloat64(m.queueBacklog.WithLabelValues("available")); got != 1 {
		t.Errorf("available jobs = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.queueBacklog.WithLabelValues("retryable")); got != 0 {
		t.Errorf("retryable jobs = %v, want 0", got)
	}
}

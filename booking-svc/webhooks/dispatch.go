package webhooks

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// dispatcher moves committed outbox events into the delivery queue: in one transaction it claims
// undispatched events, queues one job per subscribed endpoint and marks the events dispatched.
// Events locked by another replica's dispatcher are skipped, not waited for.
type dispatcher struct {
	cfg     Config
	pool    *pgxpool.Pool
	river   *river.Client[pgx.Tx]
	log     *slog.Logger
	metrics *metrics
}

type outboxRow struct {
	id             uuid.UUID
	organisationID uuid.UUID
	bookingID      *uuid.UUID
	eventType      string
	sequence       int
}

type endpointRow struct {
	id             uuid.UUID
	organisationID uuid.UUID
	eventTypes     []string
}

// dispatchOnce handles one batch and returns how many events it dispatched.
func (d *dispatcher) dispatchOnce(ctx context.Context) (int, error) {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("begin dispatch transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	rows, err := tx.Query(ctx, `SELECT id, organisation_id, booking_id, type, sequence FROM outbox_events
		WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, d.cfg.DispatchBatch)
	if err != nil {
		return 0, fmt.Errorf("claim outbox events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var e outboxRow
		return e, r.Scan(&e.id, &e.organisationID, &e.bookingID, &e.eventType, &e.sequence)
	})
	if err != nil {
		return 0, fmt.Errorf("claim outbox events: %w", err)
	}
	if len(events) == 0 {
		return 0, nil
	}
	orderForDelivery(events)

	endpoints, err := d.subscribers(ctx, tx, events)
	if err != nil {
		return 0, err
	}
	var params []river.InsertManyParams
	ids := make([]uuid.UUID, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.id)
		for _, ep := range endpoints[e.organisationID] {
			if subscribed(ep.eventTypes, e.eventType) {
				params = append(params, river.InsertManyParams{Args: deliveryArgs{EndpointID: ep.id, EventID: e.id}})
			}
		}
	}
	if len(params) > 0 {
		if _, err := d.river.InsertManyTx(ctx, tx, params); err != nil {
			return 0, fmt.Errorf("queue deliveries: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox_events SET dispatched_at = now() WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("mark outbox events dispatched: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit dispatch transaction: %w", err)
	}
	d.metrics.eventsDispatched.Add(float64(len(events)))
	d.metrics.jobsQueued.Add(float64(len(params)))
	return len(events), nil
}

// orderForDelivery sorts a batch so that each booking's events are queued in sequence order.
// created_at is the start of the writing transaction, so two changes of one booking can carry
// creation times in the other order than their sequence numbers.
func orderForDelivery(events []outboxRow) {
	type keyed struct {
		group, sequence int
		row             outboxRow
	}
	first := map[uuid.UUID]int{}
	keys := make([]keyed, len(events))
	for i, e := range events {
		group := i
		if e.bookingID != nil {
			if g, seen := first[*e.bookingID]; seen {
				group = g
			} else {
				first[*e.bookingID] = i
			}
		}
		keys[i] = keyed{group: group, sequence: e.sequence, row: e}
	}
	slices.SortStableFunc(keys, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.sequence, b.sequence))
	})
	for i, k := range keys {
		events[i] = k.row
	}
}

// subscribers returns the enabled endpoints of the batch's organisations. Disabled and failing
// endpoints get no new events.
func (d *dispatcher) subscribers(ctx context.Context, tx pgx.Tx, events []outboxRow) (map[uuid.UUID][]endpointRow, error) {
	orgs := make([]uuid.UUID, 0, len(events))
	for _, e := range events {
		orgs = append(orgs, e.organisationID)
	}
	rows, err := tx.Query(ctx, `SELECT id, organisation_id, event_types FROM webhook_endpoints
		WHERE organisation_id = ANY($1) AND status = 'enabled' ORDER BY created_at, id`, orgs)
	if err != nil {
		return nil, fmt.Errorf("read subscribed endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (endpointRow, error) {
		var e endpointRow
		return e, r.Scan(&e.id, &e.organisationID, &e.eventTypes)
	})
	if err != nil {
		return nil, fmt.Errorf("read subscribed endpoints: %w", err)
	}
	byOrg := map[uuid.UUID][]endpointRow{}
	for _, e := range list {
		byOrg[e.organisationID] = append(byOrg[e.organisationID], e)
	}
	return byOrg, nil
}

// run dispatches until ctx ends: a full batch is followed at once by the next, otherwise it
// waits DispatchInterval. It refreshes the backlog gauges every BacklogInterval.
func (d *dispatcher) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastRefresh time.Time
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}

		n, err := d.dispatchOnce(ctx)
		wait := d.cfg.DispatchInterval
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			failures++
			// Back off while the database is failing, up to 30 intervals, and log each failure.
			wait = d.cfg.DispatchInterval * time.Duration(min(failures, 30))
			d.log.Error("webhook dispatch failed; retrying", "error", err.Error(), "retry_in", wait.String())
		case n == d.cfg.DispatchBatch:
			failures = 0
			wait = 0
		default:
			failures = 0
		}
		if err == nil {
			d.metrics.lastDispatch.SetToCurrentTime()
		}

		if time.Since(lastRefresh) >= d.cfg.BacklogInterval {
			lastRefresh = time.Now()
			if err := d.metrics.refreshBacklog(ctx, d.pool); err != nil && ctx.Err() == nil {
				d.log.Error("reading the webhook backlog failed", "error", err.Error())
			}
		}
		timer.Reset(wait)
	}
}

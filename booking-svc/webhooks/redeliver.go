package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// MaxRedeliveryEvents bounds the events one redelivery request may queue.
const MaxRedeliveryEvents = 1000

// RedeliverInput names what to send again: one event, or the events created in [From, To).
type RedeliverInput struct {
	EventID *uuid.UUID
	From    time.Time
	To      time.Time
	// OnlyUndelivered skips events of the range that this endpoint already acknowledged.
	OnlyUndelivered bool
}

// Redeliver queues fresh deliveries to an endpoint and returns how many it queued. One event is
// sent whatever the endpoint subscribes to; a range sends only the subscribed types, oldest
// first. Each redelivery is retried on the usual schedule. A disabled endpoint is refused; a
// failing one is accepted, and its first successful delivery enables it again.
func (s *Store) Redeliver(ctx context.Context, orgID, endpointID uuid.UUID, in RedeliverInput) (int, error) {
	if in.EventID == nil && !in.From.Before(in.To) {
		return 0, invalid("to", "to must be later than from")
	}
	var queued int
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var status string
		var eventTypes []string
		err := tx.QueryRow(ctx, `SELECT status, event_types FROM webhook_endpoints WHERE organisation_id = $1 AND id = $2`,
			orgID, endpointID).Scan(&status, &eventTypes)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEndpointNotFound
		}
		if err != nil {
			return fmt.Errorf("read endpoint %s: %w", endpointID, err)
		}
		if status == StatusDisabled {
			return ErrEndpointDisabled
		}

		ids, err := redeliveryEvents(ctx, tx, orgID, endpointID, eventTypes, in)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		params := make([]river.InsertManyParams, len(ids))
		for i, id := range ids {
			params[i] = river.InsertManyParams{Args: deliveryArgs{EndpointID: endpointID, EventID: id, Redelivery: true}}
		}
		if _, err := s.inserter.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue redeliveries: %w", err)
		}
		queued = len(ids)
		return nil
	})
	return queued, err
}

func redeliveryEvents(ctx context.Context, tx pgx.Tx, orgID, endpointID uuid.UUID, eventTypes []string, in RedeliverInput) ([]uuid.UUID, error) {
	if in.EventID != nil {
		var exists bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_events WHERE organisation_id = $1 AND id = $2)`,
			orgID, *in.EventID).Scan(&exists)
		if err != nil {
			return nil, fmt.Errorf("read event %s: %w", *in.EventID, err)
		}
		if !exists {
			return nil, ErrEventNotFound
		}
		return []uuid.UUID{*in.EventID}, nil
	}

	all := slices.Contains(eventTypes, AllEventTypes)
	rows, err := tx.Query(ctx, `SELECT ev.id FROM outbox_events ev
		WHERE ev.organisation_id = $1 AND ev.created_at >= $2 AND ev.created_at < $3
			AND ($4 OR ev.type = ANY($5))
			AND NOT ($6 AND EXISTS (SELECT 1 FROM webhook_deliveries d
				WHERE d.endpoint_id = $7 AND d.event_id = ev.id AND d.outcome = 'succeeded'))
		ORDER BY ev.created_at, ev.id LIMIT $8`,
		orgID, in.From, in.To, all, eventTypes, in.OnlyUndelivered, endpointID, MaxRedeliveryEvents+1)
	if err != nil {
		return nil, fmt.Errorf("find events to redeliver: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("find events to redeliver: %w", err)
	}
	if len(ids) > MaxRedeliveryEvents {
		return nil, ErrTooManyRedelivery
	}
	return ids, nil
}

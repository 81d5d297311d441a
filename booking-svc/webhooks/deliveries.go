package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Delivery is one attempt in an endpoint's delivery log.
type Delivery struct {
	ID         uuid.UUID
	EndpointID uuid.UUID
	EventID    uuid.UUID
	EventType  string
	Attempt    int
	Redelivery bool
	// Outcome is "succeeded" or "failed".
	Outcome string
	// StatusCode is nil when no HTTP response arrived.
	StatusCode *int
	Latency    time.Duration
	Error      string
	CreatedAt  time.Time
}

// DeliveryFilter narrows a delivery log; a nil EventID does not filter.
type DeliveryFilter struct {
	EventID *uuid.UUID
}

// ListDeliveries returns a page of an endpoint's delivery log, newest first.
func (s *Store) ListDeliveries(ctx context.Context, orgID, endpointID uuid.UUID, filter DeliveryFilter, page Page) ([]*Delivery, *Cursor, error) {
	if _, err := s.GetEndpoint(ctx, orgID, endpointID); err != nil {
		return nil, nil, err
	}
	var afterTime *time.Time
	var afterID *uuid.UUID
	if page.After != nil {
		afterTime, afterID = &page.After.CreatedAt, &page.After.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.endpoint_id, d.event_id, ev.type, d.attempt, d.redelivery, d.outcome,
			d.status_code, d.latency_ms, d.error, d.created_at
		FROM webhook_deliveries d JOIN outbox_events ev ON ev.id = d.event_id
		WHERE d.organisation_id = $1 AND d.endpoint_id = $2
			AND ($3::uuid IS NULL OR d.event_id = $3)
			AND ($4::timestamptz IS NULL OR (d.created_at, d.id) < ($4, $5::uuid))
		ORDER BY d.created_at DESC, d.id DESC LIMIT $6`,
		orgID, endpointID, filter.EventID, afterTime, afterID, page.Limit+1)
	if err != nil {
		return nil, nil, fmt.Errorf("list deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Delivery, error) {
		var d Delivery
		var latencyMS int64
		err := r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.Attempt, &d.Redelivery, &d.Outcome,
			&d.StatusCode, &latencyMS, &d.Error, &d.CreatedAt)
		d.Latency = time.Duration(latencyMS) * time.Millisecond
		return &d, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list deliveries: %w", err)
	}
	list, next := pageOf(list, page.Limit, func(d *Delivery) Cursor { return Cursor{CreatedAt: d.CreatedAt, ID: d.ID} })
	return list, next, nil
}

// Package notify defines the change notification that booking-svc sends with pg_notify inside
// each write transaction and that every availability-svc replica LISTENs for.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL notification channel.
const Channel = "setora_changes"

// Kinds of change.
const (
	// KindSchedule: bookings, hours or time off changed for the listed locations and dates.
	KindSchedule = "schedule"
	// KindCatalogue: a location, service or staff record changed; catalogue entries of the
	// organisation are stale, and so are all dates of the listed locations.
	KindCatalogue = "catalogue"
	// KindOrganisation: keys or the test clock changed.
	KindOrganisation = "organisation"
)

// maxDates caps the dates listed; a change touching more sets AllDates instead, which keeps the
// payload far below PostgreSQL's 8000-byte limit.
const maxDates = 62

// Change is one notification's payload.
type Change struct {
	// ID is unique per notification, so the sender can recognise its own when it comes back.
	ID             string      `json:"id"`
	Kind           string      `json:"kind"`
	OrganisationID uuid.UUID   `json:"organisation_id"`
	LocationIDs    []uuid.UUID `json:"location_ids,omitempty"`
	// Dates are local dates (YYYY-MM-DD) at the listed locations.
	Dates    []string `json:"dates,omitempty"`
	AllDates bool     `json:"all_dates,omitempty"`
	// CommittedAt is read just before commit, so eviction lag can be measured from it.
	CommittedAt time.Time `json:"committed_at"`
	// TraceParent is the W3C trace context of the transaction that made the change.
	TraceParent string `json:"traceparent,omitempty"`
}

// SetDates lists dates, or sets AllDates when there are too many to list.
func (c *Change) SetDates(dates []string) {
	if len(dates) > maxDates {
		c.Dates = nil
		c.AllDates = true
		return
	}
	c.Dates = dates
}

// Send queues the notification in tx; PostgreSQL delivers it only if tx commits. It returns the
// notification's ID.
func Send(ctx context.Context, tx pgx.Tx, change Change) (string, error) {
	if change.ID == "" {
		change.ID = uuid.NewString()
	}
	change.CommittedAt = time.Now().UTC()
	payload, err := json.Marshal(change)
	if err != nil {
		return "", fmt.Errorf("encode change notification: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, string(payload)); err != nil {
		return "", fmt.Errorf("send change notification: %w", err)
	}
	return change.ID, nil
}

// Parse decodes a notification payload.
func Parse(payload string) (Change, error) {
	var c Change
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		return c, fmt.Errorf("decode change notification: %w", err)
	}
	return c, nil
}

package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// APIVersion is the version of the event shape, sent in every event.
const APIVersion = "v1"

// EventTypes lists every type an endpoint can subscribe to, one per booking transition.
var EventTypes = []string{
	"booking.created",
	"booking.confirmed",
	"booking.rescheduled",
	"booking.cancelled",
	"booking.expired",
	"booking.completed",
	"booking.no_show",
}

// AllEventTypes is the subscription that matches every type, including types added later.
const AllEventTypes = "*"

// Event is an outbox event as integrators receive it, in a webhook body and from GET /v1/events.
type Event struct {
	ID           uuid.UUID         `json:"id"`
	Type         string            `json:"type"`
	CreatedAt    string            `json:"created_at"`
	APIVersion   string            `json:"api_version"`
	Organisation EventOrganisation `json:"organisation"`
	// Sequence is the booking's version after the change: it grows by one with every change of
	// that booking, so a consumer can drop an event older than one it has already applied.
	Sequence int       `json:"sequence"`
	Data     EventData `json:"data"`

	createdAt time.Time
	bookingID *uuid.UUID
}

// EventOrganisation names the organisation whose booking changed.
type EventOrganisation struct {
	ID   uuid.UUID `json:"id"`
	Mode string    `json:"mode"`
}

// EventData holds the object that changed.
type EventData struct {
	// Booking is the booking as GET /v1/bookings/{id} returned it just after the change.
	Booking json.RawMessage `json:"booking"`
}

// timeFormat writes instants in UTC as RFC 3339 with microseconds and a +00:00 offset.
const timeFormat = "2006-01-02T15:04:05.000000-07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// Body returns the JSON document sent as the webhook body. Encoding an event is deterministic,
// so every attempt sends the same bytes.
func (e *Event) Body() ([]byte, error) {
	return json.Marshal(e)
}

const eventColumns = `ev.id, ev.type, ev.created_at, ev.organisation_id, org.mode, ev.sequence, ev.payload, ev.booking_id`

func scanEvent(row pgx.Row) (*Event, error) {
	var e Event
	var payload []byte
	err := row.Scan(&e.ID, &e.Type, &e.createdAt, &e.Organisation.ID, &e.Organisation.Mode, &e.Sequence, &payload, &e.bookingID)
	if err != nil {
		return nil, err
	}
	e.CreatedAt = formatTime(e.createdAt)
	e.APIVersion = APIVersion
	e.Data.Booking = payload
	return &e, nil
}

// ErrEventNotFound means no event with that id exists in the organisation.
var ErrEventNotFound = errors.New("event not found")

// GetEvent returns one event of the organisation.
func (s *Store) GetEvent(ctx context.Context, orgID, id uuid.UUID) (*Event, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+`
		FROM outbox_events ev JOIN organisations org ON org.id = ev.organisation_id
		WHERE ev.organisation_id = $1 AND ev.id = $2`, orgID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEventNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read event %s: %w", id, err)
	}
	return e, nil
}

// EventFilter narrows a list of events. Empty fields do not filter.
type EventFilter struct {
	Type string
	// Booking is a booking's id or its reference such as SET-7KQ2MX.
	Booking string
}

// ListEvents returns a page of the organisation's events, newest first.
func (s *Store) ListEvents(ctx context.Context, orgID uuid.UUID, filter EventFilter, page Page) ([]*Event, *Cursor, error) {
	where := []string{"ev.organisation_id = $1"}
	args := []any{orgID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if filter.Type != "" {
		where = append(where, "ev.type = "+arg(filter.Type))
	}
	if filter.Booking != "" {
		if id, err := uuid.Parse(filter.Booking); err == nil {
			where = append(where, "ev.booking_id = "+arg(id))
		} else {
			where = append(where, "ev.booking_id = (SELECT id FROM bookings WHERE organisation_id = $1 AND reference = "+
				arg(strings.ToUpper(filter.Booking))+")")
		}
	}
	if page.After != nil {
		where = append(where, fmt.Sprintf("(ev.created_at, ev.id) < (%s, %s)", arg(page.After.CreatedAt), arg(page.After.ID)))
	}

	sql := `SELECT ` + eventColumns + ` FROM outbox_events ev JOIN organisations org ON org.id = ev.organisation_id
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY ev.created_at DESC, ev.id DESC LIMIT ` + arg(page.Limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list events: %w", err)
	}

	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, nil, fmt.Errorf("list events: %w", err)
	}
	events, next := pageOf(events, page.Limit, func(e *Event) Cursor { return Cursor{CreatedAt: e.createdAt, ID: e.ID} })
	return events, next, nil
}

// subscribed reports whether an endpoint with these event types wants eventType.
func subscribed(eventTypes []string, eventType string) bool {
	return slices.Contains(eventTypes, AllEventTypes) || slices.Contains(eventTypes, eventType)
}

// CheckEventTypes validates a subscription list: known types or "*", each once.
func CheckEventTypes(types []string) error {
	if len(types) == 0 {
		return invalid("event_types", "event_types must list at least one event type, or [\"*\"] for all; known types: %s",
			strings.Join(EventTypes, ", "))
	}
	seen := map[string]bool{}
	for i, t := range types {
		param := fmt.Sprintf("event_types[%d]", i)
		if t != AllEventTypes && !slices.Contains(EventTypes, t) {
			return invalid(param, "%s %q is not a known event type; use one of %s, or \"*\" for all", param, t, strings.Join(EventTypes, ", "))
		}
		if seen[t] {
			return invalid(param, "%s repeats event type %q; list each type once", param, t)
		}
		seen[t] = true
	}
	return nil
}

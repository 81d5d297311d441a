package bookings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ListFilter narrows a booking list. Zero fields do not filter.
type ListFilter struct {
	LocationSlug string
	StaffID      uuid.UUID
	ClientID     uuid.UUID
	// Statuses match the status as callers see it: a hold past its expiry is expired.
	Statuses []string
	// StartsFrom and StartsBefore bound the start time, as [StartsFrom, StartsBefore).
	StartsFrom   time.Time
	StartsBefore time.Time
}

// canonical writes the filter in one fixed form, for binding cursors to it.
func (f ListFilter) canonical() string {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMicro(), 10)
	}
	return strings.Join([]string{f.LocationSlug, f.StaffID.String(), f.ClientID.String(),
		strings.Join(f.Statuses, ","), at(f.StartsFrom), at(f.StartsBefore)}, "|")
}

// bookingList names the booking list in its cursors.
const bookingList = "b1"

// effectiveStatus is the status as callers see it, in SQL; its parameter is now.
const effectiveStatus = `CASE WHEN b.status = 'held' AND b.hold_expires_at <= ? THEN 'expired' ELSE b.status END`

// List returns one page of the organisation's bookings that match f, ordered by start and then
// id. Every filter and the page position are applied in SQL, so each page but the last is
// full. Bookings added while a caller pages appear once or not at all, in their place in the
// order. A booking rescheduled meanwhile moves in the order, so it may be seen twice or missed.
func (s *Store) List(ctx context.Context, orgID uuid.UUID, now time.Time, f ListFilter, page PageRequest) (Page[*Booking], error) {
	filters := f.canonical()
	args := []any{orgID}
	conds := []string{"b.organisation_id = $1"}
	add := func(cond string, values ...any) {
		for _, v := range values {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}

	if f.LocationSlug != "" {
		add("l.slug = ?", f.LocationSlug)
	}
	if f.StaffID != uuid.Nil {
		add("b.staff_id = ?", f.StaffID)
	}
	if f.ClientID != uuid.Nil {
		add("b.client_id = ?", f.ClientID)
	}
	if len(f.Statuses) > 0 {
		add(effectiveStatus+" = ANY(?)", now, f.Statuses)
	}
	if !f.StartsFrom.IsZero() {
		add("b.starts_at >= ?", f.StartsFrom)
	}
	if !f.StartsBefore.IsZero() {
		add("b.starts_at < ?", f.StartsBefore)
	}
	if page.Cursor != "" {
		after, err := decodeCursor(bookingList, filters, page.Cursor)
		if err != nil {
			return Page[*Booking]{}, err
		}
		add("(b.starts_at, b.id) > (?, ?)", after.at, after.id)
	}

	limit := pageLimit(page.Limit)
	sql := `SELECT ` + bookingColumns + ` FROM bookings b JOIN locations l ON l.id = b.location_id
		WHERE ` + strings.Join(conds, " AND ") + `
		ORDER BY b.starts_at, b.id LIMIT ` + strconv.Itoa(limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return Page[*Booking]{}, fmt.Errorf("list bookings: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Booking, error) { return scanBooking(r) })
	if err != nil {
		return Page[*Booking]{}, fmt.Errorf("list bookings: %w", err)
	}

	if len(list) == 0 {
		if err := s.checkListTargets(ctx, orgID, f); err != nil {
			return Page[*Booking]{}, err
		}
	}
	result := Page[*Booking]{Items: list}
	if len(list) > limit {
		result.Items, result.HasMore = list[:limit], true
		last := result.Items[limit-1]
		result.NextCursor = encodeCursor(bookingList, filters, position{at: last.StartsAt, id: last.ID})
	}
	if err := loadServices(ctx, s.pool, result.Items); err != nil {
		return Page[*Booking]{}, err
	}
	for _, b := range result.Items {
		b.settle(now)
	}
	return result, nil
}

// checkListTargets reports a location, staff member or client named by the filter that the
// organisation does not have, so that a misspelt filter is a 404 rather than an empty list. It
// runs only for an empty page; inactive staff and erased clients count as existing, because
// their bookings remain.
func (s *Store) checkListTargets(ctx context.Context, orgID uuid.UUID, f ListFilter) error {
	if f.LocationSlug == "" && f.StaffID == uuid.Nil && f.ClientID == uuid.Nil {
		return nil
	}
	var location, staff, client bool
	err := s.pool.QueryRow(ctx, `SELECT
			$2 = '' OR EXISTS (SELECT 1 FROM locations WHERE organisation_id = $1 AND slug = $2),
			$3::uuid IS NULL OR EXISTS (SELECT 1 FROM staff WHERE organisation_id = $1 AND id = $3),
			$4::uuid IS NULL OR EXISTS (SELECT 1 FROM clients WHERE organisation_id = $1 AND id = $4)`,
		orgID, f.LocationSlug, nullUUID(f.StaffID), nullUUID(f.ClientID)).Scan(&location, &staff, &client)
	if err != nil {
		return fmt.Errorf("check list filters: %w", err)
	}
	switch {
	case !location:
		return ErrLocationNotFound
	case !staff:
		return ErrStaffNotFound
	case !client:
		return ErrClientNotFound
	}
	return nil
}

// nullUUID turns the zero UUID into SQL NULL.
func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

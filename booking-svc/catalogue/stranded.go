package catalogue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// Stranded is a future booking that a committed change left outside the hours the engine would
// now offer. The booking keeps its time and status; the shop decides whether to move it.
type Stranded struct {
	ID           uuid.UUID `json:"id"`
	Reference    string    `json:"reference"`
	Status       string    `json:"status"`
	LocationSlug string    `json:"location_slug"`
	StaffID      uuid.UUID `json:"staff_id"`
	StartsAt     string    `json:"starts_at"`
	EndsAt       string    `json:"ends_at"`
	// Reason is outside_hours, on_break, time_off, service_not_performed or staff_inactive.
	Reason string `json:"reason"`
}

// strandScope selects the bookings a change can affect. Zero fields do not filter; from and to
// keep the bookings whose blocked interval overlaps [from, to).
type strandScope struct {
	locationID uuid.UUID
	staffID    uuid.UUID
	serviceID  uuid.UUID
	from, to   time.Time
}

// maxStrandChecks bounds the bookings one change re-checks, so that a change to a busy
// location stays quick. NOTE: past it, later bookings are not reported.
const maxStrandChecks = 1000

// activeBooking is a future booking as the re-check needs it.
type activeBooking struct {
	id, locationID, staffID uuid.UUID
	reference, status, slug string
	start, end              time.Time
	blocked                 slots.Interval
	services                []slots.Service
	staffActive             bool
	servicesActive          bool
}

// findStranded re-checks, with the slot engine on the rows this transaction reads, every future
// confirmed booking and live hold in scope. Notice, booking window and the slot grid are left
// out of the check: they govern new bookings, not ones already made.
func findStranded(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, now time.Time, scope strandScope) ([]Stranded, error) {
	bookings, err := activeBookings(ctx, tx, orgID, now, scope)
	if err != nil || len(bookings) == 0 {
		return nil, err
	}
	byLocation := map[uuid.UUID][]*activeBooking{}
	var order []uuid.UUID
	for _, b := range bookings {
		if byLocation[b.locationID] == nil {
			order = append(order, b.locationID)
		}
		byLocation[b.locationID] = append(byLocation[b.locationID], b)
	}

	var out []Stranded
	for _, locID := range order {
		found, err := strandedAt(ctx, tx, orgID, locID, now, byLocation[locID])
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func activeBookings(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, now time.Time, scope strandScope) ([]*activeBooking, error) {
	var from, to *time.Time
	if !scope.from.IsZero() {
		from, to = &scope.from, &scope.to
	}
	rows, err := tx.Query(ctx, `SELECT b.id, b.reference, b.status, b.location_id, l.slug, b.staff_id, b.starts_at, b.ends_at,
			lower(b.blocked), upper(b.blocked), st.active,
			NOT EXISTS (SELECT 1 FROM booking_services bs JOIN services sv ON sv.id = bs.service_id
				WHERE bs.booking_id = b.id AND NOT sv.active)
		FROM bookings b JOIN locations l ON l.id = b.location_id JOIN staff st ON st.id = b.staff_id
		WHERE b.organisation_id = $1 AND b.starts_at >= $2
		AND (b.status = 'confirmed' OR (b.status = 'held' AND b.hold_expires_at > $2))
		AND ($3::uuid IS NULL OR b.location_id = $3)
		AND ($4::uuid IS NULL OR b.staff_id = $4)
		AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM booking_services bs WHERE bs.booking_id = b.id AND bs.service_id = $5))
		AND ($6::timestamptz IS NULL OR b.blocked && tstzrange($6, $7))
		ORDER BY b.starts_at, b.id LIMIT $8`,
		orgID, now, nullID(scope.locationID), nullID(scope.staffID), nullID(scope.serviceID), from, to, maxStrandChecks)
	if err != nil {
		return nil, fmt.Errorf("read future bookings: %w", err)
	}
	bookings, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*activeBooking, error) {
		var b activeBooking
		err := r.Scan(&b.id, &b.reference, &b.status, &b.locationID, &b.slug, &b.staffID, &b.start, &b.end,
			&b.blocked.Start, &b.blocked.End, &b.staffActive, &b.servicesActive)
		return &b, err
	})
	if err != nil {
		return nil, fmt.Errorf("read future bookings: %w", err)
	}
	if len(bookings) == 0 {
		return nil, nil
	}

	byID := map[uuid.UUID]*activeBooking{}
	ids := make([]uuid.UUID, len(bookings))
	for i, b := range bookings {
		byID[b.id], ids[i] = b, b.id
	}
	rows, err = tx.Query(ctx, `SELECT booking_id, service_id, duration_minutes, buffer_before_minutes, buffer_after_minutes
		FROM booking_services WHERE booking_id = ANY($1) ORDER BY booking_id, position`, ids)
	if err != nil {
		return nil, fmt.Errorf("read booked services: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bookingID uuid.UUID
		var s slots.Service
		var duration, before, after int
		if err := rows.Scan(&bookingID, &s.ID, &duration, &before, &after); err != nil {
			return nil, fmt.Errorf("read booked services: %w", err)
		}
		s.Duration = time.Duration(duration) * time.Minute
		s.BufferBefore = time.Duration(before) * time.Minute
		s.BufferAfter = time.Duration(after) * time.Minute
		byID[bookingID].services = append(byID[bookingID].services, s)
	}
	return bookings, rows.Err()
}

func nullID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// strandedAt checks the bookings of one location against its schedule, read once for all their
// dates.
func strandedAt(ctx context.Context, tx pgx.Tx, orgID, locID uuid.UUID, now time.Time, bookings []*activeBooking) ([]Stranded, error) {
	loc, err := schedule.LocationByID(ctx, tx, orgID, locID)
	if err != nil {
		return nil, fmt.Errorf("read location %s: %w", locID, err)
	}
	// A booking belongs to the day its window starts, which may be the day before its start.
	first := slots.DateOf(bookings[0].start, loc.Zone).AddDays(-1)
	last := first
	for _, b := range bookings {
		if d := slots.DateOf(b.start, loc.Zone); d.Compare(last) > 0 {
			last = d
		}
	}
	var dates []slots.Date
	for d := first; d.Compare(last) <= 0; d = d.AddDays(1) {
		dates = append(dates, d)
	}
	days, err := schedule.LoadDays(ctx, tx, loc, dates)
	if err != nil {
		return nil, fmt.Errorf("read schedule of location %s: %w", locID, err)
	}
	for i := range days {
		// Only the hours count: any start on the minute, no notice, no window limit.
		days[i].Rules.StepMinutes = 1
		days[i].Rules.NoticeMinutes = 0
		days[i].Rules.WindowDays = 100000
	}

	var out []Stranded
	for _, b := range bookings {
		i := 0
		for i+1 < len(days) && slots.DateOf(b.start, loc.Zone).Compare(days[i+1].Date) >= 0 {
			i++
		}
		var reason string
		switch {
		case !b.staffActive:
			reason = "staff_inactive"
		case !b.servicesActive:
			reason = "service_not_performed"
		default:
			window := withoutBooking(days[max(i-1, 0):i+1], b)
			_, err := slots.Check(window, slots.Query{Services: b.services, StaffID: b.staffID, Now: now}, b.start)
			reason = strandReason(err)
		}
		if reason == "" {
			continue
		}
		out = append(out, Stranded{
			ID: b.id, Reference: b.reference, Status: b.status, LocationSlug: b.slug, StaffID: b.staffID,
			StartsAt: b.start.In(loc.Zone).Format(offsetTime), EndsAt: b.end.In(loc.Zone).Format(offsetTime), Reason: reason,
		})
	}
	return out, nil
}

// withoutBooking copies days with the booking's own blocked interval taken out of its staff
// member's busy time, so the booking does not conflict with itself.
func withoutBooking(days []slots.DaySchedule, b *activeBooking) []slots.DaySchedule {
	out := make([]slots.DaySchedule, len(days))
	for i, d := range days {
		d.Staff = append([]slots.StaffDay(nil), d.Staff...)
		for j := range d.Staff {
			if d.Staff[j].StaffID != b.staffID {
				continue
			}
			var busy []slots.Busy
			for _, x := range d.Staff[j].Busy {
				if !x.Interval.Start.Equal(b.blocked.Start) || !x.Interval.End.Equal(b.blocked.End) {
					busy = append(busy, x)
				}
			}
			d.Staff[j].Busy = busy
		}
		out[i] = d
	}
	return out
}

// strandReason names why the engine would not offer the booking now, or returns "" when it
// would or when only another booking blocks it.
func strandReason(err error) string {
	switch {
	case err == nil, errors.Is(err, slots.ErrSlotTaken), errors.Is(err, slots.ErrInvalidQuery):
		return ""
	case errors.Is(err, slots.ErrServiceNotPerformed):
		return "service_not_performed"
	case errors.Is(err, slots.ErrTimeOff):
		return "time_off"
	case errors.Is(err, slots.ErrOnBreak):
		return "on_break"
	case errors.Is(err, slots.ErrOutsideHours):
		return "outside_hours"
	default:
		return ""
	}
}

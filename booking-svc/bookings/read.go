package bookings

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

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

const bookingColumns = `b.id, b.reference, b.organisation_id, b.location_id, l.slug, l.time_zone, b.staff_id, b.client_id,
	b.status, b.starts_at, b.ends_at, b.hold_expires_at, b.notes, b.source, b.cancel_reason, b.cancelled_by,
	b.cancelled_at, b.confirmed_at, b.deposit_amount_minor, b.deposit_currency, b.payment_reference, b.version,
	b.created_at, b.updated_at`

func scanBooking(row pgx.Row) (*Booking, error) {
	var b Booking
	var depositAmount *int64
	var depositCurrency, paymentRef *string
	err := row.Scan(&b.ID, &b.Reference, &b.OrganisationID, &b.LocationID, &b.LocationSlug, &b.TimeZone, &b.StaffID,
		&b.ClientID, &b.Status, &b.StartsAt, &b.EndsAt, &b.HoldExpiresAt, &b.Notes, &b.Source, &b.CancelReason,
		&b.CancelledBy, &b.CancelledAt, &b.ConfirmedAt, &depositAmount, &depositCurrency, &paymentRef, &b.Version,
		&b.CreatedAt, &b.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if depositAmount != nil {
		b.Deposit = &Deposit{AmountMinor: *depositAmount}
		if depositCurrency != nil {
			b.Deposit.Currency = *depositCurrency
		}
		if paymentRef != nil {
			b.Deposit.PaymentReference = *paymentRef
		}
	}
	return &b, nil
}

// IsReference reports whether s has the shape of a booking reference such as SET-A1B2C3.
func IsReference(s string) bool {
	return len(s) == 10 && strings.HasPrefix(s, "SET-")
}

// getBooking reads a booking by id or reference within the organisation, optionally locking it.
func getBooking(ctx context.Context, q schedule.Querier, orgID uuid.UUID, idOrRef string, lock bool) (*Booking, error) {
	where := "b.reference = $2"
	var key any = strings.ToUpper(idOrRef)
	if id, err := uuid.Parse(idOrRef); err == nil {
		where, key = "b.id = $2", id
	} else if !IsReference(strings.ToUpper(idOrRef)) {
		return nil, ErrNotFound
	}
	sql := `SELECT ` + bookingColumns + ` FROM bookings b JOIN locations l ON l.id = b.location_id
		WHERE b.organisation_id = $1 AND ` + where
	if lock {
		sql += " FOR UPDATE OF b"
	}
	b, err := scanBooking(q.QueryRow(ctx, sql, orgID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read booking: %w", err)
	}
	if err := loadServices(ctx, q, []*Booking{b}); err != nil {
		return nil, err
	}
	return b, nil
}

// loadServices fills the services of each booking with one query.
func loadServices(ctx context.Context, q schedule.Querier, list []*Booking) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(list))
	byID := make(map[uuid.UUID]*Booking, len(list))
	for i, b := range list {
		ids[i] = b.ID
		byID[b.ID] = b
		b.Services = b.Services[:0]
	}
	rows, err := q.Query(ctx, `SELECT bs.booking_id, bs.service_id, s.name, bs.duration_minutes, bs.buffer_before_minutes,
			bs.buffer_after_minutes, bs.price_minor, bs.deposit_minor, bs.currency
		FROM booking_services bs JOIN services s ON s.id = bs.service_id
		WHERE bs.booking_id = ANY($1) ORDER BY bs.booking_id, bs.position`, ids)
	if err != nil {
		return fmt.Errorf("read booking services: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bookingID uuid.UUID
		var s BookedService
		if err := rows.Scan(&bookingID, &s.ServiceID, &s.Name, &s.DurationMinutes, &s.BufferBeforeMinutes,
			&s.BufferAfterMinutes, &s.PriceMinor, &s.DepositMinor, &s.Currency); err != nil {
			return fmt.Errorf("read booking services: %w", err)
		}
		byID[bookingID].Services = append(byID[bookingID].Services, s)
	}
	return rows.Err()
}

// Get returns a booking by id or reference. A hold past its expiry at now reads as expired.
func (s *Store) Get(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string) (*Booking, error) {
	b, err := getBooking(ctx, s.pool, orgID, idOrRef, false)
	if err != nil {
		return nil, err
	}
	b.settle(now)
	return b, nil
}

// writeEvent adds the booking's event to the outbox in the same transaction as its change.
func writeEvent(ctx context.Context, tx *writeTx, b *Booking, eventType string) error {
	payload, err := json.Marshal(b.View(slots.DisplayDuration))
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox_events (organisation_id, booking_id, type, sequence, payload)
		VALUES ($1, $2, $3, $4, $5)`, b.OrganisationID, b.ID, eventType, b.Version, payload)
	if err != nil {
		return fmt.Errorf("write %s event: %w", eventType, err)
	}
	tx.outcomes = append(tx.outcomes, outcomeOfEvent(eventType, b.Status))
	return nil
}

// alternativesWanted is how many bookable slots a 409 offers.
const alternativesWanted = 3

// alternativeSpanDays is how far around the requested start alternatives are sought.
const alternativeSpanDays = 3

// alternatives finds the slots nearest to the requested start with the same services and staff
// rule. It reads outside the failed transaction; an error only means no alternatives.
func (s *Store) alternatives(ctx context.Context, orgID uuid.UUID, now time.Time, in CreateInput) ([]slots.Slot, *time.Location) {
	loc, err := schedule.LocationBySlug(ctx, s.pool, orgID, in.LocationSlug)
	if err != nil {
		return nil, nil
	}
	services, err := schedule.Services(ctx, s.pool, orgID, in.ServiceIDs)
	if err != nil {
		return nil, loc.Zone
	}
	return s.nearestSlots(ctx, loc, engineServices(services), in.StaffID, now, in.StartsAt, nil), loc.Zone
}

// nearestSlots returns up to alternativesWanted bookable slots nearest to start, reading
// outside any transaction. except, when not nil, does not count as busy. An error only means
// no slots.
func (s *Store) nearestSlots(ctx context.Context, loc *schedule.Location, services []slots.Service, staffID uuid.UUID,
	now, start time.Time, except *ownBlock) []slots.Slot {
	day := slots.DateOf(start, loc.Zone)
	dates := make([]slots.Date, 0, 2*alternativeSpanDays+1)
	for i := -alternativeSpanDays; i <= alternativeSpanDays; i++ {
		dates = append(dates, day.AddDays(i))
	}
	days, err := schedule.LoadDays(ctx, s.pool, loc, dates)
	if err != nil {
		return nil
	}
	except.removeFrom(days)
	q := slots.Query{Services: services, StaffID: staffID, Now: now}
	if except == nil {
		return slots.Alternatives(days, q, start, alternativesWanted)
	}
	// The booking's own start with its own staff member is where it already is, not an
	// alternative. When it is among the nearest, the next nearest takes its place.
	found := slots.Alternatives(days, q, start, alternativesWanted+1)
	own := slices.IndexFunc(found, func(slot slots.Slot) bool {
		return slot.StaffID == except.staffID && slot.Start.Equal(except.start)
	})
	if own < 0 {
		return slots.Alternatives(days, q, start, alternativesWanted)
	}
	return slices.Delete(found, own, own+1)
}

// ownBlock is the blocked interval of the booking being rescheduled, which must not conflict
// with the booking itself.
type ownBlock struct {
	staffID  uuid.UUID
	start    time.Time // the booking's start, without the buffer before
	interval slots.Interval
}

// removeFrom drops the interval from its staff member's busy intervals on every day. The
// exclusion constraint keeps a staff member's active intervals disjoint, so the interval
// matches only the booking's own. A nil ownBlock removes nothing.
func (o *ownBlock) removeFrom(days []slots.DaySchedule) {
	if o == nil {
		return
	}
	for i := range days {
		for j := range days[i].Staff {
			staff := &days[i].Staff[j]
			if staff.StaffID != o.staffID {
				continue
			}
			// Days may share one busy slice, so build a new one rather than edit it in place.
			kept := make([]slots.Busy, 0, len(staff.Busy))
			for _, busy := range staff.Busy {
				if !busy.Interval.Start.Equal(o.interval.Start) || !busy.Interval.End.Equal(o.interval.End) {
					kept = append(kept, busy)
				}
			}
			staff.Busy = kept
		}
	}
}

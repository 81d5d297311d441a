package bookings

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// Reschedule moves a held or confirmed booking to a new start, and optionally to another staff
// member, keeping its id, reference, services and location. The slot engine re-checks the new
// start as it does for a new booking, except that the booking's own current interval does not
// count as busy, so a booking may move to a start that overlaps where it is now. A hold keeps
// its expiry.
//
// The services are the ones recorded on the booking, with the durations and buffers that
// applied when it was made. A taken slot is a *SlotTakenError with alternatives.
func (s *Store) Reschedule(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string, in RescheduleInput) (*Booking, error) {
	var booking *Booking
	var err error
	anyStaff := in.StaffID != nil && *in.StaffID == uuid.Nil
	for attempt := 1; ; attempt++ {
		booking, err = s.reschedule(ctx, orgID, now, idOrRef, in)
		if !retryable(err, anyStaff, attempt) {
			break
		}
		s.observer().Retrying("reschedule booking", attempt+1, err)
	}
	s.observeConflict(err)
	var taken *SlotTakenError
	if errors.As(err, &taken) {
		taken.Alternatives, taken.TimeZone = s.rescheduleAlternatives(ctx, orgID, now, idOrRef, in)
	}
	return booking, err
}

func (s *Store) reschedule(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string, in RescheduleInput) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		b, err := getBooking(ctx, tx, orgID, idOrRef, true)
		if err != nil {
			return err
		}
		to, err := nextStatus(b, ActionReschedule, now)
		if err != nil {
			return err
		}
		loc, err := schedule.LocationByID(ctx, tx, orgID, b.LocationID)
		if err != nil {
			return fmt.Errorf("read location of booking %s: %w", b.ID, err)
		}
		old := *b
		own := &ownBlock{staffID: b.StaffID, start: b.StartsAt, interval: b.blocked()}
		slot, err := s.checkAndClear(ctx, tx, loc, b.engineServices(), targetStaff(b, in), now, in.StartsAt, own)
		if err != nil {
			return err
		}

		b.StaffID, b.StartsAt, b.EndsAt = slot.StaffID, slot.Start, slot.End
		blocked := b.blocked()
		if _, err := tx.Exec(ctx, lockStaffSQL, b.StaffID); err != nil {
			return fmt.Errorf("lock staff member %s: %w", b.StaffID, err)
		}
		err = tx.QueryRow(ctx, `UPDATE bookings SET status = $2, staff_id = $3, starts_at = $4, ends_at = $5,
				blocked = tstzrange($6, $7, '[)'), version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING version, updated_at`,
			b.ID, to, b.StaffID, b.StartsAt, b.EndsAt, blocked.Start, blocked.End).Scan(&b.Version, &b.UpdatedAt)
		if err != nil {
			return writeError("reschedule booking "+b.ID.String(), err)
		}
		b.Status = to

		if err := writeEvent(ctx, tx, b, "booking.rescheduled"); err != nil {
			return err
		}
		if err := notifySchedule(ctx, tx, &old, old.blocked()); err != nil {
			return err
		}
		if err := notifySchedule(ctx, tx, b, blocked); err != nil {
			return err
		}
		booking = b
		return nil
	})
	return booking, err
}

// targetStaff returns the staff member asked for: the booking's own when in names none, and
// uuid.Nil for any staff member.
func targetStaff(b *Booking, in RescheduleInput) uuid.UUID {
	if in.StaffID == nil {
		return b.StaffID
	}
	return *in.StaffID
}

// rescheduleAlternatives finds the slots nearest to the requested start for the booking's
// services and staff rule, with the booking's own interval free. An error only means no
// alternatives.
func (s *Store) rescheduleAlternatives(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string,
	in RescheduleInput) ([]slots.Slot, *time.Location) {
	b, err := getBooking(ctx, s.pool, orgID, idOrRef, false)
	if err != nil {
		return nil, nil
	}
	loc, err := schedule.LocationByID(ctx, s.pool, orgID, b.LocationID)
	if err != nil {
		return nil, nil
	}
	own := &ownBlock{staffID: b.StaffID, start: b.StartsAt, interval: b.blocked()}
	return s.nearestSlots(ctx, loc, b.engineServices(), targetStaff(b, in), now, in.StartsAt, own), loc.Zone
}

// engineServices returns the booking's services as the slot engine sees them, from the values
// recorded on the booking.
func (b *Booking) engineServices() []slots.Service {
	out := make([]slots.Service, len(b.Services))
	for i, s := range b.Services {
		out[i] = slots.Service{
			ID:           s.ServiceID,
			Duration:     time.Duration(s.DurationMinutes) * time.Minute,
			BufferBefore: time.Duration(s.BufferBeforeMinutes) * time.Minute,
			BufferAfter:  time.Duration(s.BufferAfterMinutes) * time.Minute,
		}
	}
	return out
}

package bookings

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Complete marks a confirmed booking whose start has passed as completed.
func (s *Store) Complete(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string) (*Booking, error) {
	return s.markAttendance(ctx, orgID, now, idOrRef, ActionComplete, "booking.completed")
}

// NoShow marks a confirmed booking whose start has passed as a no-show.
func (s *Store) NoShow(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string) (*Booking, error) {
	return s.markAttendance(ctx, orgID, now, idOrRef, ActionNoShow, "booking.no_show")
}

// markAttendance records whether the client came. Both outcomes keep the interval blocked, so
// the past stays as it was booked.
func (s *Store) markAttendance(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string,
	action Action, event string) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		b, err := getBooking(ctx, tx, orgID, idOrRef, true)
		if err != nil {
			return err
		}
		to, err := nextStatus(b, action, now)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE bookings SET status = $2, version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING version, updated_at`, b.ID, to).Scan(&b.Version, &b.UpdatedAt)
		if err != nil {
			return fmt.Errorf("mark booking %s %s: %w", b.ID, to, err)
		}
		b.Status = to

		if err := writeEvent(ctx, tx, b, event); err != nil {
			return err
		}
		if err := notifySchedule(ctx, tx, b, b.blocked()); err != nil {
			return err
		}
		booking = b
		return nil
	})
	return booking, err
}

package bookings

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Cancel cancels a held or confirmed booking. Cancelling frees its interval at once.
func (s *Store) Cancel(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string, in CancelInput) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		b, err := getBooking(ctx, tx, orgID, idOrRef, true)
		if err != nil {
			return err
		}
		to, err := nextStatus(b, ActionCancel, now)
		if err != nil {
			return err
		}

		err = tx.QueryRow(ctx, `UPDATE bookings SET status = $2, cancel_reason = $3, cancelled_by = $4,
				cancelled_at = $5, hold_expires_at = NULL, version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING version, updated_at`, b.ID, to, in.Reason, in.CancelledBy, now).
			Scan(&b.Version, &b.UpdatedAt)
		if err != nil {
			return fmt.Errorf("cancel booking %s: %w", b.ID, err)
		}
		b.Status, b.HoldExpiresAt = to, nil
		b.CancelReason, b.CancelledBy, b.CancelledAt = &in.Reason, &in.CancelledBy, &now

		if err := writeEvent(ctx, tx, b, "booking.cancelled"); err != nil {
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

// ExpireHolds marks every lapsed hold of every organisation expired, judging each organisation
// by its own clock, and returns how many it expired.
func (s *Store) ExpireHolds(ctx context.Context) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT o.id, coalesce(o.test_clock, now())
		FROM bookings b JOIN organisations o ON o.id = b.organisation_id
		WHERE b.status = 'held' AND b.hold_expires_at <= coalesce(o.test_clock, now())`)
	if err != nil {
		return 0, fmt.Errorf("find lapsed holds: %w", err)
	}
	type orgNow struct {
		id  uuid.UUID
		now time.Time
	}
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orgNow, error) {
		var o orgNow
		return o, r.Scan(&o.id, &o.now)
	})
	if err != nil {
		return 0, fmt.Errorf("find lapsed holds: %w", err)
	}

	total := 0
	for _, o := range orgs {
		n, err := s.ExpireHoldsAt(ctx, o.id, o.now)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ExpireHoldsAt marks the organisation's holds that have lapsed at now expired, with the events
// and notifications the sweeper writes, and returns how many it changed. Setting a test clock
// calls it first with the instant the clock shows, so that a hold which has read as expired
// stays expired when the clock goes back.
func (s *Store) ExpireHoldsAt(ctx context.Context, orgID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *writeTx) error {
		var err error
		n, err = expireHolds(ctx, tx, orgID, now)
		return err
	})
	return n, err
}

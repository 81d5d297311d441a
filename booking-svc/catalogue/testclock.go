package catalogue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/timestamp"
)

// TestClock is a test-mode organisation's clock. A zero FrozenAt means real time.
type TestClock struct {
	FrozenAt time.Time
}

// TestClockView is the clock's JSON form. frozen_at is null when the clock runs in real time;
// now is the instant both services use as the present.
type TestClockView struct {
	FrozenAt *string `json:"frozen_at"`
	Now      string  `json:"now"`
}

// View renders the clock in UTC, with real now standing in when the clock is not frozen.
func (c TestClock) View(realNow time.Time) TestClockView {
	v := TestClockView{Now: realNow.UTC().Format(offsetTime)}
	if !c.FrozenAt.IsZero() {
		frozen := c.FrozenAt.UTC().Format(offsetTime)
		v.FrozenAt, v.Now = &frozen, frozen
	}
	return v
}

// TestClockInput freezes the clock at FrozenAt, or moves it forward by AdvanceSeconds from the
// instant it shows now (real time when it is not frozen). Exactly one must be set.
type TestClockInput struct {
	FrozenAt       *string `json:"frozen_at"`
	AdvanceSeconds *int64  `json:"advance_seconds"`
}

// maxAdvance bounds one advance of the clock to about ten years.
const maxAdvance = 10 * 366 * 24 * 3600

// Earliest and latest instants a clock may show, so that every date the engine derives from it
// is a plain four-digit-year date.
var (
	minClock = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxClock = time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)
)

func (in *TestClockInput) target(current TestClock, realNow time.Time) (time.Time, error) {
	switch {
	case (in.FrozenAt == nil) == (in.AdvanceSeconds == nil):
		return time.Time{}, invalid("frozen_at", "send either frozen_at (an RFC 3339 time with an offset) or advance_seconds, not both and not neither")
	case in.FrozenAt != nil:
		at, err := timestamp.Parse("frozen_at", *in.FrozenAt)
		if err != nil {
			return time.Time{}, invalid("frozen_at", "%s", err)
		}
		if at.Before(minClock) || at.After(maxClock) {
			return time.Time{}, invalid("frozen_at", "frozen_at must be between 2000-01-01 and 2199-12-31")
		}
		return at, nil
	default:
		if *in.AdvanceSeconds < 1 || *in.AdvanceSeconds > maxAdvance {
			return time.Time{}, invalid("advance_seconds", "advance_seconds must be between 1 and %d", maxAdvance)
		}
		from := realNow
		if !current.FrozenAt.IsZero() {
			from = current.FrozenAt
		}
		return from.Add(time.Duration(*in.AdvanceSeconds) * time.Second), nil
	}
}

// SetTestClock freezes or advances the organisation's clock. A live organisation is
// ErrNotTestMode.
func (s *Store) SetTestClock(ctx context.Context, orgID uuid.UUID, realNow time.Time, in TestClockInput) (TestClock, error) {
	var clock TestClock
	err := s.inTx(ctx, func(tx *writeTx) error {
		current, err := lockClock(ctx, tx, orgID)
		if err != nil {
			return err
		}
		at, err := in.target(current, realNow)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE organisations SET test_clock = $2 WHERE id = $1`, orgID, at); err != nil {
			return fmt.Errorf("set test clock: %w", err)
		}
		clock = TestClock{FrozenAt: at}
		return tx.notify(ctx, notify.Change{Kind: notify.KindOrganisation, OrganisationID: orgID})
	})
	return clock, err
}

// ClearTestClock returns the organisation to real time.
func (s *Store) ClearTestClock(ctx context.Context, orgID uuid.UUID) error {
	return s.inTx(ctx, func(tx *writeTx) error {
		if _, err := lockClock(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE organisations SET test_clock = NULL WHERE id = $1`, orgID); err != nil {
			return fmt.Errorf("clear test clock: %w", err)
		}
		return tx.notify(ctx, notify.Change{Kind: notify.KindOrganisation, OrganisationID: orgID})
	})
}

// GetTestClock reads the organisation's clock.
func (s *Store) GetTestClock(ctx context.Context, orgID uuid.UUID) (TestClock, error) {
	var mode string
	var frozen *time.Time
	err := s.pool.QueryRow(ctx, `SELECT mode, test_clock FROM organisations WHERE id = $1`, orgID).Scan(&mode, &frozen)
	if err != nil {
		return TestClock{}, fmt.Errorf("read test clock: %w", err)
	}
	if mode != "test" {
		return TestClock{}, ErrNotTestMode
	}
	if frozen == nil {
		return TestClock{}, nil
	}
	return TestClock{FrozenAt: *frozen}, nil
}

func lockClock(ctx context.Context, tx *writeTx, orgID uuid.UUID) (TestClock, error) {
	var mode string
	var frozen *time.Time
	err := tx.QueryRow(ctx, `SELECT mode, test_clock FROM organisations WHERE id = $1 FOR UPDATE`, orgID).Scan(&mode, &frozen)
	if errors.Is(err, pgx.ErrNoRows) {
		return TestClock{}, ErrNotTestMode
	}
	if err != nil {
		return TestClock{}, fmt.Errorf("read test clock: %w", err)
	}
	if mode != "test" {
		return TestClock{}, ErrNotTestMode
	}
	if frozen == nil {
		return TestClock{}, nil
	}
	return TestClock{FrozenAt: *frozen}, nil
}

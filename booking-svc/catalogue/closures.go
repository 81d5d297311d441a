package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/setora/rest/shared/slots"
)

// Closure is a date on which a location is closed all day.
type Closure struct {
	LocationSlug string
	Date         slots.Date
	Reason       string
}

// ClosureView is a closure's JSON form.
type ClosureView struct {
	LocationSlug string `json:"location_slug"`
	Date         string `json:"date"`
	Reason       string `json:"reason"`
}

// View renders the closure.
func (c *Closure) View() ClosureView {
	return ClosureView{LocationSlug: c.LocationSlug, Date: c.Date.String(), Reason: c.Reason}
}

// maxReasonLength bounds the free-text reasons of closures and time off.
const maxReasonLength = 500

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxReasonLength {
		return "", invalid("reason", "reason may be at most %d characters", maxReasonLength)
	}
	return reason, nil
}

// Closures lists a location's closures from the given date on (all of them when from is nil),
// in date order.
func (s *Store) Closures(ctx context.Context, orgID uuid.UUID, slug string, from *slots.Date, req PageRequest) (Page[*Closure], error) {
	const list = "closures"
	filters := slug
	if from != nil {
		filters += "|" + from.String()
	}
	after, err := decodeCursor(list, filters, req.Cursor)
	if err != nil {
		return Page[*Closure]{}, err
	}
	afterDate := "0001-01-01"
	if after.key != "" {
		d, err := slots.ParseDate(after.key)
		if err != nil {
			return Page[*Closure]{}, ErrInvalidCursor
		}
		afterDate = d.String()
	}
	fromDate := "0001-01-01"
	if from != nil {
		fromDate = from.String()
	}
	loc, err := locationBySlug(ctx, s.pool, orgID, slug, false)
	if err != nil {
		return Page[*Closure]{}, err
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT closed_on, reason FROM location_closures
		WHERE location_id = $1 AND closed_on >= $2::date AND ($3 = '' OR closed_on > $4::date)
		ORDER BY closed_on LIMIT $5`, loc.ID, fromDate, after.key, afterDate, limit+1)
	if err != nil {
		return Page[*Closure]{}, fmt.Errorf("list closures: %w", err)
	}
	closures, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Closure, error) {
		var on time.Time
		c := &Closure{LocationSlug: loc.Slug}
		if err := r.Scan(&on, &c.Reason); err != nil {
			return nil, err
		}
		c.Date = slots.Date{Year: on.Year(), Month: on.Month(), Day: on.Day()}
		return c, nil
	})
	if err != nil {
		return Page[*Closure]{}, fmt.Errorf("list closures: %w", err)
	}
	return paginate(closures, limit, list, filters, func(c *Closure) cursor { return cursor{key: c.Date.String()} }), nil
}

// PutClosure closes the location on date, or changes the reason of an existing closure, and
// reports the bookings on that date.
func (s *Store) PutClosure(ctx context.Context, orgID uuid.UUID, now time.Time, slug string, date slots.Date, reason string) (*Closure, []Stranded, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, nil, err
	}
	var closure *Closure
	var stranded []Stranded
	err = s.inTx(ctx, func(tx *writeTx) error {
		loc, err := locationBySlug(ctx, tx, orgID, slug, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO location_closures (location_id, closed_on, reason) VALUES ($1, $2, $3)
			ON CONFLICT (location_id, closed_on) DO UPDATE SET reason = EXCLUDED.reason`, loc.ID, date.String(), reason); err != nil {
			return fmt.Errorf("store closure: %w", err)
		}
		from, to, err := dayBounds(loc.TimeZone, date)
		if err != nil {
			return err
		}
		stranded, err = findStranded(ctx, tx, orgID, now, strandScope{locationID: loc.ID, from: from, to: to})
		if err != nil {
			return err
		}
		closure = &Closure{LocationSlug: loc.Slug, Date: date, Reason: reason}
		return notifyDates(ctx, tx, orgID, []uuid.UUID{loc.ID}, []string{date.String()})
	})
	if err != nil {
		return nil, nil, err
	}
	return closure, stranded, nil
}

// DeleteClosure reopens the location on date.
func (s *Store) DeleteClosure(ctx context.Context, orgID uuid.UUID, slug string, date slots.Date) error {
	return s.inTx(ctx, func(tx *writeTx) error {
		loc, err := locationBySlug(ctx, tx, orgID, slug, true)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM location_closures WHERE location_id = $1 AND closed_on = $2`, loc.ID, date.String())
		if err != nil {
			return fmt.Errorf("delete closure: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrClosureNotFound
		}
		return notifyDates(ctx, tx, orgID, []uuid.UUID{loc.ID}, []string{date.String()})
	})
}

// dayBounds returns the instants a date's schedule can cover at a location: from local midnight
// to the end of the next day, because a window that starts late may cross midnight.
func dayBounds(zoneName string, date slots.Date) (time.Time, time.Time, error) {
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		return time.Time{}, time.Time{}, errors.Join(fmt.Errorf("location time zone %q", zoneName), err)
	}
	return date.At(0, zone), date.At(2*minutesPerDay, zone), nil
}

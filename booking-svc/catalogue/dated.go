package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/setora/rest/shared/slots"
	"github.com/setora/rest/shared/timestamp"
)

// SpecialDay replaces a staff member's weekly hours at a location on one date. No windows means
// the staff member does not work there that date.
type SpecialDay struct {
	StaffID      uuid.UUID
	LocationSlug string
	Date         slots.Date
	Spans        []span
}

// SpecialDayView is a special day's JSON form.
type SpecialDayView struct {
	StaffID      uuid.UUID `json:"staff_id"`
	LocationSlug string    `json:"location_slug"`
	Date         string    `json:"date"`
	Hours        []Window  `json:"hours"`
}

// View renders the special day.
func (d *SpecialDay) View() SpecialDayView {
	return SpecialDayView{StaffID: d.StaffID, LocationSlug: d.LocationSlug, Date: d.Date.String(), Hours: dayView(d.Spans)}
}

// SpecialHours lists a staff member's special days at a location from the given date on (all
// of them when from is nil), in date order.
func (s *Store) SpecialHours(ctx context.Context, orgID, staffID uuid.UUID, slug string, from *slots.Date, req PageRequest) (Page[*SpecialDay], error) {
	const list = "special_hours"
	filters := staffID.String() + "|" + slug
	fromDate := "0001-01-01"
	if from != nil {
		fromDate = from.String()
		filters += "|" + fromDate
	}
	after, err := decodeCursor(list, filters, req.Cursor)
	if err != nil {
		return Page[*SpecialDay]{}, err
	}
	if after.key != "" {
		if _, err := slots.ParseDate(after.key); err != nil {
			return Page[*SpecialDay]{}, ErrInvalidCursor
		}
		fromDate = after.key
	}
	st, err := staffByID(ctx, s.pool, orgID, staffID, false)
	if err != nil {
		return Page[*SpecialDay]{}, err
	}
	loc, err := locationBySlug(ctx, s.pool, orgID, slug, false)
	if err != nil {
		return Page[*SpecialDay]{}, err
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT id, on_date FROM staff_special_days
		WHERE staff_id = $1 AND location_id = $2 AND on_date >= $3::date AND ($4 = '' OR on_date > $3::date)
		ORDER BY on_date LIMIT $5`, st.ID, loc.ID, fromDate, after.key, limit+1)
	if err != nil {
		return Page[*SpecialDay]{}, fmt.Errorf("list special hours: %w", err)
	}
	type dayRow struct {
		id  uuid.UUID
		day *SpecialDay
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dayRow, error) {
		var d dayRow
		var on time.Time
		if err := r.Scan(&d.id, &on); err != nil {
			return d, err
		}
		d.day = &SpecialDay{StaffID: st.ID, LocationSlug: loc.Slug, Date: slots.Date{Year: on.Year(), Month: on.Month(), Day: on.Day()}}
		return d, nil
	})
	if err != nil {
		return Page[*SpecialDay]{}, fmt.Errorf("list special hours: %w", err)
	}
	page := paginate(days, limit, list, filters, func(d dayRow) cursor { return cursor{key: d.day.Date.String()} })
	out := Page[*SpecialDay]{NextCursor: page.NextCursor, HasMore: page.HasMore, Items: []*SpecialDay{}}
	for _, d := range page.Items {
		if d.day.Spans, err = specialSpans(ctx, s.pool, d.id); err != nil {
			return Page[*SpecialDay]{}, err
		}
		out.Items = append(out.Items, d.day)
	}
	return out, nil
}

func specialSpans(ctx context.Context, q querier, dayID uuid.UUID) ([]span, error) {
	rows, err := q.Query(ctx, `SELECT kind, start_minute, end_minute FROM staff_special_windows
		WHERE special_day_id = $1 ORDER BY start_minute`, dayID)
	if err != nil {
		return nil, fmt.Errorf("read special hours: %w", err)
	}
	spans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (span, error) {
		s := span{weekday: -1}
		return s, r.Scan(&s.kind, &s.start, &s.end)
	})
	if err != nil {
		return nil, fmt.Errorf("read special hours: %w", err)
	}
	return spans, nil
}

// PutSpecialHours sets a staff member's hours at a location on one date, replacing the weekly
// hours for that date, and reports the bookings that no longer fit.
func (s *Store) PutSpecialHours(ctx context.Context, orgID uuid.UUID, now time.Time, staffID uuid.UUID, slug string, date slots.Date, hours []Window) (*SpecialDay, []Stranded, error) {
	spans, err := parseDay("hours", hours)
	if err != nil {
		return nil, nil, err
	}
	var day *SpecialDay
	var stranded []Stranded
	err = s.inTx(ctx, func(tx *writeTx) error {
		st, loc, err := staffAndLocation(ctx, tx, orgID, staffID, slug)
		if err != nil {
			return err
		}
		var dayID uuid.UUID
		err = tx.QueryRow(ctx, `INSERT INTO staff_special_days (staff_id, location_id, on_date) VALUES ($1, $2, $3)
			ON CONFLICT (staff_id, location_id, on_date) DO UPDATE SET on_date = EXCLUDED.on_date RETURNING id`,
			st.ID, loc.ID, date.String()).Scan(&dayID)
		if err != nil {
			return fmt.Errorf("store special hours: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_special_windows WHERE special_day_id = $1`, dayID); err != nil {
			return fmt.Errorf("replace special hours: %w", err)
		}
		for _, w := range spans {
			if _, err := tx.Exec(ctx, `INSERT INTO staff_special_windows (special_day_id, kind, start_minute, end_minute)
				VALUES ($1, $2, $3, $4)`, dayID, w.kind, w.start, w.end); err != nil {
				return fmt.Errorf("insert special hours: %w", err)
			}
		}
		from, to, err := dayBounds(loc.TimeZone, date)
		if err != nil {
			return err
		}
		if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{staffID: st.ID, locationID: loc.ID, from: from, to: to}); err != nil {
			return err
		}
		day = &SpecialDay{StaffID: st.ID, LocationSlug: loc.Slug, Date: date, Spans: spans}
		return notifyDates(ctx, tx, orgID, []uuid.UUID{loc.ID}, []string{date.String()})
	})
	if err != nil {
		return nil, nil, err
	}
	return day, stranded, nil
}

// DeleteSpecialHours returns the date to the staff member's weekly hours at the location.
func (s *Store) DeleteSpecialHours(ctx context.Context, orgID, staffID uuid.UUID, slug string, date slots.Date) error {
	return s.inTx(ctx, func(tx *writeTx) error {
		st, loc, err := staffAndLocation(ctx, tx, orgID, staffID, slug)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM staff_special_days WHERE staff_id = $1 AND location_id = $2 AND on_date = $3`,
			st.ID, loc.ID, date.String())
		if err != nil {
			return fmt.Errorf("delete special hours: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrSpecialNotFound
		}
		return notifyDates(ctx, tx, orgID, []uuid.UUID{loc.ID}, []string{date.String()})
	})
}

// TimeOff is a span in which a staff member does not work anywhere.
type TimeOff struct {
	ID        uuid.UUID
	StaffID   uuid.UUID
	Start     time.Time
	End       time.Time
	Reason    string
	CreatedAt time.Time
}

// TimeOffView is time off's JSON form, with instants in UTC because time off applies at every
// location of the staff member.
type TimeOffView struct {
	ID        uuid.UUID `json:"id"`
	StaffID   uuid.UUID `json:"staff_id"`
	StartsAt  string    `json:"starts_at"`
	EndsAt    string    `json:"ends_at"`
	Reason    string    `json:"reason"`
	CreatedAt string    `json:"created_at"`
}

// View renders the time off.
func (t *TimeOff) View() TimeOffView {
	return TimeOffView{ID: t.ID, StaffID: t.StaffID, StartsAt: t.Start.UTC().Format(offsetTime),
		EndsAt: t.End.UTC().Format(offsetTime), Reason: t.Reason, CreatedAt: t.CreatedAt.UTC().Format(offsetTime)}
}

// TimeOffInput is a request for time off. Both instants need an offset or Z.
type TimeOffInput struct {
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Reason   string `json:"reason"`
}

// maxTimeOff bounds one span of time off.
const maxTimeOff = 366 * 24 * time.Hour

func (in *TimeOffInput) parse() (start, end time.Time, reason string, err error) {
	if start, err = timestamp.Parse("starts_at", in.StartsAt); err != nil {
		return start, end, "", invalid("starts_at", "%s", err)
	}
	if end, err = timestamp.Parse("ends_at", in.EndsAt); err != nil {
		return start, end, "", invalid("ends_at", "%s", err)
	}
	if !end.After(start) {
		return start, end, "", invalid("ends_at", "ends_at %s must be after starts_at %s", in.EndsAt, in.StartsAt)
	}
	if end.Sub(start) > maxTimeOff {
		return start, end, "", invalid("ends_at", "time off may last at most 366 days; split a longer absence")
	}
	reason, err = checkReason(in.Reason)
	return start, end, reason, err
}

const timeOffColumns = `id, staff_id, lower(period), upper(period), reason, created_at`

func scanTimeOff(row pgx.Row) (*TimeOff, error) {
	var t TimeOff
	err := row.Scan(&t.ID, &t.StaffID, &t.Start, &t.End, &t.Reason, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrTimeOffNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read time off: %w", err)
	}
	return &t, nil
}

// TimeOffList lists a staff member's time off that ends after from (all of it when from is
// zero), in start order.
func (s *Store) TimeOffList(ctx context.Context, orgID, staffID uuid.UUID, from time.Time, req PageRequest) (Page[*TimeOff], error) {
	const list = "time_off"
	filters := staffID.String() + "|" + fmt.Sprint(from.UnixMicro())
	after, at, id, err := timeCursor(list, filters, req.Cursor)
	if err != nil {
		return Page[*TimeOff]{}, err
	}
	if _, err := staffByID(ctx, s.pool, orgID, staffID, false); err != nil {
		return Page[*TimeOff]{}, err
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+timeOffColumns+` FROM time_off
		WHERE organisation_id = $1 AND staff_id = $2 AND ($3::timestamptz IS NULL OR upper(period) > $3)
		AND (NOT $4 OR (lower(period), id) > ($5, $6))
		ORDER BY lower(period), id LIMIT $7`, orgID, staffID, nullTime(from), after, at, id, limit+1)
	if err != nil {
		return Page[*TimeOff]{}, fmt.Errorf("list time off: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*TimeOff, error) { return scanTimeOff(r) })
	if err != nil {
		return Page[*TimeOff]{}, fmt.Errorf("list time off: %w", err)
	}
	return paginate(items, limit, list, filters, func(t *TimeOff) cursor { return timePosition(t.Start, t.ID) }), nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateTimeOff records time off and reports the bookings it overlaps, which stay booked.
func (s *Store) CreateTimeOff(ctx context.Context, orgID uuid.UUID, now time.Time, staffID uuid.UUID, in TimeOffInput) (*TimeOff, []Stranded, error) {
	start, end, reason, err := in.parse()
	if err != nil {
		return nil, nil, err
	}
	var timeOff *TimeOff
	var stranded []Stranded
	err = s.inTx(ctx, func(tx *writeTx) error {
		st, err := staffByID(ctx, tx, orgID, staffID, true)
		if err != nil {
			return err
		}
		t, err := scanTimeOff(tx.QueryRow(ctx, `INSERT INTO time_off (organisation_id, staff_id, period, reason)
			VALUES ($1, $2, tstzrange($3, $4, '[)'), $5) RETURNING `+timeOffColumns, orgID, st.ID, start, end, reason))
		if err != nil {
			return err
		}
		if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{staffID: st.ID, from: start, to: end}); err != nil {
			return err
		}
		timeOff = t
		return notifyStaffSpan(ctx, tx, orgID, st.ID, start, end)
	})
	if err != nil {
		return nil, nil, err
	}
	return timeOff, stranded, nil
}

// DeleteTimeOff removes time off, which frees its span again.
func (s *Store) DeleteTimeOff(ctx context.Context, orgID, staffID, id uuid.UUID) error {
	return s.inTx(ctx, func(tx *writeTx) error {
		t, err := scanTimeOff(tx.QueryRow(ctx, `DELETE FROM time_off WHERE organisation_id = $1 AND staff_id = $2 AND id = $3
			RETURNING `+timeOffColumns, orgID, staffID, id))
		if err != nil {
			return err
		}
		return notifyStaffSpan(ctx, tx, orgID, t.StaffID, t.Start, t.End)
	})
}

// notifyStaffSpan evicts the dates that a span of a staff member's time touches, at every
// location where they perform a service or have hours: from the day before the span (a window
// that crosses midnight belongs to the day it starts on) to the day it ends, in each location's
// zone.
func notifyStaffSpan(ctx context.Context, tx *writeTx, orgID, staffID uuid.UUID, start, end time.Time) error {
	rows, err := tx.Query(ctx, `SELECT id, time_zone FROM locations WHERE id IN (
			SELECT location_id FROM staff_services WHERE staff_id = $1
			UNION SELECT location_id FROM staff_weekly_hours WHERE staff_id = $1
			UNION SELECT location_id FROM staff_special_days WHERE staff_id = $1)`, staffID)
	if err != nil {
		return fmt.Errorf("read staff locations: %w", err)
	}
	type locZone struct {
		id   uuid.UUID
		zone string
	}
	locs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (locZone, error) {
		var l locZone
		return l, r.Scan(&l.id, &l.zone)
	})
	if err != nil {
		return fmt.Errorf("read staff locations: %w", err)
	}
	// One notification lists the union of the locations' dates, which over-evicts a little
	// where zones differ and never misses.
	seen := map[string]bool{}
	var ids []uuid.UUID
	var dates []string
	for _, l := range locs {
		ids = append(ids, l.id)
		zone, err := time.LoadLocation(l.zone)
		if err != nil {
			return fmt.Errorf("location %s time zone: %w", l.id, err)
		}
		last := slots.DateOf(end, zone)
		for d := slots.DateOf(start, zone).AddDays(-1); d.Compare(last) <= 0 && len(dates) <= 100; d = d.AddDays(1) {
			if !seen[d.String()] {
				seen[d.String()] = true
				dates = append(dates, d.String())
			}
		}
	}
	if dates == nil {
		dates = []string{}
	}
	return notifyDates(ctx, tx, orgID, ids, dates)
}

// ParseDate reads a YYYY-MM-DD date strictly, for a path or query parameter named param.
func ParseDate(param, value string) (slots.Date, error) {
	d, err := slots.ParseDate(value)
	if err != nil {
		return d, invalid(param, "%s %q is not a valid date; use YYYY-MM-DD, such as 2026-05-12", param, strings.TrimSpace(value))
	}
	return d, nil
}

// Package schedule reads locations, services and day schedules from PostgreSQL into the slot
// engine's types. availability-svc reads through its read-only role; booking-svc reads inside
// its write transaction.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/setora/rest/shared/slots"
)

// Querier is satisfied by *pgxpool.Pool, *pgx.Conn and pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// ErrNotFound means the record does not exist in the caller's organisation.
var ErrNotFound = errors.New("not found")

// Location is a shop location with the settings the engine needs.
type Location struct {
	ID                uuid.UUID
	OrganisationID    uuid.UUID
	Slug              string
	Name              string
	TimeZone          string
	Zone              *time.Location
	SlotStepMinutes   int
	MinNoticeMinutes  int
	BookingWindowDays int
}

// Rules returns the engine's view of the location's settings.
func (l *Location) Rules() slots.Rules {
	return slots.Rules{
		TimeZone:      l.Zone,
		StepMinutes:   l.SlotStepMinutes,
		NoticeMinutes: l.MinNoticeMinutes,
		WindowDays:    l.BookingWindowDays,
	}
}

const locationColumns = `id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes, booking_window_days`

func scanLocation(row pgx.Row) (*Location, error) {
	var l Location
	err := row.Scan(&l.ID, &l.OrganisationID, &l.Slug, &l.Name, &l.TimeZone, &l.SlotStepMinutes,
		&l.MinNoticeMinutes, &l.BookingWindowDays)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	l.Zone, err = time.LoadLocation(l.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("location %s has time zone %q that does not load: %w", l.ID, l.TimeZone, err)
	}
	return &l, nil
}

// locationBySlugSQL selects the organisation's ($1) location with the slug $2.
const locationBySlugSQL = `SELECT ` + locationColumns + ` FROM locations WHERE organisation_id = $1 AND slug = $2`

// LocationBySlug returns the organisation's location with that slug.
func LocationBySlug(ctx context.Context, q Querier, orgID uuid.UUID, slug string) (*Location, error) {
	return scanLocation(q.QueryRow(ctx, locationBySlugSQL, orgID, slug))
}

// LocationByID returns the organisation's location with that id.
func LocationByID(ctx context.Context, q Querier, orgID, id uuid.UUID) (*Location, error) {
	return scanLocation(q.QueryRow(ctx, `SELECT `+locationColumns+` FROM locations
		WHERE organisation_id = $1 AND id = $2`, orgID, id))
}

// Service is a bookable service with its price.
type Service struct {
	ID                  uuid.UUID
	Name                string
	DurationMinutes     int
	BufferBeforeMinutes int
	BufferAfterMinutes  int
	PriceMinor          int64
	DepositMinor        int64
	Currency            string
}

// Engine returns the engine's view of the service.
func (s *Service) Engine() slots.Service {
	return slots.Service{
		ID:           s.ID,
		Duration:     time.Duration(s.DurationMinutes) * time.Minute,
		BufferBefore: time.Duration(s.BufferBeforeMinutes) * time.Minute,
		BufferAfter:  time.Duration(s.BufferAfterMinutes) * time.Minute,
	}
}

// MissingServiceError names the first requested service that the organisation does not offer.
type MissingServiceError struct{ ID uuid.UUID }

func (e *MissingServiceError) Error() string { return fmt.Sprintf("service %s not found", e.ID) }

// servicesSQL selects the organisation's ($1) active services among the ids in $2.
const servicesSQL = `SELECT id, name, duration_minutes, buffer_before_minutes, buffer_after_minutes,
		price_minor, deposit_minor, currency
	FROM services WHERE organisation_id = $1 AND id = ANY($2) AND active`

// Services returns the organisation's active services with the given ids, in the order asked.
func Services(ctx context.Context, q Querier, orgID uuid.UUID, ids []uuid.UUID) ([]Service, error) {
	rows, err := q.Query(ctx, servicesSQL, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("query services: %w", err)
	}
	return orderServices(rows, ids)
}

// LocationAndServices reads the organisation's location with that slug and its active services
// with the given ids, in the order asked, in one round trip. The location's error comes first.
func LocationAndServices(ctx context.Context, q Querier, orgID uuid.UUID, slug string, ids []uuid.UUID) (*Location, []Service, error) {
	batch := &pgx.Batch{}
	var loc *Location
	var locErr error
	batch.Queue(locationBySlugSQL, orgID, slug).
		QueryRow(func(row pgx.Row) error {
			loc, locErr = scanLocation(row)
			return nil
		})
	var services []Service
	var servicesErr error
	batch.Queue(servicesSQL, orgID, ids).Query(func(rows pgx.Rows) error {
		services, servicesErr = orderServices(rows, ids)
		return nil
	})
	if err := q.SendBatch(ctx, batch).Close(); err != nil {
		return nil, nil, fmt.Errorf("read location and services: %w", err)
	}
	if locErr != nil {
		return nil, nil, locErr
	}
	if servicesErr != nil {
		return nil, nil, servicesErr
	}
	return loc, services, nil
}

// orderServices reads the rows of servicesSQL and returns them in the order of ids, or a
// MissingServiceError for the first id without a row.
func orderServices(rows pgx.Rows, ids []uuid.UUID) ([]Service, error) {
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Service, error) {
		var s Service
		err := row.Scan(&s.ID, &s.Name, &s.DurationMinutes, &s.BufferBeforeMinutes, &s.BufferAfterMinutes,
			&s.PriceMinor, &s.DepositMinor, &s.Currency)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}

	ordered := make([]Service, 0, len(ids))
	for _, id := range ids {
		i := slices.IndexFunc(found, func(s Service) bool { return s.ID == id })
		if i < 0 {
			return nil, &MissingServiceError{ID: id}
		}
		ordered = append(ordered, found[i])
	}
	return ordered, nil
}

// dayReach is how far past a date's local midnight its schedule can reach: a working window
// may end at minute 2880, and a daylight-saving change can add an hour.
const dayReach = 49 * time.Hour

// midnight returns the first instant of a local date.
func midnight(d slots.Date, zone *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, zone)
}

// LoadDays reads the location's schedule for each date. Dates must be consecutive and ascending.
func LoadDays(ctx context.Context, q Querier, loc *Location, dates []slots.Date) ([]slots.DaySchedule, error) {
	if len(dates) == 0 {
		return nil, nil
	}
	first, last := dates[0], dates[len(dates)-1]
	from := midnight(first, loc.Zone).Add(-2 * time.Hour)
	to := midnight(last, loc.Zone).Add(dayReach)

	raw, err := loadRaw(ctx, q, loc, first, last, from, to)
	if err != nil {
		return nil, err
	}

	days := make([]slots.DaySchedule, 0, len(dates))
	for _, d := range dates {
		days = append(days, raw.day(loc, d))
	}
	return days, nil
}

type wallRow struct {
	weekday int
	kind    string
	window  slots.WallWindow
}

type staffRaw struct {
	id       uuid.UUID
	services map[uuid.UUID]bool
	weekly   []wallRow
	special  map[slots.Date][]wallRow
	timeOff  []slots.Interval
	busy     []slots.Busy
}

type rawSchedule struct {
	opening  []wallRow
	closures map[slots.Date]bool
	staff    []*staffRaw
}

// staffAtLocation selects the active staff members who perform an active service at location $1.
const staffAtLocation = `SELECT ss.staff_id FROM staff_services ss
	JOIN staff st ON st.id = ss.staff_id AND st.active
	JOIN services sv ON sv.id = ss.service_id AND sv.active
	WHERE ss.location_id = $1`

// loadRaw reads the rows behind a range of dates. The seven queries go to the server as one
// pipelined batch, so a read costs one round trip. The staff-scoped queries select their staff
// with staffAtLocation. Outside a repeatable-read transaction each query has its own snapshot,
// so rows of a staff member that the staff services query did not return are skipped.
func loadRaw(ctx context.Context, q Querier, loc *Location, first, last slots.Date, from, to time.Time) (*rawSchedule, error) {
	raw := &rawSchedule{closures: map[slots.Date]bool{}}
	byID := map[uuid.UUID]*staffRaw{}

	batch := &pgx.Batch{}
	batch.Queue(`SELECT weekday, start_minute, end_minute FROM location_opening_hours
		WHERE location_id = $1`, loc.ID)
	batch.Queue(`SELECT closed_on FROM location_closures
		WHERE location_id = $1 AND closed_on BETWEEN $2 AND $3`, loc.ID, first.String(), last.String())
	batch.Queue(`SELECT ss.staff_id, ss.service_id FROM staff_services ss
		JOIN staff st ON st.id = ss.staff_id AND st.active
		JOIN services sv ON sv.id = ss.service_id AND sv.active
		WHERE ss.location_id = $1 ORDER BY ss.staff_id`, loc.ID)
	batch.Queue(`SELECT staff_id, weekday, kind, start_minute, end_minute FROM staff_weekly_hours
		WHERE location_id = $1 AND staff_id IN (`+staffAtLocation+`)`, loc.ID)
	batch.Queue(`SELECT d.staff_id, d.on_date, w.kind, w.start_minute, w.end_minute
		FROM staff_special_days d LEFT JOIN staff_special_windows w ON w.special_day_id = d.id
		WHERE d.location_id = $1 AND d.staff_id IN (`+staffAtLocation+`) AND d.on_date BETWEEN $2 AND $3`,
		loc.ID, first.String(), last.String())
	batch.Queue(`SELECT staff_id, lower(period), upper(period) FROM time_off
		WHERE staff_id IN (`+staffAtLocation+`) AND period && tstzrange($2, $3)`, loc.ID, from, to)
	// Bookings at every location count: a staff member busy elsewhere is busy here. The lateral
	// subquery probes the exclusion constraint's index on (staff_id, blocked) once per staff
	// member. OFFSET 0 keeps the planner from flattening it into a join that scans every booking
	// in the interval, which it does while the table's statistics are stale.
	batch.Queue(`SELECT b.staff_id, lower(b.blocked), upper(b.blocked), b.hold_expires_at
		FROM (SELECT DISTINCT staff_id FROM (`+staffAtLocation+`) s) s
		CROSS JOIN LATERAL (SELECT staff_id, blocked, hold_expires_at FROM bookings
			WHERE staff_id = s.staff_id AND blocked && tstzrange($2, $3)
			AND status IN ('held', 'confirmed', 'completed', 'no_show') OFFSET 0) b
		ORDER BY lower(b.blocked)`, loc.ID, from, to)

	results := q.SendBatch(ctx, batch)
	defer results.Close()

	var w wallRow
	err := readRows(results, "opening hours", []any{&w.weekday, &w.window.StartMinute, &w.window.EndMinute}, func() {
		raw.opening = append(raw.opening, wallRow{kind: "work", weekday: w.weekday, window: w.window})
	})
	if err != nil {
		return nil, err
	}

	var closed time.Time
	err = readRows(results, "closures", []any{&closed}, func() { raw.closures[dateOf(closed)] = true })
	if err != nil {
		return nil, err
	}

	var staffID, serviceID uuid.UUID
	err = readRows(results, "staff services", []any{&staffID, &serviceID}, func() {
		member := byID[staffID]
		if member == nil {
			member = &staffRaw{id: staffID, services: map[uuid.UUID]bool{}, special: map[slots.Date][]wallRow{}}
			byID[staffID] = member
			raw.staff = append(raw.staff, member)
		}
		member.services[serviceID] = true
	})
	if err != nil {
		return nil, err
	}

	err = readRows(results, "weekly hours", []any{&staffID, &w.weekday, &w.kind, &w.window.StartMinute, &w.window.EndMinute}, func() {
		if member := byID[staffID]; member != nil {
			member.weekly = append(member.weekly, w)
		}
	})
	if err != nil {
		return nil, err
	}

	var on time.Time
	var kind *string
	var startMinute, endMinute *int
	err = readRows(results, "special hours", []any{&staffID, &on, &kind, &startMinute, &endMinute}, func() {
		member, d := byID[staffID], dateOf(on)
		if member == nil {
			return
		}
		list := member.special[d]
		if list == nil {
			list = []wallRow{} // a special day without windows is a day off
		}
		if kind != nil {
			list = append(list, wallRow{kind: *kind, window: slots.WallWindow{StartMinute: *startMinute, EndMinute: *endMinute}})
		}
		member.special[d] = list
	})
	if err != nil {
		return nil, err
	}

	var off slots.Interval
	err = readRows(results, "time off", []any{&staffID, &off.Start, &off.End}, func() {
		if member := byID[staffID]; member != nil {
			member.timeOff = append(member.timeOff, off)
		}
	})
	if err != nil {
		return nil, err
	}

	var busy slots.Interval
	var expires *time.Time
	err = readRows(results, "bookings", []any{&staffID, &busy.Start, &busy.End, &expires}, func() {
		member := byID[staffID]
		if member == nil {
			return
		}
		b := slots.Busy{Interval: busy}
		if expires != nil {
			b.HoldExpiresAt = *expires
		}
		member.busy = append(member.busy, b)
	})
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// readRows reads the next result of a batch, scanning each row into dest and then calling use.
func readRows(results pgx.BatchResults, what string, dest []any, use func()) error {
	rows, err := results.Query()
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		use()
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// dateOf returns the calendar date of a PostgreSQL date column.
func dateOf(t time.Time) slots.Date {
	return slots.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// day assembles one date's schedule from the rows read for the whole range.
func (raw *rawSchedule) day(loc *Location, d slots.Date) slots.DaySchedule {
	weekday := int(d.Weekday())
	day := slots.DaySchedule{Date: d, Rules: loc.Rules(), Closed: raw.closures[d]}
	for _, w := range raw.opening {
		if w.weekday == weekday {
			day.Opening.Windows = append(day.Opening.Windows, w.window)
		}
	}

	dayStart := midnight(d, loc.Zone).Add(-2 * time.Hour)
	dayEnd := midnight(d, loc.Zone).Add(dayReach)
	for _, s := range raw.staff {
		var hours slots.DayHours
		if special, ok := s.special[d]; ok {
			hours = collect(special, -1)
		} else {
			hours = collect(s.weekly, weekday)
		}
		if len(hours.Windows) == 0 {
			continue
		}
		sd := slots.StaffDay{StaffID: s.id, Services: s.services, Hours: hours}
		for _, iv := range s.timeOff {
			if iv.Start.Before(dayEnd) && iv.End.After(dayStart) {
				sd.TimeOff = append(sd.TimeOff, iv)
			}
		}
		for _, b := range s.busy {
			if b.Interval.Start.Before(dayEnd) && b.Interval.End.After(dayStart) {
				sd.Busy = append(sd.Busy, b)
			}
		}
		day.Staff = append(day.Staff, sd)
	}
	return day
}

// collect splits rows into windows and breaks; weekday -1 takes every row.
func collect(rows []wallRow, weekday int) slots.DayHours {
	var h slots.DayHours
	for _, r := range rows {
		if weekday >= 0 && r.weekday != weekday {
			continue
		}
		if r.kind == "break" {
			h.Breaks = append(h.Breaks, r.window)
		} else {
			h.Windows = append(h.Windows, r.window)
		}
	}
	slices.SortFunc(h.Windows, func(a, b slots.WallWindow) int { return a.StartMinute - b.StartMinute })
	return h
}

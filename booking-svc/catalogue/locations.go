package catalogue

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/setora/rest/shared/slotquery"
)

// offsetTime is RFC 3339 with the offset always written as ±hh:mm, never Z.
const offsetTime = "2006-01-02T15:04:05-07:00"

// Location is a shop location with its weekly opening hours.
type Location struct {
	ID                uuid.UUID
	OrganisationID    uuid.UUID
	Slug              string
	Name              string
	TimeZone          string
	SlotStepMinutes   int
	MinNoticeMinutes  int
	BookingWindowDays int
	Opening           []span
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// LocationView is a location's JSON form.
type LocationView struct {
	ID                uuid.UUID      `json:"id"`
	Slug              string         `json:"slug"`
	Name              string         `json:"name"`
	Timezone          string         `json:"timezone"`
	SlotStepMinutes   int            `json:"slot_step_minutes"`
	MinNoticeMinutes  int            `json:"min_notice_minutes"`
	BookingWindowDays int            `json:"booking_window_days"`
	OpeningHours      []WeeklyWindow `json:"opening_hours"`
	CreatedAt         string         `json:"created_at"`
	UpdatedAt         string         `json:"updated_at"`
}

// View renders the location with its times in its own zone.
func (l *Location) View() LocationView {
	zone, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		zone = time.UTC
	}
	return LocationView{
		ID: l.ID, Slug: l.Slug, Name: l.Name, Timezone: l.TimeZone, SlotStepMinutes: l.SlotStepMinutes,
		MinNoticeMinutes: l.MinNoticeMinutes, BookingWindowDays: l.BookingWindowDays,
		OpeningHours: weeklyView(l.Opening), CreatedAt: l.CreatedAt.In(zone).Format(offsetTime),
		UpdatedAt: l.UpdatedAt.In(zone).Format(offsetTime),
	}
}

// LocationInput creates a location, or with PATCH changes the fields that are set. Opening
// hours, when given, replace the whole week.
type LocationInput struct {
	Slug              *string         `json:"slug"`
	Name              *string         `json:"name"`
	Timezone          *string         `json:"timezone"`
	SlotStepMinutes   *int            `json:"slot_step_minutes"`
	MinNoticeMinutes  *int            `json:"min_notice_minutes"`
	BookingWindowDays *int            `json:"booking_window_days"`
	OpeningHours      *[]WeeklyWindow `json:"opening_hours"`
}

// Limits of a location's fields; the database checks the same.
const (
	maxNameLength     = 200
	maxSlugLength     = 64
	minSlotStep       = 5
	maxSlotStep       = 240
	maxNoticeMinutes  = 43200
	maxBookingWindow  = 730
	defaultSlotStep   = 15
	defaultWindowDays = 60
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidSlug reports whether s can be a location slug.
func ValidSlug(s string) bool { return len(s) <= maxSlugLength && slugPattern.MatchString(s) }

// apply validates the input onto l. creating requires slug, name and timezone; otherwise the
// slug cannot change.
func (in *LocationInput) apply(l *Location, creating bool) (openingChanged bool, err error) {
	if creating {
		switch {
		case in.Slug == nil:
			return false, invalid("slug", "slug is required: lower-case letters, digits and single hyphens, such as \"soho\"")
		case in.Name == nil:
			return false, invalid("name", "name is required")
		case in.Timezone == nil:
			return false, invalid("timezone", "timezone is required: an IANA time zone name such as Europe/London")
		}
		if !ValidSlug(*in.Slug) {
			return false, invalid("slug", "slug %q must be at most %d lower-case letters, digits and single hyphens, such as \"soho\" or \"king-street\"", *in.Slug, maxSlugLength)
		}
		l.Slug = *in.Slug
		l.SlotStepMinutes, l.BookingWindowDays = defaultSlotStep, defaultWindowDays
	} else if in.Slug != nil && *in.Slug != l.Slug {
		return false, invalid("slug", "a location's slug cannot change, because integrations use it in URLs; create a new location instead")
	}

	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > maxNameLength {
			return false, invalid("name", "name must be 1 to %d characters", maxNameLength)
		}
		l.Name = name
	}
	if in.Timezone != nil {
		if _, err := slotquery.LoadZone(*in.Timezone); err != nil {
			return false, invalid("timezone", "timezone %q is not an IANA time zone name; use a name such as Europe/London", *in.Timezone)
		}
		l.TimeZone = *in.Timezone
	}
	if err := setInt(&l.SlotStepMinutes, in.SlotStepMinutes, "slot_step_minutes", minSlotStep, maxSlotStep); err != nil {
		return false, err
	}
	if err := setInt(&l.MinNoticeMinutes, in.MinNoticeMinutes, "min_notice_minutes", 0, maxNoticeMinutes); err != nil {
		return false, err
	}
	if err := setInt(&l.BookingWindowDays, in.BookingWindowDays, "booking_window_days", 1, maxBookingWindow); err != nil {
		return false, err
	}
	if in.OpeningHours != nil {
		spans, err := parseWeekly("opening_hours", *in.OpeningHours, false)
		if err != nil {
			return false, err
		}
		l.Opening = spans
		openingChanged = true
	}
	return openingChanged, nil
}

func setInt(dst *int, value *int, param string, lo, hi int) error {
	if value == nil {
		return nil
	}
	if *value < lo || *value > hi {
		return invalid(param, "%s must be between %d and %d, not %d", param, lo, hi, *value)
	}
	*dst = *value
	return nil
}

const locationColumns = `id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes,
	booking_window_days, created_at, updated_at`

func scanLocation(row pgx.Row) (*Location, error) {
	var l Location
	err := row.Scan(&l.ID, &l.OrganisationID, &l.Slug, &l.Name, &l.TimeZone, &l.SlotStepMinutes,
		&l.MinNoticeMinutes, &l.BookingWindowDays, &l.CreatedAt, &l.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrLocationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read location: %w", err)
	}
	return &l, nil
}

// querier is satisfied by the pool and by a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// locationBySlug reads a location with its opening hours; lock takes a row lock for a write.
func locationBySlug(ctx context.Context, q querier, orgID uuid.UUID, slug string, lock bool) (*Location, error) {
	sql := `SELECT ` + locationColumns + ` FROM locations WHERE organisation_id = $1 AND slug = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	l, err := scanLocation(q.QueryRow(ctx, sql, orgID, slug))
	if err != nil {
		return nil, err
	}
	if err := loadOpening(ctx, q, []*Location{l}); err != nil {
		return nil, err
	}
	return l, nil
}

func loadOpening(ctx context.Context, q querier, locs []*Location) error {
	if len(locs) == 0 {
		return nil
	}
	byID := map[uuid.UUID]*Location{}
	ids := make([]uuid.UUID, len(locs))
	for i, l := range locs {
		byID[l.ID], ids[i] = l, l.ID
	}
	rows, err := q.Query(ctx, `SELECT location_id, weekday, start_minute, end_minute FROM location_opening_hours
		WHERE location_id = ANY($1) ORDER BY location_id, weekday, start_minute`, ids)
	if err != nil {
		return fmt.Errorf("read opening hours: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		s := span{kind: "work"}
		if err := rows.Scan(&id, &s.weekday, &s.start, &s.end); err != nil {
			return fmt.Errorf("read opening hours: %w", err)
		}
		byID[id].Opening = append(byID[id].Opening, s)
	}
	return rows.Err()
}

// Location returns the organisation's location with that slug.
func (s *Store) Location(ctx context.Context, orgID uuid.UUID, slug string) (*Location, error) {
	return locationBySlug(ctx, s.pool, orgID, slug, false)
}

// Locations lists the organisation's locations in slug order.
func (s *Store) Locations(ctx context.Context, orgID uuid.UUID, req PageRequest) (Page[*Location], error) {
	const list = "locations"
	after, err := decodeCursor(list, "", req.Cursor)
	if err != nil {
		return Page[*Location]{}, err
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+locationColumns+` FROM locations
		WHERE organisation_id = $1 AND slug > $2 ORDER BY slug LIMIT $3`, orgID, after.key, limit+1)
	if err != nil {
		return Page[*Location]{}, fmt.Errorf("list locations: %w", err)
	}
	locs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Location, error) { return scanLocation(r) })
	if err != nil {
		return Page[*Location]{}, fmt.Errorf("list locations: %w", err)
	}
	page := paginate(locs, limit, list, "", func(l *Location) cursor { return cursor{key: l.Slug} })
	if err := loadOpening(ctx, s.pool, page.Items); err != nil {
		return Page[*Location]{}, err
	}
	return page, nil
}

// CreateLocation adds a location. A slug already used in the organisation is ErrSlugTaken.
func (s *Store) CreateLocation(ctx context.Context, orgID uuid.UUID, in LocationInput) (*Location, error) {
	l := &Location{OrganisationID: orgID}
	if _, err := in.apply(l, true); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *writeTx) error {
		err := tx.QueryRow(ctx, `INSERT INTO locations (organisation_id, slug, name, time_zone, slot_step_minutes,
				min_notice_minutes, booking_window_days)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at, updated_at`,
			orgID, l.Slug, l.Name, l.TimeZone, l.SlotStepMinutes, l.MinNoticeMinutes, l.BookingWindowDays).
			Scan(&l.ID, &l.CreatedAt, &l.UpdatedAt)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return ErrSlugTaken
		}
		if err != nil {
			return fmt.Errorf("insert location: %w", err)
		}
		if err := replaceOpening(ctx, tx, l); err != nil {
			return err
		}
		return notifyCatalogue(ctx, tx, orgID, l.ID)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// uniqueViolation is PostgreSQL's error code for a duplicate key.
const uniqueViolation = "23505"

func replaceOpening(ctx context.Context, tx *writeTx, l *Location) error {
	if _, err := tx.Exec(ctx, `DELETE FROM location_opening_hours WHERE location_id = $1`, l.ID); err != nil {
		return fmt.Errorf("replace opening hours: %w", err)
	}
	for _, o := range l.Opening {
		if _, err := tx.Exec(ctx, `INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
			VALUES ($1, $2, $3, $4)`, l.ID, o.weekday, o.start, o.end); err != nil {
			return fmt.Errorf("insert opening hours: %w", err)
		}
	}
	return nil
}

// UpdateLocation changes the fields set in in. It reports the future bookings that no longer
// fit the location's hours when the time zone or opening hours changed.
func (s *Store) UpdateLocation(ctx context.Context, orgID uuid.UUID, now time.Time, slug string, in LocationInput) (*Location, []Stranded, error) {
	var loc *Location
	var stranded []Stranded
	err := s.inTx(ctx, func(tx *writeTx) error {
		l, err := locationBySlug(ctx, tx, orgID, slug, true)
		if err != nil {
			return err
		}
		zoneBefore := l.TimeZone
		openingChanged, err := in.apply(l, false)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE locations SET name = $2, time_zone = $3, slot_step_minutes = $4,
				min_notice_minutes = $5, booking_window_days = $6, updated_at = now()
			WHERE id = $1 RETURNING updated_at`,
			l.ID, l.Name, l.TimeZone, l.SlotStepMinutes, l.MinNoticeMinutes, l.BookingWindowDays).Scan(&l.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update location: %w", err)
		}
		if openingChanged {
			if err := replaceOpening(ctx, tx, l); err != nil {
				return err
			}
		}
		if openingChanged || zoneBefore != l.TimeZone {
			if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{locationID: l.ID}); err != nil {
				return err
			}
		}
		loc = l
		return notifyCatalogue(ctx, tx, orgID, l.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return loc, stranded, nil
}

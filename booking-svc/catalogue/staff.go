package catalogue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Staff is a staff member with what they do at each location.
type Staff struct {
	ID        uuid.UUID
	Name      string
	Active    bool
	Locations []*StaffLocation
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StaffLocation is a staff member's setup at one location: the services they perform there and
// their weekly working hours with breaks.
type StaffLocation struct {
	LocationID   uuid.UUID
	LocationSlug string
	ServiceIDs   []uuid.UUID
	Weekly       []span
}

// StaffView is a staff member's JSON form.
type StaffView struct {
	ID        uuid.UUID           `json:"id"`
	Name      string              `json:"name"`
	Active    bool                `json:"active"`
	Locations []StaffLocationView `json:"locations"`
	CreatedAt string              `json:"created_at"`
	UpdatedAt string              `json:"updated_at"`
}

// StaffLocationView is a staff member's services and weekly hours at one location.
type StaffLocationView struct {
	LocationID   uuid.UUID      `json:"location_id"`
	LocationSlug string         `json:"location_slug"`
	ServiceIDs   []uuid.UUID    `json:"service_ids"`
	WeeklyHours  []WeeklyWindow `json:"weekly_hours"`
}

// View renders the staff member with times in UTC.
func (s *Staff) View() StaffView {
	v := StaffView{ID: s.ID, Name: s.Name, Active: s.Active, Locations: []StaffLocationView{},
		CreatedAt: s.CreatedAt.UTC().Format(offsetTime), UpdatedAt: s.UpdatedAt.UTC().Format(offsetTime)}
	for _, l := range s.Locations {
		ids := l.ServiceIDs
		if ids == nil {
			ids = []uuid.UUID{}
		}
		v.Locations = append(v.Locations, StaffLocationView{LocationID: l.LocationID, LocationSlug: l.LocationSlug,
			ServiceIDs: ids, WeeklyHours: weeklyView(l.Weekly)})
	}
	return v
}

// StaffInput creates a staff member, or with PATCH changes the fields that are set.
type StaffInput struct {
	Name   *string `json:"name"`
	Active *bool   `json:"active"`
}

func (in *StaffInput) apply(s *Staff, creating bool) error {
	if creating {
		if in.Name == nil {
			return invalid("name", "name is required")
		}
		s.Active = true
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > maxNameLength {
			return invalid("name", "name must be 1 to %d characters", maxNameLength)
		}
		s.Name = name
	}
	if in.Active != nil {
		s.Active = *in.Active
	}
	return nil
}

const staffColumns = `id, name, active, created_at, updated_at`

func scanStaff(row pgx.Row) (*Staff, error) {
	var s Staff
	err := row.Scan(&s.ID, &s.Name, &s.Active, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrStaffNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read staff member: %w", err)
	}
	return &s, nil
}

func staffByID(ctx context.Context, q querier, orgID, id uuid.UUID, lock bool) (*Staff, error) {
	sql := `SELECT ` + staffColumns + ` FROM staff WHERE organisation_id = $1 AND id = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	s, err := scanStaff(q.QueryRow(ctx, sql, orgID, id))
	if err != nil {
		return nil, err
	}
	if err := loadStaffLocations(ctx, q, []*Staff{s}); err != nil {
		return nil, err
	}
	return s, nil
}

// loadStaffLocations fills in each staff member's services and weekly hours per location, in
// location slug order.
func loadStaffLocations(ctx context.Context, q querier, staff []*Staff) error {
	if len(staff) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(staff))
	byID := map[uuid.UUID]*Staff{}
	for i, s := range staff {
		ids[i], byID[s.ID] = s.ID, s
	}
	locationOf := func(s *Staff, id uuid.UUID, slug string) *StaffLocation {
		for _, l := range s.Locations {
			if l.LocationID == id {
				return l
			}
		}
		l := &StaffLocation{LocationID: id, LocationSlug: slug}
		s.Locations = append(s.Locations, l)
		return l
	}

	rows, err := q.Query(ctx, `SELECT ss.staff_id, l.id, l.slug, ss.service_id FROM staff_services ss
		JOIN locations l ON l.id = ss.location_id WHERE ss.staff_id = ANY($1) ORDER BY l.slug, ss.service_id`, ids)
	if err != nil {
		return fmt.Errorf("read staff services: %w", err)
	}
	for rows.Next() {
		var staffID, locID, serviceID uuid.UUID
		var slug string
		if err := rows.Scan(&staffID, &locID, &slug, &serviceID); err != nil {
			rows.Close()
			return fmt.Errorf("read staff services: %w", err)
		}
		l := locationOf(byID[staffID], locID, slug)
		l.ServiceIDs = append(l.ServiceIDs, serviceID)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read staff services: %w", err)
	}

	rows, err = q.Query(ctx, `SELECT h.staff_id, l.id, l.slug, h.weekday, h.kind, h.start_minute, h.end_minute
		FROM staff_weekly_hours h JOIN locations l ON l.id = h.location_id
		WHERE h.staff_id = ANY($1) ORDER BY l.slug, h.weekday, h.start_minute`, ids)
	if err != nil {
		return fmt.Errorf("read weekly hours: %w", err)
	}
	for rows.Next() {
		var staffID, locID uuid.UUID
		var slug string
		var s span
		if err := rows.Scan(&staffID, &locID, &slug, &s.weekday, &s.kind, &s.start, &s.end); err != nil {
			rows.Close()
			return fmt.Errorf("read weekly hours: %w", err)
		}
		l := locationOf(byID[staffID], locID, slug)
		l.Weekly = append(l.Weekly, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read weekly hours: %w", err)
	}
	for _, s := range staff {
		slices.SortFunc(s.Locations, func(a, b *StaffLocation) int { return strings.Compare(a.LocationSlug, b.LocationSlug) })
	}
	return nil
}

// StaffMember returns one of the organisation's staff, active or not.
func (s *Store) StaffMember(ctx context.Context, orgID, id uuid.UUID) (*Staff, error) {
	return staffByID(ctx, s.pool, orgID, id, false)
}

// StaffFilter narrows a list of staff. Zero values do not filter.
type StaffFilter struct {
	LocationSlug string    // staff who perform a service at this location
	ServiceID    uuid.UUID // staff who perform this service (at LocationSlug when both are set)
	Active       *bool
}

func (f StaffFilter) canonical() string {
	active := ""
	if f.Active != nil {
		active = fmt.Sprint(*f.Active)
	}
	return f.LocationSlug + "|" + f.ServiceID.String() + "|" + active
}

// StaffList lists the organisation's staff, oldest first. An unknown location slug is
// ErrLocationNotFound; an unknown service matches no staff.
func (s *Store) StaffList(ctx context.Context, orgID uuid.UUID, f StaffFilter, req PageRequest) (Page[*Staff], error) {
	const list = "staff"
	after, at, id, err := timeCursor(list, f.canonical(), req.Cursor)
	if err != nil {
		return Page[*Staff]{}, err
	}
	var locationID, serviceID *uuid.UUID
	if f.LocationSlug != "" {
		loc, err := locationBySlug(ctx, s.pool, orgID, f.LocationSlug, false)
		if err != nil {
			return Page[*Staff]{}, err
		}
		locationID = &loc.ID
	}
	if f.ServiceID != uuid.Nil {
		serviceID = &f.ServiceID
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+staffColumns+` FROM staff st
		WHERE organisation_id = $1
		AND (($2::uuid IS NULL AND $3::uuid IS NULL) OR EXISTS (SELECT 1 FROM staff_services ss WHERE ss.staff_id = st.id
			AND ($2::uuid IS NULL OR ss.location_id = $2) AND ($3::uuid IS NULL OR ss.service_id = $3)))
		AND ($4::boolean IS NULL OR active = $4)
		AND (NOT $5 OR (created_at, id) > ($6, $7))
		ORDER BY created_at, id LIMIT $8`,
		orgID, locationID, serviceID, f.Active, after, at, id, limit+1)
	if err != nil {
		return Page[*Staff]{}, fmt.Errorf("list staff: %w", err)
	}
	staff, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Staff, error) { return scanStaff(r) })
	if err != nil {
		return Page[*Staff]{}, fmt.Errorf("list staff: %w", err)
	}
	page := paginate(staff, limit, list, f.canonical(), func(st *Staff) cursor { return timePosition(st.CreatedAt, st.ID) })
	if err := loadStaffLocations(ctx, s.pool, page.Items); err != nil {
		return Page[*Staff]{}, err
	}
	return page, nil
}

// CreateStaff adds a staff member, who works nowhere until given services and hours.
func (s *Store) CreateStaff(ctx context.Context, orgID uuid.UUID, in StaffInput) (*Staff, error) {
	st := &Staff{}
	if err := in.apply(st, true); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *writeTx) error {
		err := tx.QueryRow(ctx, `INSERT INTO staff (organisation_id, name, active) VALUES ($1, $2, $3)
			RETURNING id, created_at, updated_at`, orgID, st.Name, st.Active).Scan(&st.ID, &st.CreatedAt, &st.UpdatedAt)
		if err != nil {
			return fmt.Errorf("insert staff member: %w", err)
		}
		return notifyCatalogue(ctx, tx, orgID)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// UpdateStaff changes the fields set in in. Deactivating a staff member reports their future
// bookings, which stay booked.
func (s *Store) UpdateStaff(ctx context.Context, orgID uuid.UUID, now time.Time, id uuid.UUID, in StaffInput) (*Staff, []Stranded, error) {
	var staff *Staff
	var stranded []Stranded
	err := s.inTx(ctx, func(tx *writeTx) error {
		st, err := staffByID(ctx, tx, orgID, id, true)
		if err != nil {
			return err
		}
		wasActive := st.Active
		if err := in.apply(st, false); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE staff SET name = $2, active = $3, updated_at = now() WHERE id = $1
			RETURNING updated_at`, st.ID, st.Name, st.Active).Scan(&st.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update staff member: %w", err)
		}
		if wasActive && !st.Active {
			if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{staffID: st.ID}); err != nil {
				return err
			}
		}
		staff = st
		return notifyCatalogue(ctx, tx, orgID, st.locationIDs()...)
	})
	if err != nil {
		return nil, nil, err
	}
	return staff, stranded, nil
}

func (s *Staff) locationIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(s.Locations))
	for _, l := range s.Locations {
		ids = append(ids, l.LocationID)
	}
	return ids
}

// checkServices returns a *MissingServiceError for the first of ids that is not one of the
// organisation's services.
func checkServices(ctx context.Context, tx *writeTx, orgID uuid.UUID, ids []uuid.UUID) error {
	rows, err := tx.Query(ctx, `SELECT id FROM services WHERE organisation_id = $1 AND id = ANY($2)`, orgID, ids)
	if err != nil {
		return fmt.Errorf("check services: %w", err)
	}
	known, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("check services: %w", err)
	}
	for i, id := range ids {
		if !slices.Contains(known, id) {
			return &MissingServiceError{Index: i, ID: id}
		}
	}
	return nil
}

// SetStaffServices replaces the services a staff member performs at a location. Every service
// must be one of the organisation's; an empty list removes the staff member from the location's
// availability while keeping their hours.
func (s *Store) SetStaffServices(ctx context.Context, orgID uuid.UUID, now time.Time, staffID uuid.UUID, slug string, serviceIDs []uuid.UUID) (*Staff, []Stranded, error) {
	var staff *Staff
	var stranded []Stranded
	err := s.inTx(ctx, func(tx *writeTx) error {
		st, loc, err := staffAndLocation(ctx, tx, orgID, staffID, slug)
		if err != nil {
			return err
		}
		if err := checkServices(ctx, tx, orgID, serviceIDs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_services WHERE staff_id = $1 AND location_id = $2`, st.ID, loc.ID); err != nil {
			return fmt.Errorf("replace staff services: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id)
			SELECT $1, $2, unnest($3::uuid[]), $4`, orgID, st.ID, serviceIDs, loc.ID); err != nil {
			return fmt.Errorf("insert staff services: %w", err)
		}
		if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{staffID: st.ID, locationID: loc.ID}); err != nil {
			return err
		}
		if staff, err = staffByID(ctx, tx, orgID, st.ID, false); err != nil {
			return err
		}
		return notifyCatalogue(ctx, tx, orgID, loc.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return staff, stranded, nil
}

// SetWeeklyHours replaces a staff member's weekly hours and breaks at a location.
func (s *Store) SetWeeklyHours(ctx context.Context, orgID uuid.UUID, now time.Time, staffID uuid.UUID, slug string, hours []WeeklyWindow) (*Staff, []Stranded, error) {
	spans, err := parseWeekly("weekly_hours", hours, true)
	if err != nil {
		return nil, nil, err
	}
	var staff *Staff
	var stranded []Stranded
	err = s.inTx(ctx, func(tx *writeTx) error {
		st, loc, err := staffAndLocation(ctx, tx, orgID, staffID, slug)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_weekly_hours WHERE staff_id = $1 AND location_id = $2`, st.ID, loc.ID); err != nil {
			return fmt.Errorf("replace weekly hours: %w", err)
		}
		for _, h := range spans {
			if _, err := tx.Exec(ctx, `INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
				VALUES ($1, $2, $3, $4, $5, $6)`, st.ID, loc.ID, h.weekday, h.kind, h.start, h.end); err != nil {
				return fmt.Errorf("insert weekly hours: %w", err)
			}
		}
		if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{staffID: st.ID, locationID: loc.ID}); err != nil {
			return err
		}
		if staff, err = staffByID(ctx, tx, orgID, st.ID, false); err != nil {
			return err
		}
		// Weekly hours shape every date of the location.
		return notifyDates(ctx, tx, orgID, []uuid.UUID{loc.ID}, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	return staff, stranded, nil
}

// staffAndLocation locks the staff member's row, so that concurrent changes to one staff
// member's setup apply one after the other, and reads the location.
func staffAndLocation(ctx context.Context, tx *writeTx, orgID, staffID uuid.UUID, slug string) (*Staff, *Location, error) {
	st, err := scanStaff(tx.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE organisation_id = $1 AND id = $2 FOR UPDATE`,
		orgID, staffID))
	if err != nil {
		return nil, nil, err
	}
	loc, err := locationBySlug(ctx, tx, orgID, slug, false)
	if err != nil {
		return nil, nil, err
	}
	return st, loc, nil
}

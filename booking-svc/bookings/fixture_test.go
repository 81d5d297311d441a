package bookings

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/dbtest"
)

// testDay is a Tuesday in British Summer Time, so London wall times are UTC+1.
const testDay = "2026-05-12"

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	zone, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return zone
}

// shop is one organisation on its own database: a London location with a 15-minute slot step
// and no minimum notice, open 09:00-19:00 every day, and two staff members who work
// 09:00-17:00 every day and perform every service.
type shop struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *Store
	org   uuid.UUID
	loc   uuid.UUID
	// now is the organisation's present: the day before testDay at noon.
	now time.Time

	alice, bob uuid.UUID
	// cut is 30 minutes, and fade 45 minutes with a 15-minute buffer after. long is 60 minutes,
	// and colour 60 minutes with a price of 5000 and a deposit of 1500 (GBP minor units).
	cut, fade, long, colour uuid.UUID
}

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)

	s := &shop{
		t: t, ctx: ctx, pool: pool, store: NewStore(pool, nil),
		org: uuid.New(), loc: uuid.New(), alice: uuid.New(), bob: uuid.New(),
		cut: uuid.New(), fade: uuid.New(), long: uuid.New(), colour: uuid.New(),
	}
	s.now = s.at("2026-05-11", "12:00")
	s.exec(`INSERT INTO organisations (id, name, mode, test_clock) VALUES ($1, 'Test Barbers', 'test', $2)`, s.org, s.now)
	s.exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes, min_notice_minutes,
		booking_window_days) VALUES ($1, $2, 'shop', 'Test Barbers', 'Europe/London', 15, 0, 60)`, s.loc, s.org)
	s.exec(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
		SELECT $1, d, 540, 1140 FROM generate_series(0, 6) d`, s.loc)
	for _, svc := range []struct {
		id                       uuid.UUID
		name                     string
		duration, after          int
		priceMinor, depositMinor int64
	}{
		{s.cut, "Cut", 30, 0, 2800, 0},
		{s.fade, "Fade", 45, 15, 3200, 0},
		{s.long, "Long cut", 60, 0, 4000, 0},
		{s.colour, "Colour", 60, 0, 5000, 1500},
	} {
		s.exec(`INSERT INTO services (id, organisation_id, name, duration_minutes, buffer_after_minutes, price_minor,
			deposit_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)`, svc.id, s.org, svc.name, svc.duration, svc.after,
			svc.priceMinor, svc.depositMinor)
	}
	for _, staff := range []uuid.UUID{s.alice, s.bob} {
		s.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Staff')`, staff, s.org)
		s.exec(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id)
			SELECT $1, $2, id, $3 FROM services WHERE organisation_id = $1`, s.org, staff, s.loc)
		s.exec(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
			SELECT $1, $2, d, 'work', 540, 1020 FROM generate_series(0, 6) d`, staff, s.loc)
	}
	return s
}

func (s *shop) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(s.ctx, sql, args...); err != nil {
		s.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (s *shop) count(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(s.ctx, sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("count %q: %v", sql, err)
	}
	return n
}

// at returns a London wall time on a date.
func (s *shop) at(date, clock string) time.Time {
	s.t.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, london)
	if err != nil {
		s.t.Fatal(err)
	}
	return t
}

// on returns a London wall time on testDay.
func (s *shop) on(clock string) time.Time { return s.at(testDay, clock) }

// input returns a create request for one service with one staff member (uuid.Nil for any).
func (s *shop) input(service, staff uuid.UUID, clock string) CreateInput {
	return CreateInput{LocationSlug: "shop", ServiceIDs: []uuid.UUID{service}, StartsAt: s.on(clock), StaffID: staff, Source: "test"}
}

// book creates a confirmed booking and fails the test if it cannot.
func (s *shop) book(service, staff uuid.UUID, clock string) *Booking {
	s.t.Helper()
	b, err := s.store.Create(s.ctx, s.org, s.now, s.input(service, staff, clock))
	if err != nil {
		s.t.Fatalf("book %s at %s: %v", service, clock, err)
	}
	return b
}

// hold creates a hold that lapses after ttl.
func (s *shop) hold(service, staff uuid.UUID, clock string, ttl time.Duration) *Booking {
	s.t.Helper()
	in := s.input(service, staff, clock)
	in.Hold, in.HoldTTL = true, ttl
	b, err := s.store.Create(s.ctx, s.org, s.now, in)
	if err != nil {
		s.t.Fatalf("hold %s at %s: %v", service, clock, err)
	}
	return b
}

func isSlotTaken(err error) bool {
	var taken *SlotTakenError
	return errors.As(err, &taken)
}

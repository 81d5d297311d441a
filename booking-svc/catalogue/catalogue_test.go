package catalogue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/slots"
)

func ptr[T any](v T) *T { return &v }

// fixture is one test-mode organisation on its own database.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *Store
	org   uuid.UUID
	// now is Monday 11 May 2026, 08:00 in London.
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	url := dbtest.New(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	f := &fixture{t: t, ctx: ctx, pool: pool, store: NewStore(pool, nil), org: uuid.New(),
		now: time.Date(2026, 5, 11, 7, 0, 0, 0, time.UTC)}
	if _, err := pool.Exec(ctx, `INSERT INTO organisations (id, name, mode) VALUES ($1, 'Test shop', 'test')`, f.org); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// shop creates a London location open 09:00-18:00 Monday to Saturday, a 30-minute service and a
// staff member who performs it there 09:00-17:00 Monday to Friday with a break at 13:00.
func (f *fixture) shop() (*Location, *Service, *Staff) {
	f.t.Helper()
	var opening []WeeklyWindow
	var work []WeeklyWindow
	for _, day := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		opening = append(opening, WeeklyWindow{Weekday: day, Window: Window{Start: "09:00", End: "18:00"}})
		if day != "saturday" {
			work = append(work, WeeklyWindow{Weekday: day, Window: Window{Start: "09:00", End: "17:00",
				Breaks: []TimeRange{{Start: "13:00", End: "13:30"}}}})
		}
	}
	loc, err := f.store.CreateLocation(f.ctx, f.org, LocationInput{Slug: ptr("soho"), Name: ptr("Soho"),
		Timezone: ptr("Europe/London"), OpeningHours: &opening})
	f.must(err)
	sv, err := f.store.CreateService(f.ctx, f.org, ServiceInput{Name: ptr("Cut"), DurationMinutes: ptr(30), PriceMinor: ptr(int64(2500))})
	f.must(err)
	st, err := f.store.CreateStaff(f.ctx, f.org, StaffInput{Name: ptr("Alex")})
	f.must(err)
	_, _, err = f.store.SetStaffServices(f.ctx, f.org, f.now, st.ID, "soho", []uuid.UUID{sv.ID})
	f.must(err)
	st, _, err = f.store.SetWeeklyHours(f.ctx, f.org, f.now, st.ID, "soho", work)
	f.must(err)
	return loc, sv, st
}

// book inserts a confirmed booking directly, as the booking store would.
func (f *fixture) book(loc *Location, sv *Service, st *Staff, start time.Time) uuid.UUID {
	f.t.Helper()
	id := uuid.New()
	end := start.Add(time.Duration(sv.DurationMinutes) * time.Minute)
	_, err := f.pool.Exec(f.ctx, `INSERT INTO bookings (id, organisation_id, reference, location_id, staff_id, status,
			starts_at, ends_at, blocked, confirmed_at)
		VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, tstzrange($6, $7, '[)'), now())`,
		id, f.org, "SET-"+strings.ToUpper(id.String()[:6]), loc.ID, st.ID, start, end)
	f.must(err)
	_, err = f.pool.Exec(f.ctx, `INSERT INTO booking_services (booking_id, position, service_id, duration_minutes,
			buffer_before_minutes, buffer_after_minutes, price_minor, deposit_minor, currency)
		VALUES ($1, 0, $2, $3, 0, 0, $4, 0, 'GBP')`, id, sv.ID, sv.DurationMinutes, sv.PriceMinor)
	f.must(err)
	return id
}

func TestLocationTimeZoneValidation(t *testing.T) {
	f := newFixture(t)
	for _, zone := range []string{"Europe/Londn", "GMT-05:00", "", "Local", "+01:00", "Europe//London", "posix/Europe/London"} {
		_, err := f.store.CreateLocation(f.ctx, f.org, LocationInput{Slug: ptr("x"), Name: ptr("X"), Timezone: ptr(zone)})
		var invalid *ValidationError
		if !errors.As(err, &invalid) || invalid.Param != "timezone" {
			t.Errorf("timezone %q: error %v, want a validation error on timezone", zone, err)
		}
	}
	loc, err := f.store.CreateLocation(f.ctx, f.org, LocationInput{Slug: ptr("ny"), Name: ptr("New York"), Timezone: ptr("America/New_York")})
	if err != nil {
		t.Fatalf("America/New_York rejected: %v", err)
	}
	if loc.TimeZone != "America/New_York" || loc.SlotStepMinutes != defaultSlotStep || loc.BookingWindowDays != defaultWindowDays {
		t.Errorf("created location = %+v", loc)
	}
}

func TestLocationSlugTakenAndImmutable(t *testing.T) {
	f := newFixture(t)
	in := LocationInput{Slug: ptr("soho"), Name: ptr("Soho"), Timezone: ptr("Europe/London")}
	_, err := f.store.CreateLocation(f.ctx, f.org, in)
	f.must(err)
	if _, err := f.store.CreateLocation(f.ctx, f.org, in); !errors.Is(err, ErrSlugTaken) {
		t.Errorf("second location with one slug: %v, want ErrSlugTaken", err)
	}
	_, _, err = f.store.UpdateLocation(f.ctx, f.org, f.now, "soho", LocationInput{Slug: ptr("mayfair")})
	var invalid *ValidationError
	if !errors.As(err, &invalid) || invalid.Param != "slug" {
		t.Errorf("slug change: %v, want a validation error on slug", err)
	}
}

func TestOtherOrganisationNotFound(t *testing.T) {
	f := newFixture(t)
	loc, sv, st := f.shop()
	other := uuid.New()
	_, err := f.pool.Exec(f.ctx, `INSERT INTO organisations (id, name, mode) VALUES ($1, 'Other', 'test')`, other)
	f.must(err)
	if _, err := f.store.Location(f.ctx, other, loc.Slug); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("location from another organisation: %v", err)
	}
	if _, err := f.store.Service(f.ctx, other, sv.ID); !errors.Is(err, ErrServiceNotFound) {
		t.Errorf("service from another organisation: %v", err)
	}
	if _, err := f.store.StaffMember(f.ctx, other, st.ID); !errors.Is(err, ErrStaffNotFound) {
		t.Errorf("staff from another organisation: %v", err)
	}
	if _, _, err := f.store.CreateTimeOff(f.ctx, other, f.now, st.ID, TimeOffInput{
		StartsAt: "2026-05-12T09:00:00+01:00", EndsAt: "2026-05-12T10:00:00+01:00"}); !errors.Is(err, ErrStaffNotFound) {
		t.Errorf("time off for another organisation's staff: %v", err)
	}
}

func TestStaffViewGroupsHoursAndBreaks(t *testing.T) {
	f := newFixture(t)
	_, sv, st := f.shop()
	v := st.View()
	if len(v.Locations) != 1 || v.Locations[0].LocationSlug != "soho" {
		t.Fatalf("locations = %+v", v.Locations)
	}
	l := v.Locations[0]
	if len(l.ServiceIDs) != 1 || l.ServiceIDs[0] != sv.ID {
		t.Errorf("service ids = %v", l.ServiceIDs)
	}
	if len(l.WeeklyHours) != 5 || l.WeeklyHours[0].Weekday != "monday" {
		t.Fatalf("weekly hours = %+v", l.WeeklyHours)
	}
	monday := l.WeeklyHours[0]
	if monday.Start != "09:00" || monday.End != "17:00" || len(monday.Breaks) != 1 || monday.Breaks[0].Start != "13:00" {
		t.Errorf("monday = %+v", monday)
	}
}

func TestHoursValidation(t *testing.T) {
	cases := []struct {
		name    string
		windows []WeeklyWindow
		param   string
	}{
		{"unknown weekday", []WeeklyWindow{{Weekday: "mon", Window: Window{Start: "09:00", End: "17:00"}}}, "weekly_hours[0].weekday"},
		{"malformed time", []WeeklyWindow{{Weekday: "monday", Window: Window{Start: "9:00", End: "17:00"}}}, "weekly_hours[0].start"},
		{"minute 60", []WeeklyWindow{{Weekday: "monday", Window: Window{Start: "09:60", End: "17:00"}}}, "weekly_hours[0].start"},
		{"start at 24:00", []WeeklyWindow{{Weekday: "monday", Window: Window{Start: "24:00", End: "17:00"}}}, "weekly_hours[0].start"},
		{"overlapping windows", []WeeklyWindow{
			{Weekday: "monday", Window: Window{Start: "09:00", End: "13:00"}},
			{Weekday: "monday", Window: Window{Start: "12:00", End: "17:00"}},
		}, "weekly_hours"},
		{"break outside", []WeeklyWindow{{Weekday: "monday", Window: Window{Start: "09:00", End: "17:00",
			Breaks: []TimeRange{{Start: "16:30", End: "17:30"}}}}}, "weekly_hours[0].breaks[0]"},
		{"overlapping breaks", []WeeklyWindow{{Weekday: "monday", Window: Window{Start: "09:00", End: "17:00",
			Breaks: []TimeRange{{Start: "12:00", End: "13:00"}, {Start: "12:30", End: "13:30"}}}}}, "weekly_hours[0].breaks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWeekly("weekly_hours", tc.windows, true)
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("error = %v, want a validation error", err)
			}
			if invalid.Param != tc.param {
				t.Errorf("param = %q, want %q (%s)", invalid.Param, tc.param, invalid.Message)
			}
		})
	}
}

func TestHoursAcrossMidnight(t *testing.T) {
	spans, err := parseWeekly("h", []WeeklyWindow{
		{Weekday: "friday", Window: Window{Start: "20:00", End: "02:00", Breaks: []TimeRange{{Start: "23:00", End: "23:30"}}}},
		{Weekday: "saturday", Window: Window{Start: "10:00", End: "24:00"}},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{5, "work", 1200, 1560}, {5, "break", 1380, 1410}, {6, "work", 600, 1440}}
	if len(spans) != len(want) {
		t.Fatalf("spans = %+v", spans)
	}
	for i := range want {
		if spans[i] != want[i] {
			t.Errorf("span %d = %+v, want %+v", i, spans[i], want[i])
		}
	}
	view := weeklyView(spans)
	if view[0].End != "02:00" || view[1].End != "24:00" {
		t.Errorf("view = %+v", view)
	}
}

func TestListsPageWithoutGapsOrRepeats(t *testing.T) {
	f := newFixture(t)
	for _, slug := range []string{"c", "a", "e", "b", "d"} {
		_, err := f.store.CreateLocation(f.ctx, f.org, LocationInput{Slug: ptr(slug), Name: ptr(slug), Timezone: ptr("Europe/London")})
		f.must(err)
		_, err = f.store.CreateService(f.ctx, f.org, ServiceInput{Name: ptr(slug), DurationMinutes: ptr(30)})
		f.must(err)
	}
	var slugs []string
	req := PageRequest{Limit: 2}
	for pages := 0; ; pages++ {
		page, err := f.store.Locations(f.ctx, f.org, req)
		f.must(err)
		for _, l := range page.Items {
			slugs = append(slugs, l.Slug)
		}
		if !page.HasMore {
			if pages != 2 {
				t.Errorf("pages = %d, want 3", pages+1)
			}
			break
		}
		req.Cursor = page.NextCursor
	}
	if got := len(slugs); got != 5 || slugs[0] != "a" || slugs[4] != "e" {
		t.Errorf("slugs = %v", slugs)
	}

	seen := map[uuid.UUID]bool{}
	req = PageRequest{Limit: 2}
	for {
		page, err := f.store.Services(f.ctx, f.org, ServiceFilter{}, req)
		f.must(err)
		for _, s := range page.Items {
			if seen[s.ID] {
				t.Errorf("service %s listed twice", s.ID)
			}
			seen[s.ID] = true
		}
		if !page.HasMore {
			break
		}
		req.Cursor = page.NextCursor
	}
	if len(seen) != 5 {
		t.Errorf("listed %d services, want 5", len(seen))
	}

	if _, err := f.store.Services(f.ctx, f.org, ServiceFilter{Active: ptr(true)}, PageRequest{Cursor: req.Cursor}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("cursor reused with another filter: %v, want ErrInvalidCursor", err)
	}
	if _, err := f.store.Locations(f.ctx, f.org, PageRequest{Cursor: "not-a-cursor!"}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("malformed cursor: %v, want ErrInvalidCursor", err)
	}
}

func TestStaffFilters(t *testing.T) {
	f := newFixture(t)
	_, sv, st := f.shop()
	_, err := f.store.CreateStaff(f.ctx, f.org, StaffInput{Name: ptr("Idle")})
	f.must(err)

	all, err := f.store.StaffList(f.ctx, f.org, StaffFilter{}, PageRequest{})
	f.must(err)
	if len(all.Items) != 2 {
		t.Errorf("all staff = %d, want 2", len(all.Items))
	}
	atSoho, err := f.store.StaffList(f.ctx, f.org, StaffFilter{LocationSlug: "soho", ServiceID: sv.ID}, PageRequest{})
	f.must(err)
	if len(atSoho.Items) != 1 || atSoho.Items[0].ID != st.ID {
		t.Errorf("staff performing the cut at soho = %+v", atSoho.Items)
	}
	if _, err := f.store.StaffList(f.ctx, f.org, StaffFilter{LocationSlug: "nowhere"}, PageRequest{}); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("unknown location filter: %v", err)
	}
	services, err := f.store.Services(f.ctx, f.org, ServiceFilter{LocationSlug: "soho"}, PageRequest{})
	f.must(err)
	if len(services.Items) != 1 || services.Items[0].ID != sv.ID {
		t.Errorf("services at soho = %+v", services.Items)
	}
}

func TestShortenedHoursReportStrandedBooking(t *testing.T) {
	f := newFixture(t)
	loc, sv, st := f.shop()
	london, _ := time.LoadLocation("Europe/London")
	late := f.book(loc, sv, st, time.Date(2026, 5, 12, 16, 0, 0, 0, london))
	early := f.book(loc, sv, st, time.Date(2026, 5, 12, 10, 0, 0, 0, london))

	hours := []WeeklyWindow{{Weekday: "tuesday", Window: Window{Start: "09:00", End: "15:00"}}}
	_, stranded, err := f.store.SetWeeklyHours(f.ctx, f.org, f.now, st.ID, "soho", hours)
	f.must(err)
	if len(stranded) != 1 || stranded[0].ID != late {
		t.Fatalf("stranded = %+v, want only the 16:00 booking", stranded)
	}
	if stranded[0].Reason != "outside_hours" || stranded[0].StartsAt != "2026-05-12T16:00:00+01:00" {
		t.Errorf("stranded booking = %+v", stranded[0])
	}
	var status string
	f.must(f.pool.QueryRow(f.ctx, `SELECT status FROM bookings WHERE id = $1`, late).Scan(&status))
	if status != "confirmed" {
		t.Errorf("stranded booking status = %q, want it left confirmed", status)
	}
	_ = early
}

func TestTimeOffReportsOverlappedBooking(t *testing.T) {
	f := newFixture(t)
	loc, sv, st := f.shop()
	london, _ := time.LoadLocation("Europe/London")
	booked := f.book(loc, sv, st, time.Date(2026, 5, 13, 11, 0, 0, 0, london))

	off, stranded, err := f.store.CreateTimeOff(f.ctx, f.org, f.now, st.ID, TimeOffInput{
		StartsAt: "2026-05-13T10:00:00+01:00", EndsAt: "2026-05-13T12:00:00+01:00", Reason: "dentist"})
	f.must(err)
	if len(stranded) != 1 || stranded[0].ID != booked || stranded[0].Reason != "time_off" {
		t.Fatalf("stranded = %+v, want the 11:00 booking for time_off", stranded)
	}
	if off.View().StartsAt != "2026-05-13T09:00:00+00:00" {
		t.Errorf("time off starts_at = %s", off.View().StartsAt)
	}
	f.must(f.store.DeleteTimeOff(f.ctx, f.org, st.ID, off.ID))
	if err := f.store.DeleteTimeOff(f.ctx, f.org, st.ID, off.ID); !errors.Is(err, ErrTimeOffNotFound) {
		t.Errorf("second delete: %v, want ErrTimeOffNotFound", err)
	}
}

func TestClosureAndServiceDeactivationReport(t *testing.T) {
	f := newFixture(t)
	loc, sv, st := f.shop()
	london, _ := time.LoadLocation("Europe/London")
	booked := f.book(loc, sv, st, time.Date(2026, 5, 14, 9, 30, 0, 0, london))

	_, stranded, err := f.store.PutClosure(f.ctx, f.org, f.now, "soho", slots.Date{Year: 2026, Month: 5, Day: 14}, "flood")
	f.must(err)
	if len(stranded) != 1 || stranded[0].ID != booked || stranded[0].Reason != "outside_hours" {
		t.Errorf("closure stranded = %+v", stranded)
	}
	f.must(f.store.DeleteClosure(f.ctx, f.org, "soho", slots.Date{Year: 2026, Month: 5, Day: 14}))

	_, stranded, err = f.store.UpdateService(f.ctx, f.org, f.now, sv.ID, ServiceInput{Active: ptr(false)})
	f.must(err)
	if len(stranded) != 1 || stranded[0].Reason != "service_not_performed" {
		t.Errorf("deactivation stranded = %+v", stranded)
	}
}

func TestWritesNotifyWhatChanged(t *testing.T) {
	f := newFixture(t)
	conn, err := pgx.Connect(f.ctx, f.pool.Config().ConnString())
	f.must(err)
	defer conn.Close(f.ctx)
	_, err = conn.Exec(f.ctx, "LISTEN "+notify.Channel)
	f.must(err)

	next := func() notify.Change {
		t.Helper()
		ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
		defer cancel()
		n, err := conn.WaitForNotification(ctx)
		f.must(err)
		change, err := notify.Parse(n.Payload)
		f.must(err)
		return change
	}

	loc, sv, st := f.shop()
	for range 5 { // location, service, staff, staff services, weekly hours
		next()
	}
	_, _, err = f.store.PutSpecialHours(f.ctx, f.org, f.now, st.ID, "soho", slots.Date{Year: 2026, Month: 5, Day: 15},
		[]Window{{Start: "10:00", End: "12:00"}})
	f.must(err)
	change := next()
	if change.Kind != notify.KindSchedule || len(change.Dates) != 1 || change.Dates[0] != "2026-05-15" ||
		len(change.LocationIDs) != 1 || change.LocationIDs[0] != loc.ID {
		t.Errorf("special hours notification = %+v", change)
	}

	_, _, err = f.store.UpdateService(f.ctx, f.org, f.now, sv.ID, ServiceInput{PriceMinor: ptr(int64(3000))})
	f.must(err)
	change = next()
	if change.Kind != notify.KindCatalogue || !change.AllDates || change.OrganisationID != f.org {
		t.Errorf("service update notification = %+v", change)
	}

	_, err = f.store.SetTestClock(f.ctx, f.org, f.now, TestClockInput{FrozenAt: ptr("2026-05-11T08:00:00+01:00")})
	f.must(err)
	if change = next(); change.Kind != notify.KindOrganisation {
		t.Errorf("test clock notification = %+v", change)
	}
}

func TestTestClock(t *testing.T) {
	f := newFixture(t)
	clock, err := f.store.SetTestClock(f.ctx, f.org, f.now, TestClockInput{FrozenAt: ptr("2026-03-29T00:30:00+00:00")})
	f.must(err)
	if got := clock.View(f.now).Now; got != "2026-03-29T00:30:00+00:00" {
		t.Errorf("frozen clock now = %s", got)
	}
	clock, err = f.store.SetTestClock(f.ctx, f.org, f.now, TestClockInput{AdvanceSeconds: ptr(int64(3600))})
	f.must(err)
	if !clock.FrozenAt.Equal(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("advanced clock = %v", clock.FrozenAt)
	}
	_, err = f.store.SetTestClock(f.ctx, f.org, f.now, TestClockInput{FrozenAt: ptr("2026-03-29T00:30:00")})
	var invalid *ValidationError
	if !errors.As(err, &invalid) || invalid.Param != "frozen_at" {
		t.Errorf("clock without offset: %v", err)
	}
	f.must(f.store.ClearTestClock(f.ctx, f.org))
	clock, err = f.store.GetTestClock(f.ctx, f.org)
	f.must(err)
	if !clock.FrozenAt.IsZero() {
		t.Errorf("cleared clock = %v", clock.FrozenAt)
	}

	live := uuid.New()
	_, err = f.pool.Exec(f.ctx, `INSERT INTO organisations (id, name, mode) VALUES ($1, 'Live', 'live')`, live)
	f.must(err)
	if _, err := f.store.SetTestClock(f.ctx, live, f.now, TestClockInput{AdvanceSeconds: ptr(int64(60))}); !errors.Is(err, ErrNotTestMode) {
		t.Errorf("live organisation clock: %v, want ErrNotTestMode", err)
	}
}

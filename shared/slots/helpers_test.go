package slots

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need the same zone data on every machine

	"github.com/google/uuid"
)

var (
	london   = mustLoadLocation("Europe/London")
	newYork  = mustLoadLocation("America/New_York")
	lordHowe = mustLoadLocation("Australia/Lord_Howe")
	tokyo    = mustLoadLocation("Asia/Tokyo")
	kolkata  = mustLoadLocation("Asia/Kolkata")
)

var (
	staffA = uuid.MustParse("aaaaaaaa-0000-4000-8000-000000000001")
	staffB = uuid.MustParse("bbbbbbbb-0000-4000-8000-000000000002")

	cut   = Service{ID: uuid.MustParse("c0000000-0000-4000-8000-000000000001"), Duration: 30 * time.Minute}
	beard = Service{ID: uuid.MustParse("c0000000-0000-4000-8000-000000000002"), Duration: 15 * time.Minute}
)

func mustLoadLocation(name string) *time.Location {
	tz, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return tz
}

// hm returns the wall-clock minute of hours:minutes.
func hm(hours, minutes int) int {
	return hours*60 + minutes
}

func window(startMinute, endMinute int) WallWindow {
	return WallWindow{StartMinute: startMinute, EndMinute: endMinute}
}

func date(year int, month time.Month, day int) Date {
	return Date{Year: year, Month: month, Day: day}
}

// minutes returns a service of the given length in minutes that staff who perform
// genericService can take.
func minutes(n int) Service {
	return Service{ID: genericService, Duration: time.Duration(n) * time.Minute}
}

var genericService = uuid.MustParse("c0000000-0000-4000-8000-0000000000ff")

// performs returns a Services map for the given service ids.
func performs(ids ...uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// londonRules returns rules for a London location with the given step, no notice and a
// booking window that reaches every test date from longBefore.
func londonRules(step int) Rules {
	return Rules{TimeZone: london, StepMinutes: step, WindowDays: 1000}
}

// shopDay returns a London day with opening hours 00:00-24:00 and one staff member, staffA,
// who performs every test service and works the given windows.
func shopDay(d Date, step int, windows ...WallWindow) DaySchedule {
	return DaySchedule{
		Date:    d,
		Rules:   londonRules(step),
		Opening: DayHours{Windows: []WallWindow{window(0, hm(24, 0))}},
		Staff: []StaffDay{{
			StaffID:  staffA,
			Services: performs(genericService, cut.ID, beard.ID),
			Hours:    DayHours{Windows: windows},
		}},
	}
}

// instant parses an RFC 3339 time and fails the test on error.
func instant(t testing.TB, value string) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339, value)
	if err != nil {
		t.Fatalf("invalid test time %q: %v", value, err)
	}
	return parsed
}

// booked returns a booking that blocks the RFC 3339 interval [start, end).
func booked(t testing.TB, start, end string) Busy {
	t.Helper()
	return Busy{Interval: Interval{Start: instant(t, start), End: instant(t, end)}}
}

// longBefore is a Now that lies well before every test date.
var longBefore = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// starts formats each slot's start as RFC 3339 in its own zone.
func starts(slots []Slot) []string {
	out := make([]string, len(slots))
	for i, slot := range slots {
		out[i] = slot.Start.Format(time.RFC3339)
	}
	return out
}

// assertStarts fails the test unless the slots start exactly at want, in order.
func assertStarts(t *testing.T, got []Slot, want []string) {
	t.Helper()
	gotStarts := starts(got)
	if len(gotStarts) != len(want) {
		t.Fatalf("got %d slots %v, want %d slots %v", len(gotStarts), gotStarts, len(want), want)
	}
	for i := range want {
		if gotStarts[i] != want[i] {
			t.Errorf("slot %d starts at %s, want %s (all slots: %v)", i, gotStarts[i], want[i], gotStarts)
		}
	}
}

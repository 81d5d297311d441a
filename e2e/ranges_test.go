package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestAvailabilityDateRanges covers the range rules over HTTP: 31 days answer 31 dates, a leap
// day is an ordinary day, impossible dates and bad day counts are 400, and a date near the end
// of the calendar is 400, never 500.
func TestAvailabilityDateRanges(t *testing.T) {
	s := startStack(t)
	s.setClock("2027-12-31T08:00:00+00:00")
	base := "/v1/locations/soho/availability?service_ids=" + classicCut

	month := slotsOf(t, s.call("GET", base+"&date=2028-01-03&days=31", nil))
	dates := map[string]bool{}
	for _, sl := range month {
		dates[sl.StartsAt[:10]] = true
	}
	// The demo shop opens every day of the week, so every one of the 31 dates has slots.
	if len(dates) != 31 || !dates["2028-01-03"] || !dates["2028-02-02"] {
		t.Errorf("days=31 answered %d dates, want 2028-01-03 to 2028-02-02", len(dates))
	}

	s.setClock("2028-02-27T08:00:00+00:00")
	leap := slotsOf(t, s.call("GET", base+"&date=2028-02-29", nil))
	if len(leap) == 0 || !strings.HasPrefix(leap[0].StartsAt, "2028-02-29T09:00:00+00:00") {
		t.Errorf("29 February 2028 first slot = %v, want 09:00", leap)
	}

	for _, q := range []struct{ query, param string }{
		{"&date=2027-02-29", "date"},
		{"&date=2026-04-31", "date"},
		{"&date=2026-13-01", "date"},
		{"&date=2026-6-1", "date"},
		{"&date=9999-12-31&days=31", "date"},
		{"&date=2028-01-03&days=0", "days"},
		{"&date=2028-01-03&days=32", "days"},
		{"&date=2028-01-03&days=-1", "days"},
		{"&date=2028-01-03&days=1.5", "days"},
		{"&date=2028-01-03&days=abc", "days"},
		{"&date=2028-01-03&timezone=Europe/Londn", "timezone"},
		{"&date=2028-01-03&timezone=Local", "timezone"},
		{"&date=2028-01-03&colour=blue", "colour"},
	} {
		r := s.call("GET", base+q.query, nil)
		if r.Status != http.StatusBadRequest || r.errorField("param") != q.param {
			t.Errorf("%s: status %d, param %q; want 400 naming %q (body %s)", q.query, r.Status, r.errorField("param"), q.param, r.Raw)
		}
	}

	r := s.call("GET", "/v1/locations/soho/availability?service_ids=00000000-0000-4000-8000-000000000001&date=2028-01-03", nil)
	if r.Status != http.StatusNotFound {
		t.Errorf("unknown service: status %d, want 404", r.Status)
	}
}

// TestAvailabilityRendersInRequestedZone checks that timezone renders the same instants in
// another zone and names it.
func TestAvailabilityRendersInRequestedZone(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")
	london := slotsOf(t, s.call("GET", documentedQuery, nil))
	r := s.call("GET", documentedQuery+"&timezone=America/New_York", nil)
	york := slotsOf(t, r)
	if r.data()["timezone"] != "America/New_York" {
		t.Errorf("timezone = %v, want America/New_York", r.data()["timezone"])
	}
	if len(york) != len(london) || york[0].StartsAt != "2026-05-12T04:00:00-04:00" {
		t.Errorf("first New York slot = %v, want 2026-05-12T04:00:00-04:00 for London's 09:00", york[0])
	}
}

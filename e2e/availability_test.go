package e2e

import (
	"net/http"
	"testing"
)

// Ids of the demo shop, as the public overview page shows them.
const (
	classicCut = "2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15"
	skinFade   = "4c9e1a56-7ad3-43b8-8fb4-805c5d2e9f37"
	marcus     = "9b3e7d2c-4a1f-48e6-bc52-7f0a9d3b1e84"
	priya      = "c1d4f8a2-6e3b-49d7-a085-2b8c5f1e7d39"
)

const documentedQuery = "/v1/locations/soho/availability?service_ids=" + classicCut + "&date=2026-05-12&days=7"

type slot struct{ StartsAt, EndsAt, StaffID string }

func slotsOf(t *testing.T, r response) []slot {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("availability status = %d, body %s", r.Status, r.Raw)
	}
	raw, ok := r.data()["slots"].([]any)
	if !ok {
		t.Fatalf("availability answer has no slots array: %s", r.Raw)
	}
	out := make([]slot, 0, len(raw))
	for _, item := range raw {
		m := item.(map[string]any)
		out = append(out, slot{m["starts_at"].(string), m["ends_at"].(string), m["staff_id"].(string)})
	}
	return out
}

func hasStart(list []slot, startsAt, staffID string) bool {
	for _, s := range list {
		if s.StartsAt == startsAt && (staffID == "" || s.StaffID == staffID) {
			return true
		}
	}
	return false
}

// TestDocumentedRequest reproduces the overview page's example: with Marcus booked at 10:00
// and Priya busier later that day, the first three slots are exactly the page's.
func TestDocumentedRequest(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")

	for _, b := range []map[string]any{
		{"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": "2026-05-12T10:00:00+01:00", "staff_id": marcus},
		{"location_slug": "soho", "service_ids": []string{skinFade}, "starts_at": "2026-05-12T15:00:00+01:00", "staff_id": priya},
	} {
		if r := s.call("POST", "/v1/bookings", b); r.Status != http.StatusCreated {
			t.Fatalf("set-up booking status = %d, body %s", r.Status, r.Raw)
		}
	}

	r := s.call("GET", documentedQuery, nil, "Accept", "application/json")
	data := r.data()
	if data["location_slug"] != "soho" || data["timezone"] != "Europe/London" {
		t.Errorf("location_slug, timezone = %v, %v", data["location_slug"], data["timezone"])
	}
	ids, _ := data["service_ids"].([]any)
	if len(ids) != 1 || ids[0] != classicCut {
		t.Errorf("service_ids = %v", data["service_ids"])
	}
	duration, _ := data["duration"].(map[string]any)
	if duration["minutes"] != float64(30) || duration["display"] != "30 mins" {
		t.Errorf("duration = %v", data["duration"])
	}
	if len(data) != 5 {
		t.Errorf("data has %d fields, want exactly the documented 5: %s", len(data), r.Raw)
	}

	got := slotsOf(t, r)
	want := []slot{
		{"2026-05-12T09:00:00+01:00", "2026-05-12T09:30:00+01:00", marcus},
		{"2026-05-12T09:30:00+01:00", "2026-05-12T10:00:00+01:00", marcus},
		{"2026-05-12T10:00:00+01:00", "2026-05-12T10:30:00+01:00", priya},
	}
	if len(got) < len(want) {
		t.Fatalf("got %d slots, want at least %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("slot %d = %+v, want %+v", i, got[i], w)
		}
	}
	days := map[string]bool{}
	for _, sl := range got {
		days[sl.StartsAt[:10]] = true
	}
	// 12–18 May: Marcus works Monday to Friday, Priya Tuesday to Saturday, Tom Wednesday to
	// Sunday, so every one of the seven days has slots.
	if len(days) != 7 {
		t.Errorf("slots fall on %d dates, want 7: %v", len(days), days)
	}
}

// TestBookingRemovesSlotAndCancelRestoresIt books a listed slot, sees it gone from the very
// next answer, cancels, and sees it back.
func TestBookingRemovesSlotAndCancelRestoresIt(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")
	query := documentedQuery + "&staff_id=" + marcus

	before := slotsOf(t, s.call("GET", query, nil))
	if len(before) == 0 {
		t.Fatal("no slots for Marcus")
	}
	target := before[0]

	created := s.call("POST", "/v1/bookings", map[string]any{
		"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": target.StartsAt, "staff_id": target.StaffID,
		"client": map[string]any{"name": "Alex Example", "phone": "07700 900123"},
	}, "Idempotency-Key", "e2e-book-1")
	if created.Status != http.StatusCreated {
		t.Fatalf("create status = %d, body %s", created.Status, created.Raw)
	}
	booking := created.data()
	id, _ := booking["id"].(string)
	ref, _ := booking["reference"].(string)
	if booking["starts_at"] != target.StartsAt || booking["status"] != "confirmed" {
		t.Errorf("booking = %s", created.Raw)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE id = $1`, id); n != 1 {
		t.Fatalf("bookings with the returned id = %d, want 1", n)
	}

	after := slotsOf(t, s.call("GET", query, nil))
	if hasStart(after, target.StartsAt, marcus) {
		t.Errorf("slot %s is still offered for Marcus after booking it", target.StartsAt)
	}
	if len(after) != len(before)-1 {
		t.Errorf("slots after booking = %d, want %d", len(after), len(before)-1)
	}

	got := s.call("GET", "/v1/bookings/"+ref, nil)
	if got.Status != http.StatusOK || got.data()["id"] != id {
		t.Errorf("get by reference: status %d, body %s", got.Status, got.Raw)
	}

	cancelled := s.call("POST", "/v1/bookings/"+id+"/cancel", map[string]any{"reason": "client rang to cancel", "cancelled_by": "client"})
	if cancelled.Status != http.StatusOK || cancelled.data()["status"] != "cancelled" {
		t.Fatalf("cancel: status %d, body %s", cancelled.Status, cancelled.Raw)
	}
	restored := slotsOf(t, s.call("GET", query, nil))
	if !hasStart(restored, target.StartsAt, marcus) {
		t.Errorf("slot %s is not offered again after cancelling", target.StartsAt)
	}

	again := s.call("POST", "/v1/bookings/"+id+"/cancel", nil)
	if again.Status != http.StatusConflict || again.errorField("code") != "invalid_status_transition" {
		t.Errorf("second cancel: status %d, body %s", again.Status, again.Raw)
	}
}

// TestAvailabilityRejectsBadInput checks that each malformed request gets a 4xx in the
// documented shape naming the parameter.
func TestAvailabilityRejectsBadInput(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")
	base := "/v1/locations/soho/availability?"
	cases := []struct {
		name   string
		path   string
		auth   string
		status int
		code   string
		param  string
	}{
		{"impossible date", base + "service_ids=" + classicCut + "&date=2027-02-29", "", 400, "invalid_parameter", "date"},
		{"unpadded date", base + "service_ids=" + classicCut + "&date=2026-6-1", "", 400, "invalid_parameter", "date"},
		{"days zero", base + "service_ids=" + classicCut + "&date=2026-05-12&days=0", "", 400, "invalid_parameter", "days"},
		{"days 32", base + "service_ids=" + classicCut + "&date=2026-05-12&days=32", "", 400, "invalid_parameter", "days"},
		{"service id not a UUID", base + "service_ids=haircut&date=2026-05-12", "", 400, "invalid_parameter", "service_ids[0]"},
		{"unknown service", base + "service_ids=00000000-0000-4000-8000-000000000000&date=2026-05-12", "", 404, "service_not_found", "service_ids[0]"},
		{"unknown second service", base + "service_ids=" + classicCut + ",00000000-0000-4000-8000-000000000000&date=2026-05-12", "", 404, "service_not_found", "service_ids[1]"},
		{"unknown location", "/v1/locations/mayfair/availability?service_ids=" + classicCut + "&date=2026-05-12", "", 404, "location_not_found", "slug"},
		{"missing key", base + "service_ids=" + classicCut + "&date=2026-05-12", "none", 401, "missing_api_key", ""},
		{"wrong key", base + "service_ids=" + classicCut + "&date=2026-05-12", "Bearer sk_test_00000000000000000000000000000000", 401, "invalid_api_key", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			switch tc.auth {
			case "":
				r = s.call("GET", tc.path, nil)
			case "none":
				r = s.call("GET", tc.path, nil, "Authorization", "")
			default:
				r = s.call("GET", tc.path, nil, "Authorization", tc.auth)
			}
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tc.status, r.Raw)
			}
			if code := r.errorField("code"); code != tc.code {
				t.Errorf("code = %q, want %q", code, tc.code)
			}
			if param := r.errorField("param"); param != tc.param {
				t.Errorf("param = %q, want %q", param, tc.param)
			}
			if r.errorField("message") == "" || r.errorField("request_id") == "" || r.errorField("type") == "" {
				t.Errorf("error lacks message, type or request_id: %s", r.Raw)
			}
		})
	}
}

// TestBookingRejectsBadInputAndChangesNothing checks 4xx answers for bad bookings and that no
// row appears.
func TestBookingRejectsBadInputAndChangesNothing(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")
	valid := func() map[string]any {
		return map[string]any{"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": "2026-05-12T09:00:00+01:00"}
	}
	with := func(key string, value any) map[string]any {
		b := valid()
		b[key] = value
		return b
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no offset", with("starts_at", "2026-05-12T09:00:00"), 400, "invalid_parameter"},
		{"unknown field", with("colour", "blue"), 400, "unknown_field"},
		{"bad service id", with("service_ids", []string{"x"}), 400, "invalid_parameter"},
		{"unknown location", with("location_slug", "mayfair"), 404, "location_not_found"},
		{"off the grid", with("starts_at", "2026-05-12T09:10:00+01:00"), 422, "off_slot_grid"},
		{"before opening", with("starts_at", "2026-05-12T07:00:00+01:00"), 422, "outside_working_hours"},
		{"in the past", with("starts_at", "2026-05-10T09:00:00+01:00"), 422, "start_in_past"},
		{"bad phone", with("client", map[string]any{"phone": "12"}), 400, "invalid_parameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call("POST", "/v1/bookings", tc.body)
			if r.Status != tc.status || r.errorField("code") != tc.code {
				t.Errorf("status, code = %d, %q; want %d, %q; body %s", r.Status, r.errorField("code"), tc.status, tc.code, r.Raw)
			}
		})
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings after rejected requests = %d, want 0", n)
	}
	if n := s.count(`SELECT count(*) FROM clients`); n != 0 {
		t.Errorf("clients after rejected requests = %d, want 0", n)
	}
}

// TestETagAnswersNotModified checks that a poller repeating its ETag gets 304 until a booking
// changes the answer.
func TestETagAnswersNotModified(t *testing.T) {
	s := startStack(t)
	s.setClock("2026-05-11T12:00:00+01:00")
	first := s.call("GET", documentedQuery, nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") == "" {
		t.Fatalf("missing ETag or Cache-Control: %v", first.Header)
	}
	if r := s.call("GET", documentedQuery, nil, "If-None-Match", etag); r.Status != http.StatusNotModified {
		t.Fatalf("status with matching ETag = %d, want 304", r.Status)
	}
	if r := s.call("POST", "/v1/bookings", map[string]any{"location_slug": "soho", "service_ids": []string{classicCut},
		"starts_at": "2026-05-12T09:00:00+01:00", "staff_id": marcus}); r.Status != http.StatusCreated {
		t.Fatalf("booking status = %d, body %s", r.Status, r.Raw)
	}
	if r := s.call("GET", documentedQuery, nil, "If-None-Match", etag); r.Status != http.StatusOK {
		t.Errorf("status after a booking = %d, want 200 with a new body", r.Status)
	}
}

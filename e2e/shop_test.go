package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// newOrganisation creates an organisation with the keys CLI and returns its id.
func (s *stack) newOrganisation(name, mode string) string {
	s.t.Helper()
	return strings.TrimSpace(bins.Run(s.t, "booking-svc", []string{"DATABASE_URL=" + s.dbURL}, "keys", "create-org", "-name", name, "-mode", mode))
}

// newKey creates a key for the organisation with the keys CLI and returns it.
func (s *stack) newKey(org, scopes string, perMinute int) string {
	s.t.Helper()
	return strings.TrimSpace(bins.Run(s.t, "booking-svc", []string{"DATABASE_URL=" + s.dbURL}, "keys", "create",
		"-org", org, "-scopes", scopes, "-rate-limit", strconv.Itoa(perMinute), "-description", "end-to-end test"))
}

// as sends a request with key instead of the stack's demo key.
func (s *stack) as(key, method, path string, body any, headers ...string) response {
	s.t.Helper()
	return s.call(method, path, body, append([]string{"Authorization", "Bearer " + key}, headers...)...)
}

func expectStatus(t *testing.T, r response, want int, what string) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, want, r.Raw)
	}
}

func startsOf(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, s := range slotsOf(t, r) {
		out = append(out, s.StartsAt)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestWholeShopOverHTTP sets a shop up from nothing through the public API with a
// catalog:write key, freezes its test clock, reads availability, books, and checks that each
// catalogue change shows in the very next availability answer.
func TestWholeShopOverHTTP(t *testing.T) {
	s := startStack(t)
	org := s.newOrganisation("Camden Cutters", "test")
	key := s.newKey(org, "catalog:read,catalog:write,availability:read,bookings:read,bookings:write", 60)

	opening := []map[string]any{}
	for _, day := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		opening = append(opening, map[string]any{"weekday": day, "start": "09:00", "end": "18:00"})
	}
	r := s.as(key, "POST", "/v1/locations", map[string]any{
		"slug": "camden", "name": "Camden Cutters", "timezone": "Europe/London",
		"slot_step_minutes": 30, "min_notice_minutes": 60, "booking_window_days": 30, "opening_hours": opening,
	})
	expectStatus(t, r, http.StatusCreated, "create location")
	if r.data()["timezone"] != "Europe/London" || r.data()["slug"] != "camden" {
		t.Errorf("created location = %s", r.Raw)
	}
	if got := r.Header.Get("RateLimit-Limit"); got != "60" {
		t.Errorf("RateLimit-Limit = %q, want 60", got)
	}

	r = s.as(key, "POST", "/v1/services", map[string]any{
		"name": "Cut and finish", "duration_minutes": 45, "buffer_after_minutes": 15, "price_minor": 3000, "deposit_minor": 1000,
	})
	expectStatus(t, r, http.StatusCreated, "create service")
	cut := r.data()["id"].(string)

	r = s.as(key, "POST", "/v1/staff", map[string]any{"name": "Sam"})
	expectStatus(t, r, http.StatusCreated, "create staff")
	sam := r.data()["id"].(string)

	r = s.as(key, "PUT", "/v1/staff/"+sam+"/locations/camden/services", map[string]any{"service_ids": []string{cut}})
	expectStatus(t, r, http.StatusOK, "assign service")
	weekly := []map[string]any{}
	for _, day := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		weekly = append(weekly, map[string]any{"weekday": day, "start": "09:00", "end": "17:00",
			"breaks": []map[string]any{{"start": "12:00", "end": "13:00"}}})
	}
	r = s.as(key, "PUT", "/v1/staff/"+sam+"/locations/camden/weekly_hours", map[string]any{"weekly_hours": weekly})
	expectStatus(t, r, http.StatusOK, "set weekly hours")

	// Monday 11 May 2026, 08:00 in London: the 60-minute notice makes 09:00 the first slot.
	r = s.as(key, "POST", "/v1/test_clock", map[string]any{"frozen_at": "2026-05-11T08:00:00+01:00"})
	expectStatus(t, r, http.StatusOK, "set test clock")

	availability := "/v1/locations/camden/availability?service_ids=" + cut + "&date=2026-05-11"
	starts := startsOf(t, s.as(key, "GET", availability, nil))
	want := []string{
		"2026-05-11T09:00:00+01:00", "2026-05-11T09:30:00+01:00", "2026-05-11T10:00:00+01:00", "2026-05-11T10:30:00+01:00",
		"2026-05-11T11:00:00+01:00", "2026-05-11T13:00:00+01:00", "2026-05-11T13:30:00+01:00", "2026-05-11T14:00:00+01:00",
		"2026-05-11T14:30:00+01:00", "2026-05-11T15:00:00+01:00", "2026-05-11T15:30:00+01:00", "2026-05-11T16:00:00+01:00",
	}
	if strings.Join(starts, " ") != strings.Join(want, " ") {
		t.Fatalf("Monday's slots =\n  %v\nwant\n  %v", starts, want)
	}

	// Advancing the clock past 09:00 applies the notice from the new now at once.
	r = s.as(key, "POST", "/v1/test_clock", map[string]any{"advance_seconds": 5400})
	expectStatus(t, r, http.StatusOK, "advance test clock")
	if r.data()["now"] != "2026-05-11T08:30:00+00:00" {
		t.Errorf("advanced clock = %s", r.Raw)
	}
	starts = startsOf(t, s.as(key, "GET", availability, nil))
	if len(starts) == 0 || starts[0] != "2026-05-11T10:30:00+01:00" {
		t.Errorf("first slot after advancing to 09:30 = %v, want 10:30", starts)
	}
	expectStatus(t, s.as(key, "POST", "/v1/test_clock", map[string]any{"frozen_at": "2026-05-11T08:00:00+01:00"}), http.StatusOK, "reset clock")

	// Time off shows in the very next answer.
	r = s.as(key, "POST", "/v1/staff/"+sam+"/time-off", map[string]any{
		"starts_at": "2026-05-11T13:00:00+01:00", "ends_at": "2026-05-11T14:00:00+01:00", "reason": "training"})
	expectStatus(t, r, http.StatusCreated, "add time off")
	timeOff := r.data()["id"].(string)
	starts = startsOf(t, s.as(key, "GET", availability, nil))
	if contains(starts, "2026-05-11T13:00:00+01:00") || contains(starts, "2026-05-11T13:30:00+01:00") {
		t.Errorf("slots during time off are still offered: %v", starts)
	}
	if !contains(starts, "2026-05-11T14:00:00+01:00") {
		t.Errorf("14:00, right after the time off, is missing: %v", starts)
	}
	expectStatus(t, s.as(key, "DELETE", "/v1/staff/"+sam+"/time-off/"+timeOff, nil), http.StatusNoContent, "remove time off")
	if starts = startsOf(t, s.as(key, "GET", availability, nil)); !contains(starts, "2026-05-11T13:00:00+01:00") {
		t.Errorf("13:00 is not offered again after the time off was removed: %v", starts)
	}

	r = s.as(key, "POST", "/v1/bookings", map[string]any{
		"location_slug": "camden", "service_ids": []string{cut}, "starts_at": "2026-05-11T10:00:00+01:00",
		"staff_id": "any", "client": map[string]any{"name": "Jo Example", "phone": "07700 900456"},
	}, "Idempotency-Key", "shop-test-first-booking")
	expectStatus(t, r, http.StatusCreated, "book")
	booking := r.data()["id"].(string)
	starts = startsOf(t, s.as(key, "GET", availability, nil))
	for _, taken := range []string{"09:30", "10:00", "10:30"} {
		if contains(starts, "2026-05-11T"+taken+":00+01:00") {
			t.Errorf("%s overlaps the booking and is still offered: %v", taken, starts)
		}
	}

	// Shortening Monday under the booking is accepted and reports it.
	weekly[0] = map[string]any{"weekday": "monday", "start": "09:00", "end": "10:30"}
	r = s.as(key, "PUT", "/v1/staff/"+sam+"/locations/camden/weekly_hours", map[string]any{"weekly_hours": weekly})
	expectStatus(t, r, http.StatusOK, "shorten Monday")
	stranded, _ := r.Body["stranded_bookings"].([]any)
	if len(stranded) != 1 {
		t.Fatalf("stranded_bookings = %v, want the 10:00 booking", r.Body["stranded_bookings"])
	}
	first := stranded[0].(map[string]any)
	if first["id"] != booking || first["reason"] != "outside_hours" || first["starts_at"] != "2026-05-11T10:00:00+01:00" {
		t.Errorf("stranded booking = %v", first)
	}
	if got := r.Header.Get("Setora-Stranded-Bookings"); got != "1" {
		t.Errorf("Setora-Stranded-Bookings = %q, want 1", got)
	}
	if got := s.as(key, "GET", "/v1/bookings/"+booking, nil); got.data()["status"] != "confirmed" {
		t.Errorf("stranded booking is no longer confirmed: %s", got.Raw)
	}

	// Rate-limit headers are on every answer and count down.
	a := s.as(key, "GET", "/v1/locations/camden", nil)
	b := s.as(key, "GET", "/v1/locations/camden", nil)
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if a.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	ra, _ := strconv.Atoi(a.Header.Get("RateLimit-Remaining"))
	rb, _ := strconv.Atoi(b.Header.Get("RateLimit-Remaining"))
	if rb >= ra {
		t.Errorf("RateLimit-Remaining went from %d to %d, want it to fall", ra, rb)
	}
	if a.Header.Get("X-RateLimit-Remaining") != a.Header.Get("RateLimit-Remaining") {
		t.Errorf("X-RateLimit-Remaining %q differs from RateLimit-Remaining %q", a.Header.Get("X-RateLimit-Remaining"), a.Header.Get("RateLimit-Remaining"))
	}

	// Another organisation's key cannot see the shop.
	expectStatus(t, s.call("GET", "/v1/locations/camden", nil), http.StatusNotFound, "demo key reads another organisation's location")
	expectStatus(t, s.call("GET", "/v1/staff/"+sam, nil), http.StatusNotFound, "demo key reads another organisation's staff")
}

func TestCatalogueScopesAndModes(t *testing.T) {
	s := startStack(t)
	org := s.newOrganisation("Read only", "test")
	reader := s.newKey(org, "catalog:read,availability:read", 1000)
	r := s.as(reader, "POST", "/v1/locations", map[string]any{"slug": "x", "name": "X", "timezone": "Europe/London"})
	expectStatus(t, r, http.StatusForbidden, "create location without catalog:write")
	if r.errorField("code") != "insufficient_scope" || !strings.Contains(r.errorField("message"), "catalog:write") {
		t.Errorf("403 body = %s", r.Raw)
	}
	expectStatus(t, s.as(reader, "GET", "/v1/locations", nil), http.StatusOK, "list locations with catalog:read")

	live := s.newOrganisation("Live shop", "live")
	liveKey := s.newKey(live, "catalog:read,catalog:write", 1000)
	if !strings.HasPrefix(liveKey, "sk_live_") {
		t.Fatalf("live organisation's key = %.8s...", liveKey)
	}
	r = s.as(liveKey, "POST", "/v1/test_clock", map[string]any{"frozen_at": "2026-05-11T08:00:00+01:00"})
	expectStatus(t, r, http.StatusForbidden, "live key sets a test clock")
	if r.errorField("code") != "test_mode_only" {
		t.Errorf("live clock error = %s", r.Raw)
	}
	expectStatus(t, s.as(liveKey, "DELETE", "/v1/test_clock", nil), http.StatusForbidden, "live key clears a test clock")
}

func TestCatalogueInputRules(t *testing.T) {
	s := startStack(t)
	for _, zone := range []string{"Europe/Londn", "GMT-05:00", "", "Local"} {
		r := s.call("POST", "/v1/locations", map[string]any{"slug": "tz-test", "name": "Zone test", "timezone": zone})
		expectStatus(t, r, http.StatusBadRequest, fmt.Sprintf("timezone %q", zone))
		if r.errorField("param") != "timezone" || r.errorField("code") != "invalid_parameter" {
			t.Errorf("timezone %q: error %s", zone, r.Raw)
		}
	}

	r := s.call("POST", "/v1/locations", map[string]any{"slug": "soho", "name": "Again", "timezone": "Europe/London"})
	expectStatus(t, r, http.StatusConflict, "duplicate slug")
	if r.errorField("code") != "location_slug_taken" {
		t.Errorf("duplicate slug error = %s", r.Raw)
	}

	r = s.call("POST", "/v1/services", map[string]any{"name": "Cut", "duration_minutes": 30, "colour": "blue"})
	expectStatus(t, r, http.StatusBadRequest, "unknown field")
	if r.errorField("code") != "unknown_field" || r.errorField("param") != "colour" {
		t.Errorf("unknown field error = %s", r.Raw)
	}

	r = s.call("POST", "/v1/staff", "name=Sam", "Content-Type", "text/plain")
	expectStatus(t, r, http.StatusUnsupportedMediaType, "non-JSON body")

	r = s.call("POST", "/v1/staff/"+marcus+"/time-off", map[string]any{"starts_at": "2026-05-12T09:00:00", "ends_at": "2026-05-12T10:00:00+01:00"},
		"X-Request-Id", "shop-test-request-1")
	expectStatus(t, r, http.StatusBadRequest, "timestamp without an offset")
	if r.errorField("param") != "starts_at" {
		t.Errorf("timestamp error = %s", r.Raw)
	}
	if r.Header.Get("X-Request-Id") != "shop-test-request-1" || r.errorField("request_id") != "shop-test-request-1" {
		t.Errorf("request id: header %q, body %q", r.Header.Get("X-Request-Id"), r.errorField("request_id"))
	}

	big := strings.Repeat("x", 70<<10)
	r = s.call("POST", "/v1/staff", map[string]any{"name": big})
	expectStatus(t, r, http.StatusRequestEntityTooLarge, "body over the limit")

	r = s.call("PUT", "/v1/staff/"+marcus+"/locations/soho/weekly_hours", map[string]any{"weekly_hours": []map[string]any{
		{"weekday": "monday", "start": "09:00", "end": "13:00"}, {"weekday": "monday", "start": "12:00", "end": "17:00"}}})
	expectStatus(t, r, http.StatusBadRequest, "overlapping windows")

	expectStatus(t, s.call("PUT", "/v1/locations/soho/closures/2027-02-29", nil), http.StatusBadRequest, "closure on a date that does not exist")
	expectStatus(t, s.call("GET", "/v1/services?limit=0", nil), http.StatusBadRequest, "limit 0")
	expectStatus(t, s.call("GET", "/v1/services?cursor=bogus", nil), http.StatusBadRequest, "malformed cursor")
	expectStatus(t, s.call("GET", "/v1/services?colour=blue", nil), http.StatusBadRequest, "unknown query parameter")

	// The demo shop's three services page as 2 then 1, each once.
	first := s.call("GET", "/v1/services?limit=2", nil)
	expectStatus(t, first, http.StatusOK, "first page")
	page, _ := first.Body["pagination"].(map[string]any)
	if page["has_more"] != true || page["next_cursor"] == nil {
		t.Fatalf("first page pagination = %v", page)
	}
	second := s.call("GET", "/v1/services?limit=2&cursor="+page["next_cursor"].(string), nil)
	expectStatus(t, second, http.StatusOK, "second page")
	items, _ := second.Body["data"].([]any)
	page, _ = second.Body["pagination"].(map[string]any)
	if len(items) != 1 || page["has_more"] != false || page["next_cursor"] != nil {
		t.Errorf("second page = %s", second.Raw)
	}
}

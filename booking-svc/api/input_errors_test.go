package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/setora/rest/shared/auth"
)

// TestTimestampErrorsSayWhatIsWrong sends each timestamp field and query parameter a value with
// an offset that is still wrong, and checks that the message names the real problem.
func TestTimestampErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeBookingsRead, auth.ScopeBookingsWrite,
		auth.ScopeCatalogRead, auth.ScopeCatalogWrite, auth.ScopeWebhooksWrite)
	const cut = "2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15"
	staff := "/v1/staff/" + uuid.NewString() + "/time-off"
	endpoint := "/v1/webhook_endpoints/" + uuid.NewString() + "/redeliver"

	type target struct {
		name, method, path, param string
		body                      func(value string) string
	}
	targets := []target{
		{"create", http.MethodPost, "/v1/bookings", "starts_at", func(v string) string {
			return `{"location_slug": "soho", "service_ids": ["` + cut + `"], "starts_at": "` + v + `"}`
		}},
		{"reschedule", http.MethodPost, "/v1/bookings/SET-AAAAAA/reschedule", "starts_at", func(v string) string {
			return `{"starts_at": "` + v + `"}`
		}},
		{"time off start", http.MethodPost, staff, "starts_at", func(v string) string {
			return `{"starts_at": "` + v + `", "ends_at": "2026-12-12T09:00:00+00:00"}`
		}},
		{"time off end", http.MethodPost, staff, "ends_at", func(v string) string {
			return `{"starts_at": "2026-12-10T09:00:00+00:00", "ends_at": "` + v + `"}`
		}},
		{"redeliver from", http.MethodPost, endpoint, "from", func(v string) string {
			return `{"from": "` + v + `"}`
		}},
		{"redeliver to", http.MethodPost, endpoint, "to", func(v string) string {
			return `{"from": "2026-12-10T09:00:00+00:00", "to": "` + v + `"}`
		}},
		{"test clock", http.MethodPost, "/v1/test_clock", "frozen_at", func(v string) string {
			return `{"frozen_at": "` + v + `"}`
		}},
		{"bookings starts_from", http.MethodGet, "/v1/bookings?starts_from=", "starts_from", nil},
		{"time off ends_after", http.MethodGet, staff + "?ends_after=", "ends_after", nil},
	}
	values := []struct {
		raw, want string
	}{
		{"2026-02-30T09:00:00+00:00", "is not a valid calendar date because February 2026 has 28 days"},
		{"2026-12-11T09:00:00+25:00", "has the offset +25:00, which is out of range"},
		{"2026-12-11T09:00:00", "has no offset"},
		{"next tuesday", "is not an RFC 3339 time"},
	}

	for _, tg := range targets {
		for _, v := range values {
			var r hookResponse
			if tg.body == nil {
				r = a.send(key, tg.method, tg.path+url.QueryEscape(v.raw), "", "")
			} else {
				r = a.send(key, tg.method, tg.path, "application/json", tg.body(v.raw))
			}
			label := tg.name + " " + v.raw
			expectError(t, label, r, http.StatusBadRequest, "invalid_parameter", tg.param)
			msg := r.errorField("message")
			if !strings.HasPrefix(msg, tg.param+` "`+v.raw+`" `) {
				t.Errorf("%s: message %q does not start with the parameter and its value", label, msg)
			}
			if !strings.Contains(msg, v.want) {
				t.Errorf("%s: message %q, want it to say %q", label, msg, v.want)
			}
		}
	}
}

// TestMissingFieldsAreRequired checks that a missing body field reads "… is required", not a
// complaint about the empty string.
func TestMissingFieldsAreRequired(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeBookingsWrite, auth.ScopeCatalogWrite)
	const cut = "2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15"
	staff := a.call(key, http.MethodPost, "/v1/staff", map[string]any{"name": "Sam"})
	a.call(key, http.MethodPost, "/v1/locations",
		map[string]any{"slug": "camden", "name": "Camden Cutters", "timezone": "Europe/London"})
	hours := "/v1/staff/" + staff.data()["id"].(string) + "/locations/camden/weekly_hours"

	cases := []struct {
		name, method, path, body, param string
	}{
		{"create without starts_at", http.MethodPost, "/v1/bookings",
			`{"location_slug": "soho", "service_ids": ["` + cut + `"]}`, "starts_at"},
		{"create without service_ids", http.MethodPost, "/v1/bookings",
			`{"location_slug": "soho", "starts_at": "2026-12-08T10:00:00+00:00"}`, "service_ids"},
		{"reschedule without starts_at", http.MethodPost, "/v1/bookings/SET-AAAAAA/reschedule", `{}`, "starts_at"},
		{"time off without starts_at", http.MethodPost, "/v1/staff/" + uuid.NewString() + "/time-off",
			`{"ends_at": "2026-12-12T09:00:00+00:00"}`, "starts_at"},
		{"time off without ends_at", http.MethodPost, "/v1/staff/" + uuid.NewString() + "/time-off",
			`{"starts_at": "2026-12-12T09:00:00+00:00"}`, "ends_at"},
		{"deposit without currency", http.MethodPost, "/v1/bookings/SET-AAAAAA/confirm",
			`{"deposit": {"amount_minor": 1000, "payment_reference": "pi_1"}}`, "deposit.currency"},
		{"weekly window without weekday", http.MethodPut, hours,
			`{"weekly_hours": [{"start": "09:00", "end": "17:00"}]}`, "weekly_hours[0].weekday"},
		{"weekly window without start", http.MethodPut, hours,
			`{"weekly_hours": [{"weekday": "monday", "end": "17:00"}]}`, "weekly_hours[0].start"},
	}
	for _, tc := range cases {
		r := a.send(key, tc.method, tc.path, "application/json", tc.body)
		expectError(t, tc.name, r, http.StatusBadRequest, "invalid_parameter", tc.param)
		msg := r.errorField("message")
		if !strings.HasPrefix(msg, tc.param+" is required") {
			t.Errorf("%s: message %q, want it to start %q", tc.name, msg, tc.param+" is required")
		}
	}
}

// TestUnknownServiceNamesElement checks that a service id the organisation does not have is
// named by its position, like a malformed id in the same list.
func TestUnknownServiceNamesElement(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeBookingsWrite, auth.ScopeCatalogWrite)
	a.call(key, http.MethodPost, "/v1/locations",
		map[string]any{"slug": "camden", "name": "Camden Cutters", "timezone": "Europe/London"})
	service := a.call(key, http.MethodPost, "/v1/services", map[string]any{"name": "Skin fade", "duration_minutes": 45})
	staff := a.call(key, http.MethodPost, "/v1/staff", map[string]any{"name": "Sam"})
	for _, r := range []hookResponse{service, staff} {
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
	}
	known := service.data()["id"].(string)
	unknown := uuid.NewString()

	cases := []struct {
		name, method, path, body string
	}{
		{"create booking", http.MethodPost, "/v1/bookings",
			`{"location_slug": "camden", "service_ids": ["` + known + `", "` + unknown + `"], "starts_at": "2026-12-08T10:00:00+00:00"}`},
		{"staff services", http.MethodPut, "/v1/staff/" + staff.data()["id"].(string) + "/locations/camden/services",
			`{"service_ids": ["` + known + `", "` + unknown + `"]}`},
	}
	for _, tc := range cases {
		r := a.send(key, tc.method, tc.path, "application/json", tc.body)
		expectError(t, tc.name, r, http.StatusNotFound, "service_not_found", "service_ids[1]")
		if msg := r.errorField("message"); !strings.Contains(msg, unknown) {
			t.Errorf("%s: message %q does not name %s", tc.name, msg, unknown)
		}
	}
}

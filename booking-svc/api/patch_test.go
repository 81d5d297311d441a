package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
)

// newFullAPI is every booking-svc route on its own database.
func newFullAPI(t *testing.T) *hookAPI {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := webhooks.MigrateQueue(ctx, pool); err != nil {
		t.Fatalf("migrate job queue: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	app := httpapi.NewApp("booking-svc-test", log)
	v1 := app.Group("/v1", auth.NewAuthenticator(pool, 0).Middleware())
	Mount(v1, Deps{Pool: pool, Store: bookings.NewStore(pool, nil), Log: log})
	return &hookAPI{t: t, ctx: ctx, pool: pool, app: app}
}

// send is call with a raw body and a chosen Content-Type; an empty contentType sends none.
func (a *hookAPI) send(key, method, path, contentType, body string) hookResponse {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.app.Test(req, 10_000)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := hookResponse{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		a.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
	}
	return r
}

// expectError fails unless r is an error with status, code and param.
func expectError(t *testing.T, label string, r hookResponse, status int, code, param string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %v", label, r.status, status, r.body)
		return
	}
	if got := r.errorField("code"); got != code {
		t.Errorf("%s: code %q, want %q", label, got, code)
	}
	if got := r.errorField("param"); got != param {
		t.Errorf("%s: param %q, want %q", label, got, param)
	}
}

var patchMediaTypes = []string{httpapi.MIMEMergePatch, "application/json"}

func TestClientPatchMediaTypes(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeClientsRead, auth.ScopeClientsWrite)

	for i, ct := range patchMediaTypes {
		phone := []string{"07700 900123", "07700 900124"}[i]
		email := []string{"alex@example.com", "alex.two@example.com"}[i]
		created := a.call(key, http.MethodPost, "/v1/clients",
			map[string]any{"name": "Alex Example", "phone": phone, "notes": "prefers mornings"})
		if created.status != http.StatusCreated {
			t.Fatalf("create: %d %v", created.status, created.body)
		}
		path := "/v1/clients/" + created.data()["id"].(string)

		changed := a.send(key, http.MethodPatch, path, ct, `{"notes": null, "email": "`+email+`"}`)
		if changed.status != http.StatusOK {
			t.Fatalf("%s: patch: %d %v", ct, changed.status, changed.body)
		}
		read := a.call(key, http.MethodGet, path, nil).data()
		if read["notes"] != nil {
			t.Errorf("%s: notes = %v after null, want null", ct, read["notes"])
		}
		if read["email"] != email {
			t.Errorf("%s: email = %v, want the new address", ct, read["email"])
		}
		if read["name"] != "Alex Example" || read["phone"] == nil {
			t.Errorf("%s: fields left out changed: name %v, phone %v", ct, read["name"], read["phone"])
		}

		cleared := a.send(key, http.MethodPatch, path, ct, `{"phone": null, "email": null}`)
		expectError(t, ct+": clearing every contact", cleared, http.StatusUnprocessableEntity, "client_contact_required", "phone")
		if a.call(key, http.MethodGet, path, nil).data()["email"] != email {
			t.Errorf("%s: a rejected patch changed the client", ct)
		}

		unknown := a.send(key, http.MethodPatch, path, ct, `{"mobile": "07700 900125"}`)
		expectError(t, ct+": unknown field", unknown, http.StatusBadRequest, "unknown_field", "mobile")
		array := a.send(key, http.MethodPatch, path, ct, `[{"op": "remove", "path": "/notes"}]`)
		expectError(t, ct+": array body", array, http.StatusBadRequest, "malformed_json", "")
	}

	other := a.send(key, http.MethodPatch, "/v1/clients/00000000-0000-4000-8000-000000000000",
		"application/json-patch+json", `[{"op": "remove", "path": "/notes"}]`)
	expectError(t, "JSON Patch", other, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
}

// No field of a location, service or staff member can be removed, so null is a 400 naming the
// field, with either media type, and the resource stays as it was.
func TestCataloguePatchRejectsNull(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeCatalogRead, auth.ScopeCatalogWrite)

	loc := a.call(key, http.MethodPost, "/v1/locations",
		map[string]any{"slug": "camden", "name": "Camden Cutters", "timezone": "Europe/London"})
	service := a.call(key, http.MethodPost, "/v1/services", map[string]any{"name": "Skin fade", "duration_minutes": 45})
	staff := a.call(key, http.MethodPost, "/v1/staff", map[string]any{"name": "Sam"})
	for _, r := range []hookResponse{loc, service, staff} {
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
	}
	locPath := "/v1/locations/camden"
	servicePath := "/v1/services/" + service.data()["id"].(string)
	staffPath := "/v1/staff/" + staff.data()["id"].(string)

	for _, ct := range patchMediaTypes {
		cases := []struct {
			path, body, param string
		}{
			{locPath, `{"name": "Camden", "timezone": null}`, "timezone"},
			{locPath, `{"opening_hours": null}`, "opening_hours"},
			{locPath, `{"slot_step_minutes": null}`, "slot_step_minutes"},
			{servicePath, `{"name": null}`, "name"},
			{servicePath, `{"price_minor": 3000, "buffer_after_minutes": null}`, "buffer_after_minutes"},
			{staffPath, `{"active": null}`, "active"},
		}
		for _, tc := range cases {
			r := a.send(key, http.MethodPatch, tc.path, ct, tc.body)
			expectError(t, ct+" "+tc.body, r, http.StatusBadRequest, "invalid_parameter", tc.param)
		}
	}
	if got := a.call(key, http.MethodGet, locPath, nil).data(); got["name"] != "Camden Cutters" || got["timezone"] != "Europe/London" {
		t.Errorf("a rejected patch changed the location: %v", got)
	}
	if got := a.call(key, http.MethodGet, servicePath, nil).data(); got["name"] != "Skin fade" || got["price_minor"] != 0.0 {
		t.Errorf("a rejected patch changed the service: %v", got)
	}

	for i, ct := range patchMediaTypes {
		name := []string{"Skin fade and wash", "Skin fade deluxe"}[i]
		r := a.send(key, http.MethodPatch, servicePath, ct, `{"name": "`+name+`", "price_minor": 3200}`)
		if r.status != http.StatusOK {
			t.Fatalf("%s: patch service: %d %v", ct, r.status, r.body)
		}
		got := a.call(key, http.MethodGet, servicePath, nil).data()
		if got["name"] != name || got["price_minor"] != 3200.0 || got["duration_minutes"] != 45.0 {
			t.Errorf("%s: service after patch: %v", ct, got)
		}
	}
	if r := a.send(key, http.MethodPatch, staffPath, httpapi.MIMEMergePatch, `{"name": "Sam B"}`); r.data()["name"] != "Sam B" {
		t.Errorf("merge patch of a staff name: %d %v", r.status, r.body)
	}
	if r := a.send(key, http.MethodPatch, locPath, httpapi.MIMEMergePatch, `{"min_notice_minutes": 90}`); r.data()["min_notice_minutes"] != 90.0 {
		t.Errorf("merge patch of a location's notice: %d %v", r.status, r.body)
	}
}

func TestWebhookPatchClearsDescription(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, allWebhookScopes...)
	created := a.call(key, http.MethodPost, "/v1/webhook_endpoints", map[string]any{
		"url": "http://127.0.0.1:9/setora", "event_types": []string{"*"}, "description": "CRM sync"})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	path := "/v1/webhook_endpoints/" + created.data()["id"].(string)

	for _, ct := range patchMediaTypes {
		r := a.send(key, http.MethodPatch, path, ct, `{"url": null}`)
		expectError(t, ct+": null url", r, http.StatusBadRequest, "invalid_parameter", "url")
		r = a.send(key, http.MethodPatch, path, ct, `{"event_types": null}`)
		expectError(t, ct+": null event_types", r, http.StatusBadRequest, "invalid_parameter", "event_types")
	}

	r := a.send(key, http.MethodPatch, path, httpapi.MIMEMergePatch, `{"description": null}`)
	if r.status != http.StatusOK {
		t.Fatalf("clear description: %d %v", r.status, r.body)
	}
	got := a.call(key, http.MethodGet, path, nil).data()
	if got["description"] != "" {
		t.Errorf("description = %v after null, want empty", got["description"])
	}
	if got["url"] != "http://127.0.0.1:9/setora" {
		t.Errorf("url = %v, want it unchanged", got["url"])
	}
}

// Errors inside nested bodies name the member by its full path.
func TestNestedBodyErrorsNamePath(t *testing.T) {
	t.Parallel()
	a := newFullAPI(t)
	_, key := a.organisation(auth.ModeTest, auth.ScopeBookingsWrite, auth.ScopeCatalogWrite, allWebhookScopes[1])
	const cut = "2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15"
	booking := func(extra string) string {
		return `{"location_slug": "soho", "service_ids": ["` + cut + `"], "starts_at": "2026-12-08T10:00:00+00:00"` + extra + `}`
	}

	cases := []struct {
		name, path, body, code, param string
	}{
		{"unknown client field", "/v1/bookings", booking(`, "client": {"name": "Alex", "mobile": "07700 900123"}`),
			"unknown_field", "client.mobile"},
		{"number for client phone", "/v1/bookings", booking(`, "client": {"phone": 7700900123}`),
			"invalid_parameter", "client.phone"},
		{"number in service ids", "/v1/bookings",
			`{"location_slug": "soho", "service_ids": ["` + cut + `", 42], "starts_at": "2026-12-08T10:00:00+00:00"}`,
			"invalid_parameter", "service_ids[1]"},
		{"invalid second service id", "/v1/bookings",
			`{"location_slug": "soho", "service_ids": ["` + cut + `", "beard"], "starts_at": "2026-12-08T10:00:00+00:00"}`,
			"invalid_parameter", "service_ids[1]"},
		{"repeated service id", "/v1/bookings",
			`{"location_slug": "soho", "service_ids": ["` + cut + `", "` + strings.ToUpper(cut) + `"], "starts_at": "2026-12-08T10:00:00+00:00"}`,
			"invalid_parameter", "service_ids[1]"},
		{"client without contact", "/v1/bookings", booking(`, "client": {"name": "Alex"}`),
			"invalid_parameter", "client.phone"},
		{"unknown deposit field", "/v1/bookings/SET-AAAAAA/confirm",
			`{"deposit": {"amount_minor": 1000, "currency": "GBP", "payment_ref": "pi_1"}}`, "unknown_field", "deposit.payment_ref"},
		{"text deposit amount", "/v1/bookings/SET-AAAAAA/confirm",
			`{"deposit": {"amount_minor": "1000", "currency": "GBP", "payment_reference": "pi_1"}}`,
			"invalid_parameter", "deposit.amount_minor"},
		{"unknown break field", "/v1/staff/00000000-0000-4000-8000-000000000000/locations/soho/weekly_hours",
			`{"weekly_hours": [{"weekday": "monday", "start": "09:00", "end": "17:00"},
			  {"weekday": "tuesday", "start": "09:00", "end": "17:00", "breaks": [{"start": "12:00", "finish": "13:00"}]}]}`,
			"unknown_field", "weekly_hours[1].breaks[0].finish"},
		{"unknown event type", "/v1/webhook_endpoints",
			`{"url": "http://127.0.0.1:9/", "event_types": ["booking.created", "booking.moved"]}`,
			"invalid_parameter", "event_types[1]"},
	}
	for _, tc := range cases {
		method := http.MethodPost
		if strings.HasSuffix(tc.path, "weekly_hours") {
			method = http.MethodPut
		}
		r := a.send(key, method, tc.path, "application/json", tc.body)
		expectError(t, tc.name, r, http.StatusBadRequest, tc.code, tc.param)
		if msg := r.errorField("message"); !strings.Contains(msg, tc.param) {
			t.Errorf("%s: message %q does not name %s", tc.name, msg, tc.param)
		}
	}
}

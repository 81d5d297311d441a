package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/httpapi"
)

// hookAPI is the webhook and event routes on their own database, with one key per case.
type hookAPI struct {
	t    *testing.T
	ctx  context.Context
	pool *pgxpool.Pool
	app  *fiber.App
}

func newHookAPI(t *testing.T) *hookAPI {
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := httpapi.NewApp("booking-svc-test", log)
	v1 := app.Group("/v1", auth.NewAuthenticator(pool, 0).Middleware())
	deps := Deps{Pool: pool, Log: log}
	mountWebhooks(v1, deps)
	mountEvents(v1, deps)
	return &hookAPI{t: t, ctx: ctx, pool: pool, app: app}
}

// organisation creates an organisation in mode and returns it with a key carrying scopes.
func (a *hookAPI) organisation(mode string, scopes ...string) (uuid.UUID, string) {
	a.t.Helper()
	org := uuid.New()
	a.exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Hooks', $2)`, org, mode)
	return org, a.key(org, mode, scopes...)
}

func (a *hookAPI) key(org uuid.UUID, mode string, scopes ...string) string {
	a.t.Helper()
	key, prefix, hash, err := auth.NewKey(mode)
	if err != nil {
		a.t.Fatal(err)
	}
	a.exec(`INSERT INTO api_keys (organisation_id, prefix, hash, scopes) VALUES ($1, $2, $3, $4)`, org, prefix, hash, scopes)
	return key
}

func (a *hookAPI) exec(sql string, args ...any) {
	a.t.Helper()
	if _, err := a.pool.Exec(a.ctx, sql, args...); err != nil {
		a.t.Fatalf("exec %q: %v", sql, err)
	}
}

type hookResponse struct {
	status int
	body   map[string]any
}

func (r hookResponse) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r hookResponse) list() []map[string]any {
	raw, _ := r.body["data"].([]any)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

func (r hookResponse) errorField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	v, _ := e[name].(string)
	return v
}

func (r hookResponse) nextCursor() string {
	p, _ := r.body["pagination"].(map[string]any)
	c, _ := p["next_cursor"].(string)
	return c
}

func (a *hookAPI) call(key, method, path string, body any) hookResponse {
	a.t.Helper()
	if body == nil {
		return a.send(key, method, path, "", "")
	}
	data, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.send(key, method, path, "application/json", string(data))
}

var allWebhookScopes = []string{auth.ScopeWebhooksRead, auth.ScopeWebhooksWrite}

func TestWebhookEndpointLifecycle(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	_, key := a.organisation(auth.ModeTest, allWebhookScopes...)

	created := a.call(key, http.MethodPost, "/v1/webhook_endpoints", map[string]any{
		"url": "http://127.0.0.1:9/setora", "event_types": []string{"booking.created", "booking.cancelled"},
		"description": "CRM sync"})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	d := created.data()
	id, _ := d["id"].(string)
	secret, _ := d["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+40 {
		t.Errorf("secret %q, want whsec_ and 40 characters", secret)
	}
	if d["status"] != "enabled" || d["url"] != "http://127.0.0.1:9/setora" || d["description"] != "CRM sync" {
		t.Errorf("created endpoint %v", d)
	}

	got := a.call(key, http.MethodGet, "/v1/webhook_endpoints/"+id, nil)
	if got.status != http.StatusOK {
		t.Fatalf("get: %d %v", got.status, got.body)
	}
	if _, shown := got.data()["secret"]; shown {
		t.Error("GET shows the secret again")
	}

	patched := a.call(key, http.MethodPatch, "/v1/webhook_endpoints/"+id, map[string]any{
		"description": "CRM", "event_types": []string{"*"}, "status": "disabled"})
	if patched.status != http.StatusOK {
		t.Fatalf("patch: %d %v", patched.status, patched.body)
	}
	if p := patched.data(); p["description"] != "CRM" || p["status"] != "disabled" || fmt.Sprint(p["event_types"]) != "[*]" {
		t.Errorf("patched endpoint %v", p)
	}
	if p := patched.data(); p["url"] != "http://127.0.0.1:9/setora" {
		t.Errorf("patch without url changed it to %v", p["url"])
	}

	rotated := a.call(key, http.MethodPost, "/v1/webhook_endpoints/"+id+"/rotate_secret", map[string]any{"overlap_minutes": 60})
	if rotated.status != http.StatusOK {
		t.Fatalf("rotate: %d %v", rotated.status, rotated.body)
	}
	newSecret, _ := rotated.data()["secret"].(string)
	if newSecret == "" || newSecret == secret {
		t.Errorf("rotated secret %q, want a new one", newSecret)
	}
	expires, _ := rotated.data()["previous_secret_expires_at"].(string)
	if at, err := time.Parse(time.RFC3339, expires); err != nil || at.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("previous_secret_expires_at %q, want about an hour from now", expires)
	}

	deleted := a.call(key, http.MethodDelete, "/v1/webhook_endpoints/"+id, nil)
	if deleted.status != http.StatusOK || deleted.data()["deleted"] != true {
		t.Fatalf("delete: %d %v", deleted.status, deleted.body)
	}
	if gone := a.call(key, http.MethodGet, "/v1/webhook_endpoints/"+id, nil); gone.status != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", gone.status)
	}
}

func TestWebhookEndpointListPages(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	_, key := a.organisation(auth.ModeTest, allWebhookScopes...)
	for i := range 5 {
		r := a.call(key, http.MethodPost, "/v1/webhook_endpoints", map[string]any{
			"url": fmt.Sprintf("http://localhost:%d/", 9000+i), "event_types": []string{"*"}})
		if r.status != http.StatusCreated {
			t.Fatalf("create %d: %d %v", i, r.status, r.body)
		}
	}
	seen := map[string]bool{}
	path := "/v1/webhook_endpoints?limit=2"
	var sizes []int
	for {
		page := a.call(key, http.MethodGet, path, nil)
		if page.status != http.StatusOK {
			t.Fatalf("list: %d %v", page.status, page.body)
		}
		sizes = append(sizes, len(page.list()))
		for _, e := range page.list() {
			id, _ := e["id"].(string)
			if seen[id] {
				t.Errorf("endpoint %s listed twice", id)
			}
			seen[id] = true
			if _, shown := e["secret"]; shown {
				t.Error("the list shows a secret")
			}
		}
		cursor := page.nextCursor()
		if cursor == "" {
			break
		}
		path = "/v1/webhook_endpoints?limit=2&cursor=" + cursor
	}
	if fmt.Sprint(sizes) != "[2 2 1]" || len(seen) != 5 {
		t.Errorf("pages of %v with %d endpoints, want [2 2 1] with 5", sizes, len(seen))
	}
}

func TestWebhookEndpointInputErrors(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	_, live := a.organisation(auth.ModeLive, allWebhookScopes...)
	_, test := a.organisation(auth.ModeTest, allWebhookScopes...)
	created := a.call(test, http.MethodPost, "/v1/webhook_endpoints", map[string]any{"url": "http://localhost/", "event_types": []string{"*"}})
	id, _ := created.data()["id"].(string)

	tests := []struct {
		name, key, method, path string
		body                    any
		status                  int
		code, param             string
	}{
		{"live http", live, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "http://hooks.example.com/", "event_types": []string{"*"}}, 400, "invalid_parameter", "url"},
		{"live loopback", live, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "https://127.0.0.1/", "event_types": []string{"*"}}, 400, "invalid_parameter", "url"},
		{"link-local", test, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "https://169.254.169.254/", "event_types": []string{"*"}}, 400, "invalid_parameter", "url"},
		{"unknown event type", test, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "http://localhost/", "event_types": []string{"booking.created", "booking.moved"}}, 400, "invalid_parameter", "event_types[1]"},
		{"no event types", test, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "http://localhost/"}, 400, "invalid_parameter", "event_types"},
		{"unknown field", test, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "http://localhost/", "event_types": []string{"*"}, "secret": "mine"}, 400, "unknown_field", "secret"},
		{"long description", test, http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": "http://localhost/", "event_types": []string{"*"}, "description": strings.Repeat("x", 501)}, 400, "invalid_parameter", "description"},
		{"set failing", test, http.MethodPatch, "/v1/webhook_endpoints/" + id,
			map[string]any{"status": "failing"}, 400, "invalid_parameter", "status"},
		{"empty event types", test, http.MethodPatch, "/v1/webhook_endpoints/" + id,
			map[string]any{"event_types": []string{}}, 400, "invalid_parameter", "event_types"},
		{"long overlap", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/rotate_secret",
			map[string]any{"overlap_minutes": 20000}, 400, "invalid_parameter", "overlap_minutes"},
		{"malformed id", test, http.MethodGet, "/v1/webhook_endpoints/not-a-uuid", nil, 404, "webhook_endpoint_not_found", "id"},
		{"bad limit", test, http.MethodGet, "/v1/webhook_endpoints?limit=0", nil, 400, "invalid_parameter", "limit"},
		{"bad cursor", test, http.MethodGet, "/v1/webhook_endpoints?cursor=abc", nil, 400, "invalid_parameter", "cursor"},
		{"unknown query", test, http.MethodGet, "/v1/webhook_endpoints?status=enabled", nil, 400, "invalid_parameter", "status"},
		{"redeliver nothing", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/redeliver",
			map[string]any{}, 400, "invalid_parameter", "from"},
		{"redeliver both", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/redeliver",
			map[string]any{"event_id": uuid.NewString(), "from": "2026-01-01T00:00:00Z"}, 400, "invalid_parameter", "event_id"},
		{"redeliver backwards", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/redeliver",
			map[string]any{"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 400, "invalid_parameter", "to"},
		{"redeliver no offset", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/redeliver",
			map[string]any{"from": "2026-01-01T00:00:00"}, 400, "invalid_parameter", "from"},
		{"redeliver unknown event", test, http.MethodPost, "/v1/webhook_endpoints/" + id + "/redeliver",
			map[string]any{"event_id": uuid.NewString()}, 404, "event_not_found", "event_id"},
		{"unknown event type filter", test, http.MethodGet, "/v1/events?type=booking.moved", nil, 400, "invalid_parameter", "type"},
		{"bad booking filter", test, http.MethodGet, "/v1/events?booking_id=42", nil, 400, "invalid_parameter", "booking_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.call(tt.key, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %v", r.status, tt.status, r.body)
			}
			if got := r.errorField("code"); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if got := r.errorField("param"); got != tt.param {
				t.Errorf("param %q, want %q", got, tt.param)
			}
			if r.errorField("message") == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestWebhookRoutesNeedScopesAndOwnOrganisation(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	_, owner := a.organisation(auth.ModeTest, allWebhookScopes...)
	_, other := a.organisation(auth.ModeTest, allWebhookScopes...)
	_, readOnly := a.organisation(auth.ModeTest, auth.ScopeWebhooksRead)
	_, bookingsOnly := a.organisation(auth.ModeTest, auth.ScopeBookingsRead, auth.ScopeBookingsWrite)

	created := a.call(owner, http.MethodPost, "/v1/webhook_endpoints", map[string]any{"url": "http://localhost/", "event_types": []string{"*"}})
	id, _ := created.data()["id"].(string)

	if r := a.call(readOnly, http.MethodPost, "/v1/webhook_endpoints", map[string]any{"url": "http://localhost/", "event_types": []string{"*"}}); r.status != http.StatusForbidden || !strings.Contains(r.errorField("message"), "webhooks:write") {
		t.Errorf("create with webhooks:read only: %d %v, want 403 naming webhooks:write", r.status, r.body)
	}
	if r := a.call(readOnly, http.MethodGet, "/v1/webhook_endpoints", nil); r.status != http.StatusOK {
		t.Errorf("list with webhooks:read: %d, want 200", r.status)
	}
	for _, path := range []string{"/v1/webhook_endpoints", "/v1/events"} {
		if r := a.call(bookingsOnly, http.MethodGet, path, nil); r.status != http.StatusForbidden || r.errorField("code") != "insufficient_scope" {
			t.Errorf("GET %s without webhooks scopes: %d %v, want 403 insufficient_scope", path, r.status, r.body)
		}
	}
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/webhook_endpoints/" + id},
		{http.MethodPatch, "/v1/webhook_endpoints/" + id},
		{http.MethodDelete, "/v1/webhook_endpoints/" + id},
		{http.MethodPost, "/v1/webhook_endpoints/" + id + "/rotate_secret"},
		{http.MethodGet, "/v1/webhook_endpoints/" + id + "/deliveries"},
	} {
		var body any
		if req.method == http.MethodPatch {
			body = map[string]any{"description": "taken over"}
		}
		if r := a.call(other, req.method, req.path, body); r.status != http.StatusNotFound {
			t.Errorf("%s %s from another organisation: %d, want 404", req.method, req.path, r.status)
		}
	}
	if r := a.call(owner, http.MethodGet, "/v1/webhook_endpoints/"+id, nil); r.data()["description"] == "taken over" {
		t.Error("another organisation changed the endpoint")
	}
	if list := a.call(other, http.MethodGet, "/v1/webhook_endpoints", nil).list(); len(list) != 0 {
		t.Errorf("another organisation lists %d endpoints, want 0", len(list))
	}
}

// bookingRow inserts a booking directly, with the location and staff it needs, and returns its
// id and reference.
func (a *hookAPI) bookingRow(org uuid.UUID) (uuid.UUID, string) {
	a.t.Helper()
	location, staff, booking := uuid.New(), uuid.New(), uuid.New()
	reference := "SET-" + strings.ToUpper(booking.String()[:6])
	a.exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone) VALUES ($1, $2, $3, 'Shop', 'Europe/London')`,
		location, org, "shop-"+booking.String()[:8])
	a.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Sam')`, staff, org)
	a.exec(`INSERT INTO bookings (id, organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked)
		VALUES ($1, $2, $3, $4, $5, 'confirmed', '2030-01-08T10:00:00Z', '2030-01-08T10:30:00Z',
			tstzrange('2030-01-08T10:00:00Z', '2030-01-08T10:30:00Z', '[)'))`, booking, org, reference, location, staff)
	return booking, reference
}

// event inserts an outbox row and returns its id.
func (a *hookAPI) event(org, booking uuid.UUID, eventType string, sequence int, createdAt time.Time) uuid.UUID {
	a.t.Helper()
	id := uuid.New()
	payload := fmt.Sprintf(`{"id": %q, "status": "confirmed"}`, booking)
	a.exec(`INSERT INTO outbox_events (id, organisation_id, booking_id, type, sequence, payload, created_at, dispatched_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())`, id, org, booking, eventType, sequence, payload, createdAt)
	return id
}

func TestEventsListFiltersAndPages(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	org, key := a.organisation(auth.ModeTest, allWebhookScopes...)
	otherOrg, otherKey := a.organisation(auth.ModeTest, allWebhookScopes...)
	first, firstRef := a.bookingRow(org)
	second, _ := a.bookingRow(org)
	base := time.Now().Add(-time.Hour)
	created := a.event(org, first, "booking.created", 1, base)
	a.event(org, second, "booking.created", 1, base.Add(time.Minute))
	cancelled := a.event(org, first, "booking.cancelled", 2, base.Add(2*time.Minute))
	otherBooking, _ := a.bookingRow(otherOrg)
	foreign := a.event(otherOrg, otherBooking, "booking.created", 1, base)

	all := a.call(key, http.MethodGet, "/v1/events", nil)
	if all.status != http.StatusOK || len(all.list()) != 3 {
		t.Fatalf("list: %d with %d events, want 200 with 3", all.status, len(all.list()))
	}
	if all.list()[0]["id"] != cancelled.String() {
		t.Errorf("first listed event %v, want the newest %s", all.list()[0]["id"], cancelled)
	}
	e := all.list()[0]
	org0, _ := e["organisation"].(map[string]any)
	data, _ := e["data"].(map[string]any)
	booking, _ := data["booking"].(map[string]any)
	if e["type"] != "booking.cancelled" || e["sequence"] != float64(2) || e["api_version"] != "v1" ||
		org0["id"] != org.String() || org0["mode"] != "test" || booking["id"] != first.String() {
		t.Errorf("event %v does not carry type, sequence, api_version, organisation and data.booking", e)
	}

	byType := a.call(key, http.MethodGet, "/v1/events?type=booking.cancelled", nil)
	if len(byType.list()) != 1 || byType.list()[0]["id"] != cancelled.String() {
		t.Errorf("type filter returned %v, want only %s", byType.list(), cancelled)
	}
	for _, ref := range []string{first.String(), firstRef, strings.ToLower(firstRef)} {
		byBooking := a.call(key, http.MethodGet, "/v1/events?booking_id="+ref, nil)
		if len(byBooking.list()) != 2 {
			t.Errorf("booking_id=%s returned %d events, want 2", ref, len(byBooking.list()))
		}
	}

	page1 := a.call(key, http.MethodGet, "/v1/events?booking_id="+first.String()+"&limit=1", nil)
	cursor := page1.nextCursor()
	if len(page1.list()) != 1 || cursor == "" {
		t.Fatalf("first page: %d events, cursor %q", len(page1.list()), cursor)
	}
	page2 := a.call(key, http.MethodGet, "/v1/events?booking_id="+first.String()+"&limit=1&cursor="+cursor, nil)
	if len(page2.list()) != 1 || page2.list()[0]["id"] != created.String() || page2.nextCursor() != "" {
		t.Errorf("second page %v (next %q), want only %s and no next cursor", page2.list(), page2.nextCursor(), created)
	}
	if r := a.call(key, http.MethodGet, "/v1/events?type=booking.created&cursor="+cursor, nil); r.status != http.StatusBadRequest {
		t.Errorf("a cursor reused with another filter: %d, want 400", r.status)
	}

	one := a.call(key, http.MethodGet, "/v1/events/"+created.String(), nil)
	if one.status != http.StatusOK || one.data()["id"] != created.String() {
		t.Errorf("get event: %d %v", one.status, one.body)
	}
	if r := a.call(key, http.MethodGet, "/v1/events/"+foreign.String(), nil); r.status != http.StatusNotFound || r.errorField("code") != "event_not_found" {
		t.Errorf("another organisation's event: %d %v, want 404 event_not_found", r.status, r.body)
	}
	if list := a.call(otherKey, http.MethodGet, "/v1/events", nil).list(); len(list) != 1 {
		t.Errorf("the other organisation lists %d events, want its own 1", len(list))
	}
}

func TestRedeliverAndDeliveryLog(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	org, key := a.organisation(auth.ModeTest, allWebhookScopes...)
	booking, _ := a.bookingRow(org)
	base := time.Now().Add(-time.Hour)
	created := a.event(org, booking, "booking.created", 1, base)
	cancelled := a.event(org, booking, "booking.cancelled", 2, base.Add(time.Minute))

	endpoint := a.call(key, http.MethodPost, "/v1/webhook_endpoints", map[string]any{
		"url": "http://localhost:9/", "event_types": []string{"booking.cancelled"}})
	id, _ := endpoint.data()["id"].(string)
	redeliver := "/v1/webhook_endpoints/" + id + "/redeliver"

	one := a.call(key, http.MethodPost, redeliver, map[string]any{"event_id": created.String()})
	if one.status != http.StatusAccepted || one.data()["queued"] != float64(1) {
		t.Errorf("redeliver one event: %d %v, want 202 queued 1 even for an unsubscribed type", one.status, one.body)
	}
	rng := a.call(key, http.MethodPost, redeliver, map[string]any{"from": base.Add(-time.Minute).Format(time.RFC3339)})
	if rng.status != http.StatusAccepted || rng.data()["queued"] != float64(1) {
		t.Errorf("redeliver range: %d %v, want 202 queued 1 (the subscribed booking.cancelled)", rng.status, rng.body)
	}
	var jobs int
	if err := a.pool.QueryRow(a.ctx, `SELECT count(*) FROM river_job WHERE args->>'endpoint_id' = $1 AND (args->>'redelivery')::bool`, id).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 2 {
		t.Errorf("%d redelivery jobs queued, want 2", jobs)
	}

	// A delivery log written as the worker writes it.
	endpointID := uuid.MustParse(id)
	a.exec(`INSERT INTO webhook_deliveries (organisation_id, endpoint_id, event_id, attempt, outcome, status_code, latency_ms, error, created_at)
		VALUES ($1, $2, $3, 1, 'failed', 502, 120, 'the endpoint responded with status 502', now() - interval '2 minutes'),
		       ($1, $2, $3, 2, 'succeeded', 200, 35, '', now() - interval '1 minute'),
		       ($1, $2, $4, 1, 'failed', NULL, 10000, 'timed out after 10s', now())`, org, endpointID, cancelled, created)
	log := a.call(key, http.MethodGet, "/v1/webhook_endpoints/"+id+"/deliveries?limit=2", nil)
	if log.status != http.StatusOK || len(log.list()) != 2 || log.nextCursor() == "" {
		t.Fatalf("delivery log: %d with %d rows and cursor %q", log.status, len(log.list()), log.nextCursor())
	}
	newest := log.list()[0]
	if newest["event_id"] != created.String() || newest["status_code"] != nil || newest["latency_ms"] != float64(10000) ||
		newest["error"] != "timed out after 10s" || newest["outcome"] != "failed" || newest["event_type"] != "booking.created" {
		t.Errorf("newest log row %v", newest)
	}
	byEvent := a.call(key, http.MethodGet, "/v1/webhook_endpoints/"+id+"/deliveries?event_id="+cancelled.String(), nil)
	if rows := byEvent.list(); len(rows) != 2 || rows[0]["attempt"] != float64(2) || rows[0]["status_code"] != float64(200) {
		t.Errorf("log filtered by event: %v, want attempts 2 then 1", rows)
	}

	if r := a.call(key, http.MethodPatch, "/v1/webhook_endpoints/"+id, map[string]any{"status": "disabled"}); r.status != http.StatusOK {
		t.Fatalf("disable: %d", r.status)
	}
	if r := a.call(key, http.MethodPost, redeliver, map[string]any{"event_id": created.String()}); r.status != http.StatusConflict || r.errorField("code") != "webhook_endpoint_disabled" {
		t.Errorf("redeliver to a disabled endpoint: %d %v, want 409 webhook_endpoint_disabled", r.status, r.body)
	}
}

// Concurrent creations never take an organisation past its endpoint limit.
func TestWebhookEndpointLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	a := newHookAPI(t)
	_, key := a.organisation(auth.ModeTest, allWebhookScopes...)
	const attempts = webhooks.MaxEndpointsPerOrganisation + 5
	statuses := make(chan int, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := a.call(key, http.MethodPost, "/v1/webhook_endpoints", map[string]any{
				"url": fmt.Sprintf("http://localhost:%d/", 10000+i), "event_types": []string{"*"}})
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)

	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusCreated] != webhooks.MaxEndpointsPerOrganisation || counts[http.StatusUnprocessableEntity] != 5 {
		t.Errorf("statuses %v, want %d created and 5 refused with 422", counts, webhooks.MaxEndpointsPerOrganisation)
	}
	var stored int
	if err := a.pool.QueryRow(a.ctx, `SELECT count(*) FROM webhook_endpoints`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != webhooks.MaxEndpointsPerOrganisation {
		t.Errorf("%d endpoints stored, want %d", stored, webhooks.MaxEndpointsPerOrganisation)
	}
}

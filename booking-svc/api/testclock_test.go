package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/setora/rest/shared/auth"
)

// A hold read as expired under an advanced clock stays expired when the clock is reset, even
// though no sweeper ran in between.
func TestExpiredHoldSurvivesClockReset(t *testing.T) {
	a := newFullAPI(t)
	org, key := a.organisation("test", auth.ScopeCatalogWrite, auth.ScopeBookingsRead, auth.ScopeBookingsWrite)
	location, staff, hold := uuid.New(), uuid.New(), uuid.New()
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	expires := time.Now().Add(10 * time.Minute).UTC()
	a.exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone) VALUES ($1, $2, 'shop', 'Shop', 'Europe/London')`,
		location, org)
	a.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Sam')`, staff, org)
	a.exec(`INSERT INTO bookings (id, organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked,
			hold_expires_at)
		VALUES ($1, $2, 'SET-HOLD01', $3, $4, 'held', $5, $6, tstzrange($5, $6, '[)'), $7)`,
		hold, org, location, staff, start, start.Add(30*time.Minute), expires)

	status := func(label string) string {
		t.Helper()
		r := a.call(key, "GET", "/v1/bookings/SET-HOLD01", nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: read hold = %d %v", label, r.status, r.body)
		}
		got, _ := r.data()["status"].(string)
		return got
	}

	if r := a.call(key, "POST", "/v1/test_clock", map[string]any{"advance_seconds": 3600}); r.status != http.StatusOK {
		t.Fatalf("advance clock = %d %v", r.status, r.body)
	}
	if got := status("advanced"); got != "expired" {
		t.Fatalf("hold under the advanced clock is %q, want expired", got)
	}
	if r := a.call(key, "DELETE", "/v1/test_clock", nil); r.status != http.StatusOK {
		t.Fatalf("reset clock = %d %v", r.status, r.body)
	}
	if got := status("reset"); got != "expired" {
		t.Errorf("hold after the clock reset is %q, want it to stay expired", got)
	}
	r := a.call(key, "POST", "/v1/bookings/SET-HOLD01/confirm", map[string]any{})
	if r.status != http.StatusConflict || r.errorField("code") != "hold_expired" {
		t.Errorf("confirm after the reset = %d %v, want 409 hold_expired", r.status, r.body)
	}
	var events int
	err := a.pool.QueryRow(a.ctx, `SELECT count(*) FROM outbox_events WHERE booking_id = $1 AND type = 'booking.expired'`,
		hold).Scan(&events)
	if err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("booking.expired events = %d, want 1", events)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// Tuesday 12 May 2026 in the demo shop: Marcus works 09:00-17:30 with a break at 13:00, Priya
// 09:00-18:00 with a break at 12:30, Tom not at all. The slot step is 30 minutes and the
// minimum notice an hour. On Wednesday 13 May all three work.
const (
	lifecycleClock = "2026-05-11T12:00:00+01:00"
	tuesday        = "2026-05-12"
	wednesday      = "2026-05-13"
	tom            = "d2e5a9b3-7f4c-4ae8-b196-3c9d6f2a8e4a"
)

// at writes a London summer wall time on a date as RFC 3339.
func at(date, clock string) string { return date + "T" + clock + ":00+01:00" }

func bookingBody(service, staff, startsAt string) map[string]any {
	body := map[string]any{"location_slug": "soho", "service_ids": []string{service}, "starts_at": startsAt}
	if staff != "" {
		body["staff_id"] = staff
	}
	return body
}

// send is call for use from other goroutines: it returns transport errors instead of failing
// the test, because only the test's own goroutine may stop it.
func (s *stack) send(method, path string, body any, headers ...string) (response, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequest(method, s.baseURL+path, bytes.NewReader(data))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

// sendAll sends every body at once, each with its headers, and returns the responses in order.
func (s *stack) sendAll(t *testing.T, path string, bodies []map[string]any, headers [][]string) []response {
	t.Helper()
	answers := make([]response, len(bodies))
	errs := make([]error, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = s.send("POST", path, bodies[i], headers[i]...)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return answers
}

func statusCounts(answers []response) map[int]int {
	counts := map[int]int{}
	for _, a := range answers {
		counts[a.Status]++
	}
	return counts
}

func (r response) list() []map[string]any {
	raw, _ := r.Body["data"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, item := range raw {
		m, _ := item.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r response) alternatives() []map[string]any {
	e, _ := r.Body["error"].(map[string]any)
	raw, _ := e["alternatives"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, item := range raw {
		m, _ := item.(map[string]any)
		out = append(out, m)
	}
	return out
}

func TestTwentyConcurrentCreatesOneWins(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)

	const callers = 20
	bodies := make([]map[string]any, callers)
	headers := make([][]string, callers)
	for i := range callers {
		bodies[i] = bookingBody(classicCut, marcus, at(tuesday, "10:00"))
		bodies[i]["client"] = map[string]any{"name": fmt.Sprintf("Caller %d", i), "phone": fmt.Sprintf("07700 9001%02d", i)}
		headers[i] = []string{"Idempotency-Key", fmt.Sprintf("race-%d", i)}
	}
	answers := s.sendAll(t, "/v1/bookings", bodies, headers)

	counts := statusCounts(answers)
	if counts[http.StatusCreated] != 1 || counts[http.StatusConflict] != callers-1 {
		t.Fatalf("statuses = %v, want one 201 and %d 409", counts, callers-1)
	}
	for _, a := range answers {
		if a.Status == http.StatusConflict && a.errorField("code") != "slot_unavailable" {
			t.Errorf("409 code = %q, want slot_unavailable", a.errorField("code"))
		}
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 1 {
		t.Errorf("bookings = %d, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE type = 'booking.created'`); n != 1 {
		t.Errorf("booking.created events = %d, want 1", n)
	}
}

// TestOverlappingIntervalsConflict races two skin fades (45 minutes plus a 15-minute buffer
// after) at 10:00 and 10:30 for one staff member, then one start for two staff members.
func TestOverlappingIntervalsConflict(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)

	answers := s.sendAll(t, "/v1/bookings", []map[string]any{
		bookingBody(skinFade, marcus, at(tuesday, "10:00")),
		bookingBody(skinFade, marcus, at(tuesday, "10:30")),
	}, [][]string{nil, nil})
	if counts := statusCounts(answers); counts[http.StatusCreated] != 1 || counts[http.StatusConflict] != 1 {
		t.Errorf("overlapping intervals: statuses = %v, want one 201 and one 409", counts)
	}

	answers = s.sendAll(t, "/v1/bookings", []map[string]any{
		bookingBody(skinFade, marcus, at(tuesday, "15:00")),
		bookingBody(skinFade, priya, at(tuesday, "15:00")),
	}, [][]string{nil, nil})
	if counts := statusCounts(answers); counts[http.StatusCreated] != 2 {
		t.Errorf("one start, two staff members: statuses = %v, want two 201", counts)
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 3 {
		t.Errorf("bookings = %d, want 3", n)
	}
}

// TestBufferBlocksNextStart books 10:00-10:45 with a 15-minute buffer after on a 15-minute
// grid: 10:45 is taken, 11:00 is free. The store's tests show the constraint alone refusing it.
func TestBufferBlocksNextStart(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	if _, err := s.pool.Exec(t.Context(), `UPDATE locations SET slot_step_minutes = 15`); err != nil {
		t.Fatal(err)
	}

	if r := s.call("POST", "/v1/bookings", bookingBody(skinFade, marcus, at(tuesday, "10:00"))); r.Status != http.StatusCreated {
		t.Fatalf("book 10:00: %d %s", r.Status, r.Raw)
	}
	r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, at(tuesday, "10:45")))
	if r.Status != http.StatusConflict || r.errorField("code") != "slot_unavailable" {
		t.Errorf("book 10:45 inside the buffer: %d %s", r.Status, r.Raw)
	}
	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, at(tuesday, "11:00"))); r.Status != http.StatusCreated {
		t.Errorf("book 11:00 after the buffer: %d %s", r.Status, r.Raw)
	}
}

func TestIdempotentRetries(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	body := bookingBody(classicCut, marcus, at(tuesday, "10:00"))

	first := s.call("POST", "/v1/bookings", body, "Idempotency-Key", "retry-1")
	if first.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	replay := s.call("POST", "/v1/bookings", body, "Idempotency-Key", "retry-1")
	if replay.Status != http.StatusCreated || !bytes.Equal(replay.Raw, first.Raw) {
		t.Errorf("replay: %d %s; want the first answer again", replay.Status, replay.Raw)
	}
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay header = %q, want true", replay.Header.Get("Idempotent-Replayed"))
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 1 {
		t.Errorf("bookings after a replay = %d, want 1", n)
	}

	moved := bookingBody(classicCut, marcus, at(tuesday, "11:00"))
	reused := s.call("POST", "/v1/bookings", moved, "Idempotency-Key", "retry-1")
	if reused.Status != http.StatusUnprocessableEntity || reused.errorField("code") != "idempotency_key_reused" {
		t.Errorf("same key, other start: %d %s", reused.Status, reused.Raw)
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 1 {
		t.Errorf("bookings after a reused key = %d, want 1", n)
	}

	taken := s.call("POST", "/v1/bookings", body, "Idempotency-Key", "retry-2")
	if taken.Status != http.StatusConflict || taken.errorField("code") != "slot_unavailable" {
		t.Errorf("new key for the taken slot: %d %s", taken.Status, taken.Raw)
	}
	if n := s.count(`SELECT count(*) FROM idempotency_keys WHERE key = 'retry-2' AND response_status = 409`); n != 1 {
		t.Errorf("stored 409 answers for retry-2 = %d, want 1", n)
	}

	// Once a key has expired it may serve a new request.
	s.count(`WITH expired AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second'
		WHERE key = 'retry-1' RETURNING 1) SELECT count(*) FROM expired`)
	if again := s.call("POST", "/v1/bookings", moved, "Idempotency-Key", "retry-1"); again.Status != http.StatusCreated {
		t.Errorf("expired key, new start: %d %s", again.Status, again.Raw)
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != 2 {
		t.Errorf("bookings after reusing an expired key = %d, want 2", n)
	}

	const copies = 8
	bodies := make([]map[string]any, copies)
	headers := make([][]string, copies)
	for i := range copies {
		bodies[i] = bookingBody(classicCut, marcus, at(tuesday, "14:00"))
		headers[i] = []string{"Idempotency-Key", "retry-3"}
	}
	// A booking stores its key in its own transaction, so a concurrent copy waits for the first
	// to commit and gets its response. Every copy is the same 201, and only one is not a replay.
	answers := s.sendAll(t, "/v1/bookings", bodies, headers)
	bodiesSeen := map[string]bool{}
	fresh := 0
	for _, a := range answers {
		if a.Status != http.StatusCreated {
			t.Errorf("concurrent copy: %d %s", a.Status, a.Raw)
			continue
		}
		bodiesSeen[string(a.Raw)] = true
		if a.Header.Get("Idempotent-Replayed") != "true" {
			fresh++
		}
	}
	if len(bodiesSeen) != 1 {
		t.Errorf("concurrent copies returned %d different bodies, want 1", len(bodiesSeen))
	}
	if fresh != 1 {
		t.Errorf("concurrent copies not marked as replays = %d, want 1", fresh)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE starts_at = $1`, at(tuesday, "14:00")); n != 1 {
		t.Errorf("bookings from concurrent copies = %d, want 1", n)
	}
}

func TestCancelFreesSlotForAnother(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	start := at(tuesday, "10:00")
	query := "/v1/locations/soho/availability?service_ids=" + classicCut + "&date=" + tuesday + "&staff_id=" + marcus

	first := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, start))
	if first.Status != http.StatusCreated {
		t.Fatalf("book: %d %s", first.Status, first.Raw)
	}
	if hasStart(slotsOf(t, s.call("GET", query, nil)), start, marcus) {
		t.Fatal("10:00 is still offered after booking it")
	}
	cancelled := s.call("POST", "/v1/bookings/"+first.data()["reference"].(string)+"/cancel",
		map[string]any{"reason": "client rang", "cancelled_by": "client"})
	if cancelled.Status != http.StatusOK || cancelled.data()["status"] != "cancelled" {
		t.Fatalf("cancel: %d %s", cancelled.Status, cancelled.Raw)
	}
	if !hasStart(slotsOf(t, s.call("GET", query, nil)), start, marcus) {
		t.Error("10:00 is not offered in the next availability answer after cancelling")
	}
	second := s.call("POST", "/v1/bookings", map[string]any{"location_slug": "soho", "service_ids": []string{classicCut},
		"starts_at": start, "staff_id": marcus, "client": map[string]any{"name": "Someone Else", "phone": "07700 900456"}})
	if second.Status != http.StatusCreated || second.data()["id"] == first.data()["id"] {
		t.Errorf("book the freed slot: %d %s", second.Status, second.Raw)
	}
}

func TestRescheduleKeepsIdentity(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	const longCut = "6e1f3a78-9bc4-4d05-8e16-2a7b9c0d1e53"
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `INSERT INTO services (id, organisation_id, name, duration_minutes, price_minor)
		SELECT $1, id, 'Long cut', 60, 4000 FROM organisations`, longCut); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id)
		SELECT organisation_id, $2, $1, id FROM locations`, longCut, marcus); err != nil {
		t.Fatal(err)
	}

	b := s.call("POST", "/v1/bookings", bookingBody(longCut, marcus, at(tuesday, "11:00")))
	if b.Status != http.StatusCreated {
		t.Fatalf("book 11:00-12:00: %d %s", b.Status, b.Raw)
	}
	id, ref := b.data()["id"].(string), b.data()["reference"].(string)

	moved := s.call("POST", "/v1/bookings/"+id+"/reschedule", map[string]any{"starts_at": at(tuesday, "11:30")})
	if moved.Status != http.StatusOK {
		t.Fatalf("reschedule to 11:30: %d %s", moved.Status, moved.Raw)
	}
	data := moved.data()
	if data["id"] != id || data["reference"] != ref || data["starts_at"] != at(tuesday, "11:30") ||
		data["ends_at"] != at(tuesday, "12:30") || data["staff_id"] != marcus {
		t.Errorf("rescheduled booking = %s", moved.Raw)
	}

	query := "/v1/locations/soho/availability?service_ids=" + classicCut + "&date=" + tuesday + "&staff_id=" + marcus
	if !hasStart(slotsOf(t, s.call("GET", query, nil)), at(tuesday, "11:00"), marcus) {
		t.Error("11:00 is not offered for a 30-minute service after the move")
	}
	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, at(tuesday, "11:00"))); r.Status != http.StatusCreated {
		t.Errorf("book the freed 11:00: %d %s", r.Status, r.Raw)
	}

	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, at(tuesday, "14:00"))); r.Status != http.StatusCreated {
		t.Fatalf("book 14:00: %d %s", r.Status, r.Raw)
	}
	onto := s.call("POST", "/v1/bookings/"+ref+"/reschedule", map[string]any{"starts_at": at(tuesday, "13:30")})
	if onto.Status != http.StatusConflict || onto.errorField("code") != "slot_unavailable" || len(onto.alternatives()) == 0 {
		t.Errorf("reschedule onto 14:00's booking: %d %s", onto.Status, onto.Raw)
	}
	after := s.call("GET", "/v1/bookings/"+id, nil)
	if after.data()["starts_at"] != at(tuesday, "11:30") {
		t.Errorf("after a refused reschedule the booking starts %v, want 11:30", after.data()["starts_at"])
	}
}

func TestHoldExpiresWithoutSweep(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	start := at(tuesday, "10:00")
	query := "/v1/locations/soho/availability?service_ids=" + classicCut + "&date=" + tuesday + "&staff_id=" + marcus

	body := bookingBody(classicCut, marcus, start)
	body["status"], body["hold_minutes"] = "held", 5
	hold := s.call("POST", "/v1/bookings", body)
	if hold.Status != http.StatusCreated || hold.data()["status"] != "held" ||
		hold.data()["hold_expires_at"] != "2026-05-11T12:05:00+01:00" {
		t.Fatalf("hold: %d %s", hold.Status, hold.Raw)
	}
	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, start)); r.Status != http.StatusConflict {
		t.Errorf("book during the hold: %d %s", r.Status, r.Raw)
	}
	if hasStart(slotsOf(t, s.call("GET", query, nil)), start, marcus) {
		t.Error("a held slot is offered")
	}

	// The test clock endpoint responds after the availability replicas have applied the change,
	// so the next availability request already uses the new clock.
	if r := s.call("POST", "/v1/test_clock", map[string]any{"advance_seconds": 300}); r.Status != http.StatusOK {
		t.Fatalf("advance the test clock: %d %s", r.Status, r.Raw)
	}
	if !hasStart(slotsOf(t, s.call("GET", query, nil)), start, marcus) {
		t.Error("the slot is not offered at the hold's expiry")
	}
	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, start)); r.Status != http.StatusCreated {
		t.Errorf("book at the hold's expiry: %d %s", r.Status, r.Raw)
	}
	confirm := s.call("POST", "/v1/bookings/"+hold.data()["id"].(string)+"/confirm", nil)
	if confirm.Status != http.StatusConflict || confirm.errorField("code") != "hold_expired" {
		t.Errorf("confirm the expired hold: %d %s", confirm.Status, confirm.Raw)
	}
	if got := s.call("GET", "/v1/bookings/"+hold.data()["id"].(string), nil); got.data()["status"] != "expired" {
		t.Errorf("expired hold reads as %v", got.data()["status"])
	}
}

func TestAnyStaffAssignsTheFreeOne(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	start := at(tuesday, "10:00")
	if r := s.call("POST", "/v1/bookings", bookingBody(classicCut, marcus, start)); r.Status != http.StatusCreated {
		t.Fatalf("book Marcus: %d %s", r.Status, r.Raw)
	}

	anyone := s.call("POST", "/v1/bookings", bookingBody(classicCut, "any", start))
	if anyone.Status != http.StatusCreated || anyone.data()["staff_id"] != priya {
		t.Errorf("any staff with only Priya free: %d %s", anyone.Status, anyone.Raw)
	}

	nobody := s.call("POST", "/v1/bookings", bookingBody(classicCut, "any", start))
	if nobody.Status != http.StatusConflict || nobody.errorField("code") != "slot_unavailable" {
		t.Fatalf("any staff with nobody free: %d %s", nobody.Status, nobody.Raw)
	}
	alternatives := nobody.alternatives()
	if len(alternatives) == 0 || len(alternatives) > 3 {
		t.Fatalf("alternatives = %d, want 1 to 3", len(alternatives))
	}
	for _, alt := range alternatives {
		if alt["starts_at"] == start {
			t.Errorf("alternative %v is the taken start", alt)
		}
		retry := s.call("POST", "/v1/bookings", bookingBody(classicCut, alt["staff_id"].(string), alt["starts_at"].(string)))
		if retry.Status != http.StatusCreated {
			t.Errorf("book alternative %v: %d %s", alt, retry.Status, retry.Raw)
		}
	}
}

// TestListPagesTwoTwoOne lists three bookings at one start and two later ones, with a
// cancelled booking among them, two at a time filtered to confirmed.
func TestListPagesTwoTwoOne(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	for _, b := range []map[string]any{
		bookingBody(classicCut, marcus, at(wednesday, "10:30")),
		bookingBody(classicCut, marcus, at(wednesday, "11:00")),
		bookingBody(classicCut, priya, at(wednesday, "11:00")),
		bookingBody(classicCut, tom, at(wednesday, "11:00")),
		bookingBody(classicCut, marcus, at(wednesday, "12:00")),
		bookingBody(classicCut, marcus, at(wednesday, "15:00")),
	} {
		if r := s.call("POST", "/v1/bookings", b); r.Status != http.StatusCreated {
			t.Fatalf("book: %d %s", r.Status, r.Raw)
		}
	}
	if _, err := s.pool.Exec(t.Context(), `UPDATE bookings SET status = 'cancelled', cancelled_at = now()
		WHERE starts_at = $1`, at(wednesday, "12:00")); err != nil {
		t.Fatal(err)
	}

	path := "/v1/bookings?status=confirmed&limit=2&starts_from=" + url.QueryEscape(at(wednesday, "00:00"))
	var sizes []int
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 5; page++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.call("GET", p, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("page %d: %d %s", page+1, r.Status, r.Raw)
		}
		items := r.list()
		sizes = append(sizes, len(items))
		for _, item := range items {
			id := item["id"].(string)
			if seen[id] {
				t.Errorf("booking %s listed twice", id)
			}
			seen[id] = true
			if item["status"] != "confirmed" {
				t.Errorf("listed a %v booking", item["status"])
			}
		}
		pagination, _ := r.Body["pagination"].(map[string]any)
		if pagination["has_more"] != true {
			if pagination["next_cursor"] != nil {
				t.Errorf("last page has next_cursor %v", pagination["next_cursor"])
			}
			break
		}
		cursor, _ = pagination["next_cursor"].(string)
	}
	if len(sizes) != 3 || sizes[0] != 2 || sizes[1] != 2 || sizes[2] != 1 {
		t.Errorf("page sizes = %v, want [2 2 1]", sizes)
	}
	if len(seen) != 5 {
		t.Errorf("listed %d bookings, want 5", len(seen))
	}

	for _, tc := range []struct{ query, param string }{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"cursor=not-a-cursor", "cursor"},
		{"status=pending", "status"},
		{"staff_id=marcus", "staff_id"},
		{"starts_from=2026-05-13", "starts_from"},
		{"staff=" + marcus, "staff"},
	} {
		r := s.call("GET", "/v1/bookings?"+tc.query, nil)
		if r.Status != http.StatusBadRequest || r.errorField("param") != tc.param {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.query, r.Status, r.Raw, tc.param)
		}
	}
}

// TestHoldConfirmRescheduleComplete walks a skin fade, which needs a £10 deposit, from hold to
// completion as a phone agent would.
func TestHoldConfirmRescheduleComplete(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)
	body := bookingBody(skinFade, marcus, at(tuesday, "10:00"))
	body["status"] = "held"
	body["client"] = map[string]any{"name": "Alex Example", "phone": "07700 900123"}
	hold := s.call("POST", "/v1/bookings", body, "Idempotency-Key", "walk-hold")
	if hold.Status != http.StatusCreated || hold.data()["deposit_required_minor"] != float64(1000) {
		t.Fatalf("hold: %d %s", hold.Status, hold.Raw)
	}
	ref := hold.data()["reference"].(string)

	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"no deposit", nil, "deposit_required"},
		{"short deposit", map[string]any{"deposit": map[string]any{"amount_minor": 500, "currency": "GBP", "payment_reference": "pi_1"}}, "deposit_insufficient"},
		{"other currency", map[string]any{"deposit": map[string]any{"amount_minor": 1000, "currency": "EUR", "payment_reference": "pi_1"}}, "deposit_currency_mismatch"},
	} {
		r := s.call("POST", "/v1/bookings/"+ref+"/confirm", tc.body)
		if r.Status != http.StatusUnprocessableEntity || r.errorField("code") != tc.code {
			t.Errorf("%s: %d %s; want 422 %s", tc.name, r.Status, r.Raw, tc.code)
		}
	}
	if r := s.call("POST", "/v1/bookings/"+ref+"/confirm", map[string]any{"deposit": map[string]any{"amount_minor": 1000, "currency": "GBP"}}); r.Status != http.StatusBadRequest {
		t.Errorf("deposit without a payment reference: %d %s", r.Status, r.Raw)
	}

	confirm := s.call("POST", "/v1/bookings/"+ref+"/confirm",
		map[string]any{"deposit": map[string]any{"amount_minor": 1000, "currency": "GBP", "payment_reference": "pi_3Mtw"}},
		"Idempotency-Key", "walk-confirm")
	deposit, _ := confirm.data()["deposit"].(map[string]any)
	if confirm.Status != http.StatusOK || confirm.data()["status"] != "confirmed" || confirm.data()["hold_expires_at"] != nil ||
		deposit["amount_minor"] != float64(1000) || deposit["payment_reference"] != "pi_3Mtw" {
		t.Fatalf("confirm: %d %s", confirm.Status, confirm.Raw)
	}

	moved := s.call("POST", "/v1/bookings/"+ref+"/reschedule", map[string]any{"starts_at": at(tuesday, "15:00"), "staff_id": priya})
	if moved.Status != http.StatusOK || moved.data()["staff_id"] != priya || moved.data()["status"] != "confirmed" {
		t.Fatalf("reschedule to Priya at 15:00: %d %s", moved.Status, moved.Raw)
	}

	early := s.call("POST", "/v1/bookings/"+ref+"/complete", nil)
	if early.Status != http.StatusUnprocessableEntity || early.errorField("code") != "booking_not_started" {
		t.Errorf("complete before the start: %d %s", early.Status, early.Raw)
	}
	s.setClock(at(tuesday, "15:50"))
	done := s.call("POST", "/v1/bookings/"+ref+"/complete", nil)
	if done.Status != http.StatusOK || done.data()["status"] != "completed" {
		t.Fatalf("complete: %d %s", done.Status, done.Raw)
	}
	late := s.call("POST", "/v1/bookings/"+ref+"/cancel", nil)
	if late.Status != http.StatusConflict || late.errorField("code") != "invalid_status_transition" {
		t.Errorf("cancel a completed booking: %d %s", late.Status, late.Raw)
	}

	var events []string
	rows, err := s.pool.Query(t.Context(), `SELECT type FROM outbox_events e JOIN bookings b ON b.id = e.booking_id
		WHERE b.reference = $1 ORDER BY e.sequence`, ref)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var event string
		if err := rows.Scan(&event); err != nil {
			t.Fatal(err)
		}
		events = append(events, event)
	}
	want := []string{"booking.created", "booking.confirmed", "booking.rescheduled", "booking.completed"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events = %v, want %v", events, want)
	}
}

func TestClientsLifecycle(t *testing.T) {
	s := startStack(t)
	s.setClock(lifecycleClock)

	created := s.call("POST", "/v1/clients", map[string]any{"name": "Alex Example", "phone": "07700 900123", "email": "Alex@Example.com"})
	if created.Status != http.StatusCreated || created.data()["phone"] != "+447700900123" {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id := created.data()["id"].(string)

	dup := s.call("POST", "/v1/clients", map[string]any{"phone": "+44 7700 900123"})
	if dup.Status != http.StatusConflict || dup.errorField("code") != "client_exists" || dup.errorField("param") != "phone" {
		t.Errorf("duplicate phone: %d %s", dup.Status, dup.Raw)
	}
	if bytes.Contains(dup.Raw, []byte("7700")) {
		t.Errorf("the error repeats the phone number: %s", dup.Raw)
	}

	for _, query := range []string{"phone=" + url.QueryEscape("07700 900123"), "phone=" + url.QueryEscape("+447700900123"), "email=ALEX%40example.com"} {
		r := s.call("GET", "/v1/clients?"+query, nil)
		if r.Status != http.StatusOK || len(r.list()) != 1 || r.list()[0]["id"] != id {
			t.Errorf("find by %s: %d %s", query, r.Status, r.Raw)
		}
	}
	if r := s.call("GET", "/v1/clients?phone=12", nil); r.Status != http.StatusBadRequest || r.errorField("param") != "phone" {
		t.Errorf("find by an invalid phone: %d %s", r.Status, r.Raw)
	}

	patched := s.call("PATCH", "/v1/clients/"+id, map[string]any{"name": "Alex Q. Example", "email": nil})
	if patched.Status != http.StatusOK || patched.data()["name"] != "Alex Q. Example" || patched.data()["email"] != nil ||
		patched.data()["phone"] != "+447700900123" {
		t.Errorf("patch: %d %s", patched.Status, patched.Raw)
	}
	if r := s.call("PATCH", "/v1/clients/"+id, map[string]any{"phone": nil}); r.Status != http.StatusUnprocessableEntity ||
		r.errorField("code") != "client_contact_required" {
		t.Errorf("clear the last contact detail: %d %s", r.Status, r.Raw)
	}

	booking := map[string]any{"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": at(tuesday, "10:00"),
		"staff_id": marcus, "client_id": id, "notes": "prefers scissors"}
	if r := s.call("POST", "/v1/bookings", booking); r.Status != http.StatusCreated || r.data()["client_id"] != id {
		t.Fatalf("book for the client: %d %s", r.Status, r.Raw)
	}
	if r := s.call("GET", "/v1/clients/"+id+"/bookings", nil); r.Status != http.StatusOK || len(r.list()) != 1 {
		t.Errorf("client's bookings: %d %s", r.Status, r.Raw)
	}

	erased := s.call("DELETE", "/v1/clients/"+id, nil)
	if erased.Status != http.StatusOK || erased.data()["erased_at"] == nil || erased.data()["name"] != nil || erased.data()["phone"] != nil {
		t.Fatalf("erase: %d %s", erased.Status, erased.Raw)
	}
	if r := s.call("GET", "/v1/clients/"+id, nil); r.Status != http.StatusOK || r.data()["erased_at"] == nil {
		t.Errorf("read the erased client: %d %s", r.Status, r.Raw)
	}
	if r := s.call("GET", "/v1/clients?phone=%2B447700900123", nil); len(r.list()) != 0 {
		t.Errorf("the erased client is still found by phone: %s", r.Raw)
	}
	kept := s.call("GET", "/v1/clients/"+id+"/bookings", nil)
	if kept.Status != http.StatusOK || len(kept.list()) != 1 || kept.list()[0]["notes"] != "" {
		t.Errorf("bookings after erasure: %d %s; want the booking kept without its notes", kept.Status, kept.Raw)
	}
	if r := s.call("PATCH", "/v1/clients/"+id, map[string]any{"name": "Back"}); r.Status != http.StatusConflict || r.errorField("code") != "client_erased" {
		t.Errorf("patch the erased client: %d %s", r.Status, r.Raw)
	}
	if r := s.call("GET", "/v1/clients/not-a-uuid", nil); r.Status != http.StatusNotFound || r.errorField("code") != "client_not_found" {
		t.Errorf("malformed id: %d %s", r.Status, r.Raw)
	}
}

func TestClientScopes(t *testing.T) {
	s := startStack(t)
	var orgID string
	if err := s.pool.QueryRow(t.Context(), `SELECT id::text FROM organisations`).Scan(&orgID); err != nil {
		t.Fatal(err)
	}
	out := bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + s.dbURL}, "keys", "create", "-org", orgID,
		"-scopes", "bookings:read,bookings:write")
	key := lastLine(out)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/clients"},
		{"POST", "/v1/clients"},
		{"GET", "/v1/clients/00000000-0000-4000-8000-000000000000/bookings"},
	} {
		r := s.call(tc.method, tc.path, map[string]any{"phone": "07700 900123"}, "Authorization", "Bearer "+key)
		if r.Status != http.StatusForbidden || r.errorField("code") != "insufficient_scope" {
			t.Errorf("%s %s without client scopes: %d %s", tc.method, tc.path, r.Status, r.Raw)
		}
	}
	if r := s.call("GET", "/v1/bookings", nil, "Authorization", "Bearer "+key); r.Status != http.StatusOK {
		t.Errorf("list bookings with bookings:read: %d %s", r.Status, r.Raw)
	}
}

func lastLine(out string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(out)), []byte("\n"))
	return string(bytes.TrimSpace(lines[len(lines)-1]))
}

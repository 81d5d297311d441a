package webhooks_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/booking-svc/webhooks/signature"
	"github.com/setora/rest/shared/auth"
)

// A booking that is created, rescheduled and cancelled produces three events with sequences
// 1, 2 and 3, each delivered once, signed, and in order. With one worker and no failures the
// arrival order is the sequence order; the second endpoint subscribes to one type only.
func TestLifecycleEventsDeliveredOnceInOrder(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	all := newReceiver(t, alwaysOK)
	cancelled := newReceiver(t, alwaysOK)
	allEndpoint := s.endpoint(all.server.URL + "/hooks")
	cancelledEndpoint := s.endpoint(cancelled.server.URL+"/hooks", "booking.cancelled")
	cfg := testConfig()
	cfg.Workers = 1
	s.startDelivery(cfg)

	b := s.book("10:00")
	if _, err := s.bookings.Reschedule(s.ctx, s.org, s.now, b.ID.String(), bookings.RescheduleInput{StartsAt: s.at("11:00")}); err != nil {
		t.Fatalf("reschedule: %v", err)
	}
	if _, err := s.bookings.Cancel(s.ctx, s.org, s.now, b.Reference, bookings.CancelInput{Reason: "ill", CancelledBy: "client"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}

	waitUntil(t, "three events reach the first endpoint", func() bool { return len(all.acknowledged()) >= 3 })
	waitUntil(t, "one event reaches the second endpoint", func() bool { return len(cancelled.acknowledged()) >= 1 })
	// Let anything extra that was queued arrive before counting.
	waitUntil(t, "the queue is empty", func() bool {
		return s.queryInt(`SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
	})

	got := all.all()
	if len(got) != 3 {
		t.Fatalf("first endpoint got %d requests, want 3", len(got))
	}
	wantTypes := []string{"booking.created", "booking.rescheduled", "booking.cancelled"}
	wantStatus := []string{"confirmed", "confirmed", "cancelled"}
	wantStart := []string{"2030-01-08T10:00:00+00:00", "2030-01-08T11:00:00+00:00", "2030-01-08T11:00:00+00:00"}
	ids := s.eventsOf(b.ID)
	seen := map[uuid.UUID]bool{}
	for i, d := range got {
		e := d.event
		if e.Type != wantTypes[i] || e.Sequence != i+1 {
			t.Errorf("request %d: %s sequence %d, want %s sequence %d", i+1, e.Type, e.Sequence, wantTypes[i], i+1)
		}
		if e.ID != ids[i] {
			t.Errorf("request %d: event id %s, want outbox row %s", i+1, e.ID, ids[i])
		}
		if seen[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
		if e.Data.Booking.ID != b.ID || e.Data.Booking.Status != wantStatus[i] || e.Data.Booking.StartsAt != wantStart[i] {
			t.Errorf("request %d: booking %s %s at %s, want %s %s at %s", i+1, e.Data.Booking.ID, e.Data.Booking.Status,
				e.Data.Booking.StartsAt, b.ID, wantStatus[i], wantStart[i])
		}
		if e.APIVersion != webhooks.APIVersion || e.Organisation.ID != s.org || e.Organisation.Mode != auth.ModeTest {
			t.Errorf("request %d: api_version %q organisation %s/%s", i+1, e.APIVersion, e.Organisation.ID, e.Organisation.Mode)
		}
		if d.header.Get(webhooks.HeaderEventID) != e.ID.String() || d.header.Get(webhooks.HeaderEventType) != e.Type {
			t.Errorf("request %d: event headers %q %q do not match the body", i+1,
				d.header.Get(webhooks.HeaderEventID), d.header.Get(webhooks.HeaderEventType))
		}
		if attemptHeader(t, d) != 1 {
			t.Errorf("request %d: attempt %d, want 1", i+1, attemptHeader(t, d))
		}
		checkSignature(t, d, allEndpoint.Secret)
		if i > 0 && got[i-1].event.CreatedAt > e.CreatedAt {
			t.Errorf("request %d: created_at %s is before the previous event's %s", i+1, e.CreatedAt, got[i-1].event.CreatedAt)
		}
	}

	only := cancelled.all()
	if len(only) != 1 || only[0].event.Type != "booking.cancelled" {
		t.Fatalf("cancelled-only endpoint got %d requests (first %q), want one booking.cancelled", len(only), only[0].event.Type)
	}
	checkSignature(t, only[0], cancelledEndpoint.Secret)
	if err := signature.Verify(only[0].body, only[0].header.Get(signature.Header), allEndpoint.Secret,
		signature.DefaultTolerance, time.Now()); err == nil {
		t.Error("one endpoint's request verifies with another endpoint's secret")
	}

	log := s.deliveryLog(allEndpoint.ID)
	if len(log) != 3 {
		t.Fatalf("delivery log has %d rows, want 3", len(log))
	}
	for _, row := range log {
		if row.Outcome != "succeeded" || row.StatusCode == nil || *row.StatusCode != http.StatusOK || row.Attempt != 1 || row.Redelivery {
			t.Errorf("log row %+v, want a first attempt that succeeded with 200", *row)
		}
	}
}

// A receiver that fails twice gets the event on the third attempt, with the same body and a
// valid signature each time, and the delivery log shows all three attempts.
func TestFailingTwiceThenSucceeding(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	r := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	endpoint := s.endpoint(r.server.URL)
	registry := s.startDelivery(testConfig())

	b := s.book("10:00")
	waitUntil(t, "the event is acknowledged", func() bool { return len(r.acknowledged()) == 1 })

	got := r.all()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i, d := range got {
		if d.event.ID != got[0].event.ID || !bytes.Equal(d.body, got[0].body) {
			t.Errorf("attempt %d sent another body than the first", i+1)
		}
		if attemptHeader(t, d) != i+1 {
			t.Errorf("request %d carries attempt %d", i+1, attemptHeader(t, d))
		}
		checkSignature(t, d, endpoint.Secret)
	}
	if got[0].event.Data.Booking.ID != b.ID {
		t.Errorf("event is about booking %s, want %s", got[0].event.Data.Booking.ID, b.ID)
	}

	waitUntil(t, "the third attempt is logged", func() bool { return len(s.deliveryLog(endpoint.ID)) == 3 })
	log := s.deliveryLog(endpoint.ID)
	wantStatus := []int{500, 500, 204}
	for i, row := range log {
		wantOutcome := "failed"
		if i == 2 {
			wantOutcome = "succeeded"
		}
		if row.Attempt != i+1 || row.Outcome != wantOutcome || row.StatusCode == nil || *row.StatusCode != wantStatus[i] {
			t.Errorf("log row %d: attempt %d %s status %v, want attempt %d %s %d", i, row.Attempt, row.Outcome,
				row.StatusCode, i+1, wantOutcome, wantStatus[i])
		}
	}
	if !strings.Contains(log[0].Error, "status 500") {
		t.Errorf("log error %q does not name the status", log[0].Error)
	}

	waitUntil(t, "the attempt metrics are counted", func() bool {
		return counterValue(t, registry, "setora_webhook_delivery_attempts_total", "outcome", "http_error") == 2 &&
			counterValue(t, registry, "setora_webhook_delivery_attempts_total", "outcome", "succeeded") == 1
	})
	if got := counterValue(t, registry, "setora_webhook_deliveries_total", "result", "delivered"); got != 1 {
		t.Errorf("delivered deliveries = %v, want 1", got)
	}
	endpointNow, err := s.hooks.GetEndpoint(s.ctx, s.org, endpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	if endpointNow.Status != webhooks.StatusEnabled {
		t.Errorf("endpoint status %q after a late success, want enabled", endpointNow.Status)
	}
}

// A receiver that does not respond within the attempt timeout is retried.
func TestTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			return -1 // hang until the sender gives up
		}
		return http.StatusOK
	})
	endpoint := s.endpoint(r.server.URL)
	cfg := testConfig()
	cfg.AttemptTimeout = 300 * time.Millisecond
	s.startDelivery(cfg)

	s.book("10:00")
	waitUntil(t, "the retry is acknowledged", func() bool { return len(r.acknowledged()) == 1 })
	waitUntil(t, "both attempts are logged", func() bool { return len(s.deliveryLog(endpoint.ID)) == 2 })

	got := r.all()
	if len(got) != 2 || got[0].status != 0 || got[1].status != http.StatusOK {
		t.Fatalf("receiver saw %d requests, want a hung one then a 200", len(got))
	}
	if got[0].event.ID != got[1].event.ID {
		t.Errorf("the retry carried event %s, want %s", got[1].event.ID, got[0].event.ID)
	}
	log := s.deliveryLog(endpoint.ID)
	first, second := log[0], log[1]
	if first.Outcome != "failed" || first.StatusCode != nil || !strings.Contains(first.Error, "timed out after 300ms") {
		t.Errorf("first attempt logged as %s status %v error %q, want a timeout without status", first.Outcome, first.StatusCode, first.Error)
	}
	// The deadline starts a moment before the latency clock and the log keeps whole
	// milliseconds, so an attempt cut off by the 300ms timeout can read 299ms.
	if first.Latency < 250*time.Millisecond {
		t.Errorf("first attempt latency %s, want about the 300ms timeout", first.Latency)
	}
	if second.Outcome != "succeeded" || second.Attempt != 2 {
		t.Errorf("second attempt logged as %s attempt %d, want succeeded attempt 2", second.Outcome, second.Attempt)
	}
}

// After the retry horizon the endpoint is marked failing (not deleted), new events are held
// back from it, and once it recovers a redelivery of the missed range brings everything and
// enables it again.
func TestFailingEndpointRecoversThroughRedelivery(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	r := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	endpoint := s.endpoint(r.server.URL)
	cfg := testConfig()
	cfg.RetryHorizon = 500 * time.Millisecond
	registry := s.startDelivery(cfg)
	start := time.Now().Add(-time.Second)

	first := s.book("10:00")
	waitUntil(t, "the endpoint is marked failing", func() bool {
		e, err := s.hooks.GetEndpoint(s.ctx, s.org, endpoint.ID)
		return err == nil && e.Status == webhooks.StatusFailing
	})
	failing, err := s.hooks.GetEndpoint(s.ctx, s.org, endpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	if failing.FailingSince == nil {
		t.Error("failing endpoint has no failing_since")
	}
	attempts := len(r.all())
	if attempts < 2 {
		t.Errorf("receiver got %d attempts before the horizon, want retries", attempts)
	}
	waitUntil(t, "the delivery job is cancelled", func() bool {
		return s.queryInt(`SELECT count(*) FROM river_job WHERE state = 'cancelled'`) == 1
	})
	if got := counterValue(t, registry, "setora_webhook_deliveries_total", "result", "abandoned"); got != 1 {
		t.Errorf("abandoned deliveries = %v, want 1", got)
	}

	// A new event while failing is dispatched but not sent to the failing endpoint.
	second := s.book("12:00")
	waitUntil(t, "the second event is dispatched", func() bool {
		return s.queryInt(`SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL`) == 0
	})
	if got := len(r.all()); got != attempts {
		t.Errorf("failing endpoint got %d more requests, want none", got-attempts)
	}
	events, _, err := s.hooks.ListEvents(s.ctx, s.org, webhooks.EventFilter{}, webhooks.Page{Limit: 10})
	if err != nil || len(events) != 2 {
		t.Fatalf("ListEvents = %d events, %v; want both events kept for replay", len(events), err)
	}

	// The receiver recovers; the integrator redelivers what it missed.
	r.setAnswer(alwaysOK)
	queued, err := s.hooks.Redeliver(s.ctx, s.org, endpoint.ID, webhooks.RedeliverInput{From: start, To: time.Now(), OnlyUndelivered: true})
	if err != nil {
		t.Fatalf("redeliver range: %v", err)
	}
	if queued != 2 {
		t.Fatalf("redeliver queued %d events, want 2", queued)
	}
	waitUntil(t, "both events are acknowledged", func() bool { return len(r.acknowledged()) == 2 })
	acked := map[uuid.UUID]bool{}
	for _, d := range r.acknowledged() {
		acked[d.event.Data.Booking.ID] = true
		checkSignature(t, d, endpoint.Secret)
	}
	if !acked[first.ID] || !acked[second.ID] {
		t.Errorf("acknowledged bookings %v, want %s and %s", acked, first.ID, second.ID)
	}
	waitUntil(t, "the endpoint is enabled again", func() bool {
		e, err := s.hooks.GetEndpoint(s.ctx, s.org, endpoint.ID)
		return err == nil && e.Status == webhooks.StatusEnabled && e.FailingSince == nil
	})
	// The receiver counts a delivery before the worker records it, so wait for the records.
	succeededRedeliveries := func() int {
		n := 0
		for _, row := range s.deliveryLog(endpoint.ID) {
			if row.Redelivery && row.Outcome == "succeeded" {
				n++
			}
		}
		return n
	}
	waitUntil(t, "both redeliveries are recorded", func() bool { return succeededRedeliveries() == 2 })

	// Only undelivered events are resent a second time; one event can be resent explicitly.
	queued, err = s.hooks.Redeliver(s.ctx, s.org, endpoint.ID, webhooks.RedeliverInput{From: start, To: time.Now(), OnlyUndelivered: true})
	if err != nil || queued != 0 {
		t.Errorf("second undelivered-only redelivery queued %d, %v; want 0", queued, err)
	}
	firstEvent := s.eventsOf(first.ID)[0]
	if queued, err = s.hooks.Redeliver(s.ctx, s.org, endpoint.ID, webhooks.RedeliverInput{EventID: &firstEvent}); err != nil || queued != 1 {
		t.Fatalf("redeliver one event = %d, %v; want 1", queued, err)
	}
	waitUntil(t, "the explicit redelivery is acknowledged", func() bool { return len(r.acknowledged()) == 3 })
	last := r.acknowledged()[2]
	if last.event.ID != firstEvent {
		t.Errorf("explicit redelivery sent event %s, want %s", last.event.ID, firstEvent)
	}
	waitUntil(t, "the redeliveries are logged", func() bool { return succeededRedeliveries() == 3 })

	// New events flow again.
	s.book("14:00")
	waitUntil(t, "a new event reaches the recovered endpoint", func() bool { return len(r.acknowledged()) == 4 })
}

// A live-mode endpoint whose address turns out to be loopback at delivery time, as after a DNS
// change, is never connected to: the dialer blocks it and the log records why.
func TestLiveDeliveryRefusesLoopbackAddress(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeLive)
	r := newReceiver(t, alwaysOK)
	// The URL could not be registered in live mode; write it directly, as a rebinding would
	// make a checked name resolve.
	var endpointID uuid.UUID
	err := s.pool.QueryRow(s.ctx, `INSERT INTO webhook_endpoints (organisation_id, url, event_types, secret)
		VALUES ($1, $2, '{*}', 'whsec_test') RETURNING id`, s.org, r.server.URL).Scan(&endpointID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.RetryHorizon = 300 * time.Millisecond
	registry := s.startDelivery(cfg)

	s.book("10:00")
	waitUntil(t, "the endpoint is marked failing", func() bool {
		e, err := s.hooks.GetEndpoint(s.ctx, s.org, endpointID)
		return err == nil && e.Status == webhooks.StatusFailing
	})
	if n := len(r.all()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests in live mode, want none", n)
	}
	log := s.deliveryLog(endpointID)
	if len(log) == 0 || !strings.Contains(log[0].Error, "blocked connection to 127.0.0.1") {
		t.Fatalf("delivery log %v does not record the refused address", log)
	}
	if got := counterValue(t, registry, "setora_webhook_delivery_attempts_total", "outcome", "blocked_address"); got < 1 {
		t.Errorf("blocked_address attempts = %v, want at least 1", got)
	}
}

// During a rotation's overlap every delivery carries a signature for each secret; with no
// overlap only the new secret signs.
func TestRotatedSecretSignsDuringOverlap(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	r := newReceiver(t, alwaysOK)
	endpoint := s.endpoint(r.server.URL)
	s.startDelivery(testConfig())

	rotated, err := s.hooks.RotateSecret(s.ctx, s.org, endpoint.ID, time.Hour)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if rotated.Secret == endpoint.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotated secret %q, want a new whsec_ secret", rotated.Secret)
	}
	if rotated.PreviousSecretExpiresAt == nil {
		t.Fatal("rotation with overlap reports no previous_secret_expires_at")
	}
	s.book("10:00")
	waitUntil(t, "the first event arrives", func() bool { return len(r.acknowledged()) == 1 })
	d := r.acknowledged()[0]
	if n := strings.Count(d.header.Get(signature.Header), "v1="); n != 2 {
		t.Errorf("signature header has %d v1 values during the overlap, want 2", n)
	}
	checkSignature(t, d, rotated.Secret)
	checkSignature(t, d, endpoint.Secret)

	again, err := s.hooks.RotateSecret(s.ctx, s.org, endpoint.ID, 0)
	if err != nil {
		t.Fatalf("rotate without overlap: %v", err)
	}
	s.book("12:00")
	waitUntil(t, "the second event arrives", func() bool { return len(r.acknowledged()) == 2 })
	d = r.acknowledged()[1]
	if n := strings.Count(d.header.Get(signature.Header), "v1="); n != 1 {
		t.Errorf("signature header has %d v1 values without overlap, want 1", n)
	}
	checkSignature(t, d, again.Secret)
	if err := signature.Verify(d.body, d.header.Get(signature.Header), rotated.Secret, signature.DefaultTolerance, time.Now()); err == nil {
		t.Error("the replaced secret still verifies after a rotation without overlap")
	}
}

// A disabled or deleted endpoint gets no new events, and a delivery queued for it before the
// change is dropped when it runs instead of being sent.
func TestDisabledAndDeletedEndpointsGetNothing(t *testing.T) {
	t.Parallel()
	s := newShop(t, auth.ModeTest)
	r := newReceiver(t, alwaysOK)
	control := s.endpoint(r.server.URL + "/control")
	disabled := s.endpoint(r.server.URL + "/disabled")
	deleted := s.endpoint(r.server.URL + "/deleted")

	// Queue a redelivery to each of the two while no worker runs, then change them.
	first := s.book("10:00")
	event := s.eventsOf(first.ID)[0]
	for _, id := range []uuid.UUID{disabled.ID, deleted.ID} {
		if n, err := s.hooks.Redeliver(s.ctx, s.org, id, webhooks.RedeliverInput{EventID: &event}); err != nil || n != 1 {
			t.Fatalf("queue redelivery: %d, %v", n, err)
		}
	}
	status := webhooks.StatusDisabled
	if _, err := s.hooks.UpdateEndpoint(s.ctx, s.org, s.mode, disabled.ID, webhooks.EndpointUpdate{Status: &status}); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if err := s.hooks.DeleteEndpoint(s.ctx, s.org, deleted.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	registry := s.startDelivery(testConfig())

	s.book("12:00")
	waitUntil(t, "both events reach the control endpoint", func() bool { return len(r.acknowledged()) == 2 })
	waitUntil(t, "the queue is empty", func() bool {
		return s.queryInt(`SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
	})
	for _, d := range r.all() {
		if d.header.Get(webhooks.HeaderEventID) == "" {
			t.Error("request without an event id")
		}
	}
	if n := len(r.all()); n != 2 {
		t.Errorf("receiver got %d requests, want 2, all to the control endpoint %s", n, control.ID)
	}
	if got := counterValue(t, registry, "setora_webhook_deliveries_total", "result", "dropped"); got != 2 {
		t.Errorf("dropped deliveries = %v, want 2", got)
	}
	if _, err := s.hooks.GetEndpoint(s.ctx, s.org, deleted.ID); !errors.Is(err, webhooks.ErrEndpointNotFound) {
		t.Errorf("GetEndpoint(deleted) = %v, want ErrEndpointNotFound", err)
	}
	_, err := s.hooks.Redeliver(s.ctx, s.org, disabled.ID, webhooks.RedeliverInput{From: time.Now().Add(-time.Hour), To: time.Now()})
	if !errors.Is(err, webhooks.ErrEndpointDisabled) {
		t.Errorf("Redeliver(disabled) = %v, want ErrEndpointDisabled", err)
	}
}

// counterValue reads one labelled counter from a registry; a missing series reads as 0.
func counterValue(t *testing.T, registry *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabel(m, label, value) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

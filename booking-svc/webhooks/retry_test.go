package webhooks

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
)

func TestRetryDelayDoublesWithinJitter(t *testing.T) {
	cfg := DefaultConfig()
	nominal := cfg.RetryBaseDelay
	for attempt := 1; attempt <= 20; attempt++ {
		got := cfg.retryDelay(42, attempt)
		low := time.Duration(float64(nominal) * 0.75)
		high := time.Duration(float64(nominal) * 1.25)
		if got < low || got > high {
			t.Errorf("attempt %d: delay %s outside [%s, %s]", attempt, got, low, high)
		}
		nominal = min(nominal*2, cfg.RetryMaxDelay)
	}
}

func TestRetryDelayIsDeterministicPerJob(t *testing.T) {
	cfg := DefaultConfig()
	if a, b := cfg.retryDelay(7, 3), cfg.retryDelay(7, 3); a != b {
		t.Fatalf("retryDelay(7, 3) = %s then %s, want the same", a, b)
	}
	distinct := map[time.Duration]bool{}
	for id := int64(1); id <= 50; id++ {
		distinct[cfg.retryDelay(id, 3)] = true
	}
	if len(distinct) < 40 {
		t.Errorf("50 jobs got %d distinct third delays, want them spread by jitter", len(distinct))
	}
}

func TestDefaultScheduleRetriesForAtLeastADay(t *testing.T) {
	cfg := DefaultConfig()
	var total time.Duration
	for _, wait := range cfg.Schedule() {
		total += wait
	}
	if total < 24*time.Hour {
		t.Fatalf("default schedule retries for %s, want at least 24h", total)
	}
	if total > cfg.RetryHorizon {
		t.Fatalf("default schedule retries for %s, beyond the horizon %s", total, cfg.RetryHorizon)
	}
	if n := len(cfg.Schedule()) + 1; n >= maxAttempts {
		t.Fatalf("default schedule makes %d attempts, at or above River's cap %d", n, maxAttempts)
	}
}

func TestIsLastAttempt(t *testing.T) {
	cfg := DefaultConfig()
	created := time.Date(2026, 5, 12, 9, 0, 0, 0, time.UTC)
	job := &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: maxAttempts, CreatedAt: created}
	if cfg.isLastAttempt(job, created.Add(time.Second)) {
		t.Error("the first attempt is the last, want retries")
	}
	if !cfg.isLastAttempt(job, created.Add(cfg.RetryHorizon)) {
		t.Error("an attempt at the horizon is not the last")
	}
	job.Attempt = maxAttempts
	if !cfg.isLastAttempt(job, created.Add(time.Second)) {
		t.Error("an attempt at River's cap is not the last")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cfg := DefaultConfig()
	cfg.RescueAfter = cfg.AttemptTimeout
	if err := cfg.Validate(); err == nil {
		t.Error("a rescue delay no longer than the attempt timeout was accepted")
	}
	cfg = DefaultConfig()
	cfg.RetryMaxDelay = cfg.RetryBaseDelay / 2
	if err := cfg.Validate(); err == nil {
		t.Error("a maximum delay below the base delay was accepted")
	}
	cfg = DefaultConfig()
	cfg.RetryHorizon = 0
	if err := cfg.Validate(); err == nil {
		t.Error("a zero retry horizon was accepted")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2026, 5, 12, 9, 0, 0, 123456000, time.UTC), ID: uuid.New()}
	got, err := DecodeCursor("events", "booking.created", c.Encode("events", "booking.created"))
	if err != nil {
		t.Fatalf("DecodeCursor: %v", err)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Errorf("round trip = %+v, want %+v", *got, c)
	}
}

func TestCursorRejectsOtherListsAndGarbage(t *testing.T) {
	c := Cursor{CreatedAt: time.Now(), ID: uuid.New()}
	for name, raw := range map[string]string{
		"other filters": c.Encode("events", "booking.cancelled"),
		"other list":    c.Encode("webhook_endpoints", "booking.created"),
		"not base64":    "%%%",
		"not JSON":      "bm90IGpzb24",
		"empty object":  "e30",
	} {
		if _, err := DecodeCursor("events", "booking.created", raw); !errors.Is(err, ErrMalformedCursor) {
			t.Errorf("%s: DecodeCursor = %v, want ErrMalformedCursor", name, err)
		}
	}
}

func TestOrderForDeliveryPutsEachBookingInSequence(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	row := func(booking *uuid.UUID, sequence int) outboxRow {
		return outboxRow{id: uuid.New(), bookingID: booking, sequence: sequence}
	}
	// created_at order: a#2, b#1, a#1, none, b#2
	events := []outboxRow{row(&a, 2), row(&b, 1), row(&a, 1), row(nil, 1), row(&b, 2)}
	orderForDelivery(events)

	type key struct {
		booking  *uuid.UUID
		sequence int
	}
	want := []key{{&a, 1}, {&a, 2}, {&b, 1}, {&b, 2}, {nil, 1}}
	for i, w := range want {
		got := events[i]
		if got.bookingID != w.booking || got.sequence != w.sequence {
			t.Fatalf("position %d: booking %v sequence %d, want booking %v sequence %d", i, got.bookingID, got.sequence, w.booking, w.sequence)
		}
	}
}

package main

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/idempotency"
)

// Outcome labels of setora_bookings_total for requests served from the idempotency store.
const (
	outcomeIdempotentReplay = "idempotent_replay"
	outcomeKeyReused        = "key_reused"
	outcomeKeyInUse         = "key_in_use"
)

// serviceMetrics are booking-svc's own series. It is the booking store's Observer and
// observes the idempotency middleware. The outbox backlog and age are the webhook
// dispatcher's (setora_webhook_outbox_backlog, setora_webhook_outbox_oldest_age_seconds).
type serviceMetrics struct {
	bookings      *prometheus.CounterVec
	holdsExpired  prometheus.Counter
	notifications prometheus.Counter
	retries       *prometheus.CounterVec
	log           *slog.Logger
}

func newServiceMetrics(reg prometheus.Registerer, log *slog.Logger) *serviceMetrics {
	m := &serviceMetrics{
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_bookings_total",
			Help: "Booking writes by outcome: each committed change (created, held, confirmed, cancelled, rescheduled, " +
				"completed, no_show, expired), rejections (conflict, rule_broken), and POSTs answered from the " +
				"idempotency store (idempotent_replay, key_reused, key_in_use).",
		}, []string{"outcome"}),
		holdsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "setora_booking_holds_expired_total",
			Help: "Lapsed holds that the sweeper marked expired.",
		}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "setora_booking_notifications_sent_total",
			Help: "Change notifications committed for the availability replicas.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_booking_retries_total",
			Help: "Booking writes run again after a transient failure (a deadlock, a reference collision, or a " +
				"concurrent write that took the chosen staff member), by operation.",
		}, []string{"operation"}),
		log: log,
	}
	reg.MustRegister(m.bookings, m.holdsExpired, m.notifications, m.retries)
	// Every outcome starts at zero, so that rate() counts its first increment.
	for _, outcome := range bookings.Outcomes {
		m.bookings.WithLabelValues(string(outcome))
	}
	for _, outcome := range []string{outcomeIdempotentReplay, outcomeKeyReused, outcomeKeyInUse} {
		m.bookings.WithLabelValues(outcome)
	}
	return m
}

func (m *serviceMetrics) BookingOutcome(outcome bookings.Outcome) {
	m.bookings.WithLabelValues(string(outcome)).Inc()
}

func (m *serviceMetrics) NotificationsSent(n int) { m.notifications.Add(float64(n)) }

// Retrying logs and counts a write that runs again. cause is the store's error, which names no
// client.
func (m *serviceMetrics) Retrying(operation string, attempt int, cause error) {
	m.retries.WithLabelValues(operation).Inc()
	m.log.Info("retrying a booking write", "operation", operation, "attempt", attempt, "cause", cause.Error())
}

// observeIdempotency counts the requests that the idempotency middleware served itself.
// NOTE: the middleware reports no route, so these count every POST with an Idempotency-Key,
// not only booking writes.
func (m *serviceMetrics) observeIdempotency(outcome idempotency.Outcome) {
	switch outcome {
	case idempotency.OutcomeReplayed:
		m.bookings.WithLabelValues(outcomeIdempotentReplay).Inc()
	case idempotency.OutcomeReused:
		m.bookings.WithLabelValues(outcomeKeyReused).Inc()
	case idempotency.OutcomeInUse:
		m.bookings.WithLabelValues(outcomeKeyInUse).Inc()
	}
}

// observability holds the instrumentation that newApp adds to the public routes: the server span
// and RED metrics middleware, and the idempotency observer. Its zero value adds neither.
type observability struct {
	instrument  []fiber.Handler
	idempotency func(idempotency.Outcome)
}

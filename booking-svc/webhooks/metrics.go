package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one delivery attempt, the values of the outcome label.
const (
	outcomeSucceeded       = "succeeded"
	outcomeHTTPError       = "http_error"
	outcomeTimeout         = "timeout"
	outcomeConnectionError = "connection_error"
	outcomeBlockedAddress  = "blocked_address"
)

// Results of a whole delivery job, the values of the result label.
const (
	resultDelivered = "delivered"
	resultAbandoned = "abandoned"
	resultDropped   = "dropped"
)

type metrics struct {
	attempts            *prometheus.CounterVec
	deliveries          *prometheus.CounterVec
	attemptsPerDelivery prometheus.Histogram
	attemptDuration     prometheus.Histogram
	eventsDispatched    prometheus.Counter
	lastDispatch        prometheus.Gauge
	jobsQueued          prometheus.Counter
	outboxBacklog       prometheus.Gauge
	outboxOldestAge     prometheus.Gauge
	queueBacklog        *prometheus.GaugeVec
	queueOldestAge      prometheus.Gauge
	endpointsFailing    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_webhook_delivery_attempts_total",
			Help: "Webhook delivery attempts by outcome: succeeded, http_error, timeout, connection_error, blocked_address.",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_webhook_deliveries_total",
			Help: "Finished webhook deliveries by result: delivered, abandoned after the retry horizon, dropped because the endpoint was disabled or deleted.",
		}, []string{"result"}),
		attemptsPerDelivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "setora_webhook_delivery_attempts_per_delivery",
			Help:    "Attempts a finished webhook delivery took.",
			Buckets: []float64{1, 2, 3, 5, 8, 13, 21, 34},
		}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "setora_webhook_attempt_duration_seconds",
			Help:    "Time from sending a webhook request to reading its answer, or to the failure.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		eventsDispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "setora_webhook_events_dispatched_total",
			Help: "Outbox events the dispatcher handed to the delivery queue.",
		}),
		lastDispatch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_webhook_dispatch_last_success_timestamp_seconds",
			Help: "Unix time of the dispatcher's last pass that reached the database, whether or not it found events.",
		}),
		jobsQueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "setora_webhook_jobs_queued_total",
			Help: "Delivery jobs the dispatcher queued, one per event and subscribed endpoint.",
		}),
		outboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_webhook_outbox_backlog",
			Help: "Committed outbox events not yet dispatched.",
		}),
		outboxOldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_webhook_outbox_oldest_age_seconds",
			Help: "Age of the oldest outbox event not yet dispatched; 0 when there is none.",
		}),
		queueBacklog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "setora_webhook_queue_backlog",
			Help: "Delivery jobs not yet finished, by River state: available, running, retryable, scheduled.",
		}, []string{"state"}),
		queueOldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_webhook_queue_oldest_age_seconds",
			Help: "Age of the oldest unfinished delivery job; 0 when there is none.",
		}),
		endpointsFailing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_webhook_endpoints_failing",
			Help: "Webhook endpoints marked failing, across all organisations.",
		}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.deliveries, m.attemptsPerDelivery, m.attemptDuration,
		m.eventsDispatched, m.lastDispatch, m.jobsQueued, m.outboxBacklog, m.outboxOldestAge, m.queueBacklog, m.queueOldestAge,
		m.endpointsFailing} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register webhook metrics: %w", err)
		}
	}
	for _, outcome := range []string{outcomeSucceeded, outcomeHTTPError, outcomeTimeout, outcomeConnectionError, outcomeBlockedAddress} {
		m.attempts.WithLabelValues(outcome)
	}
	for _, result := range []string{resultDelivered, resultAbandoned, resultDropped} {
		m.deliveries.WithLabelValues(result)
	}
	return m, nil
}

// pendingStates are the River job states of a delivery that has not finished.
var pendingStates = []string{"available", "running", "retryable", "scheduled"}

// refreshBacklog reads the backlog gauges from the database.
func (m *metrics) refreshBacklog(ctx context.Context, pool *pgxpool.Pool) error {
	var outboxCount int64
	var outboxAge float64
	err := pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
		FROM outbox_events WHERE dispatched_at IS NULL`).Scan(&outboxCount, &outboxAge)
	if err != nil {
		return fmt.Errorf("read outbox backlog: %w", err)
	}
	m.outboxBacklog.Set(float64(outboxCount))
	m.outboxOldestAge.Set(outboxAge)

	counts := map[string]int64{}
	var queueAge float64
	rows, err := pool.Query(ctx, `SELECT state::text, count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
		FROM river_job WHERE queue = $1 AND state::text = ANY($2) GROUP BY state`, queueName, pendingStates)
	if err != nil {
		return fmt.Errorf("read delivery queue backlog: %w", err)
	}
	for rows.Next() {
		var state string
		var n int64
		var age float64
		if err := rows.Scan(&state, &n, &age); err != nil {
			rows.Close()
			return fmt.Errorf("read delivery queue backlog: %w", err)
		}
		counts[state] = n
		queueAge = max(queueAge, age)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read delivery queue backlog: %w", err)
	}
	for _, state := range pendingStates {
		m.queueBacklog.WithLabelValues(state).Set(float64(counts[state]))
	}
	m.queueOldestAge.Set(queueAge)

	var failing int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE status = 'failing'`).Scan(&failing); err != nil {
		return fmt.Errorf("count failing endpoints: %w", err)
	}
	m.endpointsFailing.Set(float64(failing))
	return nil
}

// observeAttempt records one attempt's outcome and duration.
func (m *metrics) observeAttempt(outcome string, took time.Duration) {
	m.attempts.WithLabelValues(outcome).Inc()
	m.attemptDuration.Observe(took.Seconds())
}

// observeFinished records a delivery job that will not run again.
func (m *metrics) observeFinished(result string, attempts int) {
	m.deliveries.WithLabelValues(result).Inc()
	if result != resultDropped {
		m.attemptsPerDelivery.Observe(float64(attempts))
	}
}

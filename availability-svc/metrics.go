package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serviceMetrics are availability-svc's own series; it also implements cache.Metrics.
type serviceMetrics struct {
	cacheHits       prometheus.Counter
	cacheMisses     prometheus.Counter
	fills           *prometheus.HistogramVec
	coalesced       prometheus.Counter
	stale           prometheus.Counter
	evictions       prometheus.Counter
	notModified     prometheus.Counter
	notifications   prometheus.Counter
	invalidationLag prometheus.Histogram
	listening       prometheus.Gauge
	reconnects      prometheus.Counter
	connectedBefore bool
}

func newServiceMetrics(reg prometheus.Registerer) *serviceMetrics {
	m := &serviceMetrics{
		cacheHits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_cache_hits_total", Help: "Day schedules served from the cache."}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_cache_misses_total", Help: "Day schedules not in the cache or no longer current."}),
		fills: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "setora_availability_cache_fill_duration_seconds", Help: "Time to read one day schedule from PostgreSQL, by outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"outcome"}),
		coalesced:     prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_cache_coalesced_fills_total", Help: "Misses that waited for a fill already in flight."}),
		stale:         prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_stale_answers_total", Help: "Day schedules served from the cache while their freshness could not be confirmed."}),
		evictions:     prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_cache_invalidations_total", Help: "Day schedules or whole locations evicted by change notifications."}),
		notModified:   prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_not_modified_total", Help: "Answers of 304 Not Modified."}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_notifications_total", Help: "Change notifications received."}),
		invalidationLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "setora_availability_invalidation_lag_seconds", Help: "Time from a change's commit to its eviction in this replica.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		listening:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "setora_availability_listen_connected", Help: "1 while the LISTEN connection to PostgreSQL is up."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "setora_availability_listen_reconnects_total", Help: "LISTEN connections established after the first."}),
	}
	reg.MustRegister(m.cacheHits, m.cacheMisses, m.fills, m.coalesced, m.stale, m.evictions, m.notModified,
		m.notifications, m.invalidationLag, m.listening, m.reconnects)
	return m
}

func (m *serviceMetrics) Hit()       { m.cacheHits.Inc() }
func (m *serviceMetrics) Miss()      { m.cacheMisses.Inc() }
func (m *serviceMetrics) Coalesced() { m.coalesced.Inc() }
func (m *serviceMetrics) Stale()     { m.stale.Inc() }
func (m *serviceMetrics) Evicted(n int) {
	m.evictions.Add(float64(n))
}

func (m *serviceMetrics) Fill(d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.fills.WithLabelValues(outcome).Observe(d.Seconds())
}

// setListening records the LISTEN state; every connection after the first is a reconnect.
func (m *serviceMetrics) setListening(up bool) {
	if up {
		if m.connectedBefore {
			m.reconnects.Inc()
		}
		m.connectedBefore = true
		m.listening.Set(1)
		return
	}
	m.listening.Set(0)
}

package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/setora/rest/availability-svc/cache"
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

// setListening records the LISTEN state and reports whether up is a reconnect: every
// connection after the first is one.
func (m *serviceMetrics) setListening(up bool) (reconnect bool) {
	if !up {
		m.listening.Set(0)
		return false
	}
	reconnect = m.connectedBefore
	if reconnect {
		m.reconnects.Inc()
	}
	m.connectedBefore = true
	m.listening.Set(1)
	return reconnect
}

// cacheCollector reads ristretto's counters for the day cache at every scrape.
type cacheCollector struct {
	days    *cache.Cache
	maxCost int64

	entries, cost, maxCostDesc, evictions, rejected *prometheus.Desc
}

// newCacheCollector returns a collector of the day cache's size and evictions. ristretto
// counts an entry as evicted whether its cost policy, its TTL or an invalidation removed it,
// and it resets its counters when the cache is purged (after a LISTEN reconnect), which
// Prometheus's rate() treats as a counter reset.
func newCacheCollector(days *cache.Cache, maxCost int64) prometheus.Collector {
	return &cacheCollector{
		days:    days,
		maxCost: maxCost,
		entries: prometheus.NewDesc("setora_availability_cache_entries", "Day schedules held in the cache.", nil, nil),
		cost: prometheus.NewDesc("setora_availability_cache_cost_bytes",
			"Estimated memory of the day schedules held in the cache.", nil, nil),
		maxCostDesc: prometheus.NewDesc("setora_availability_cache_max_cost_bytes",
			"The cache's memory budget (CACHE_MAX_COST).", nil, nil),
		evictions: prometheus.NewDesc("setora_availability_cache_evictions_total",
			"Day schedules removed from the cache by its cost policy, its TTL or an invalidation; resets on a purge.", nil, nil),
		rejected: prometheus.NewDesc("setora_availability_cache_sets_rejected_total",
			"Fills that the cache did not keep, by reason: policy (the admission policy refused the entry) "+
				"or dropped (its write buffer was full); resets on a purge.", []string{"reason"}, nil),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.cost, c.maxCostDesc, c.evictions, c.rejected} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.days.Stats()
	// ristretto counts every admission and every removal, and adds each cost change (a
	// negative one in wrapping unsigned arithmetic), so the differences are what it holds.
	entries := s.KeysAdded() - s.KeysEvicted()
	cost := s.CostAdded() - s.CostEvicted()
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(entries))
	ch <- prometheus.MustNewConstMetric(c.cost, prometheus.GaugeValue, float64(cost))
	ch <- prometheus.MustNewConstMetric(c.maxCostDesc, prometheus.GaugeValue, float64(c.maxCost))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(s.KeysEvicted()))
	ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(s.SetsRejected()), "policy")
	ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(s.SetsDropped()), "dropped")
}

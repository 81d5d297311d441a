package telemetry

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reads a pgxpool.Pool's statistics at every scrape.
type poolCollector struct {
	pool *pgxpool.Pool

	conns, maxConns                            *prometheus.Desc
	acquires, acquireSeconds                   *prometheus.Desc
	emptyAcquires, emptyAcquireSeconds         *prometheus.Desc
	canceledAcquires, newConns, destroyedConns *prometheus.Desc
}

// NewPoolCollector returns a collector of pool's statistics as setora_db_pool_* series, labelled
// pool=name. Pool saturation is setora_db_pool_connections{state="acquired"} over
// setora_db_pool_max_connections; a rising setora_db_pool_empty_acquires_total means requests
// waited for a free connection.
func NewPoolCollector(pool *pgxpool.Pool, name string) prometheus.Collector {
	desc := func(metric, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("setora_db_pool_"+metric, help, labels, prometheus.Labels{"pool": name})
	}
	return &poolCollector{
		pool:     pool,
		conns:    desc("connections", "Connections in the pool by state: acquired (in use), idle, or constructing.", "state"),
		maxConns: desc("max_connections", "The most connections the pool opens."),
		acquires: desc("acquires_total", "Connections handed out by the pool."),
		acquireSeconds: desc("acquire_seconds_total",
			"Time spent acquiring connections, including the ones handed out at once."),
		emptyAcquires: desc("empty_acquires_total",
			"Acquires that found no idle connection and waited for one to be freed or opened."),
		emptyAcquireSeconds: desc("empty_acquire_wait_seconds_total",
			"Time spent in acquires that found no idle connection."),
		canceledAcquires: desc("canceled_acquires_total", "Acquires abandoned because their context ended."),
		newConns:         desc("new_connections_total", "Connections opened."),
		destroyedConns: desc("destroyed_connections_total",
			"Connections closed by the pool, by reason: max_lifetime or max_idle_time.", "reason"),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.maxConns, c.acquires, c.acquireSeconds, c.emptyAcquires,
		c.emptyAcquireSeconds, c.canceledAcquires, c.newConns, c.destroyedConns} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.conns, float64(s.AcquiredConns()), "acquired")
	gauge(c.conns, float64(s.IdleConns()), "idle")
	gauge(c.conns, float64(s.ConstructingConns()), "constructing")
	gauge(c.maxConns, float64(s.MaxConns()))
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(c.emptyAcquireSeconds, s.EmptyAcquireWaitTime().Seconds())
	counter(c.canceledAcquires, float64(s.CanceledAcquireCount()))
	counter(c.newConns, float64(s.NewConnsCount()))
	counter(c.destroyedConns, float64(s.MaxLifetimeDestroyCount()), "max_lifetime")
	counter(c.destroyedConns, float64(s.MaxIdleDestroyCount()), "max_idle_time")
}

// Package ratelimit limits requests per API key with the generic cell rate algorithm (GCRA).
//
// A key with a limit of N requests per minute may send N requests at once, and after that one
// request every 60/N seconds; an idle key earns its allowance back at the same pace. With a Redis
// URL the state lives in Redis (go-redis/redis_rate), so every replica of every service counts
// against the same allowance. Without one, or while Redis is unreachable, each process keeps the
// state in memory (throttled's GCRA with its in-memory store), which is exact for a single
// replica and lets each replica grant the full limit on its own otherwise.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
)

// Decision is the outcome of one request against a key's limit.
type Decision struct {
	Allowed bool
	// Limit is the key's limit in requests per minute, which is also the largest burst.
	Limit int
	// Remaining is how many more requests the key may send at once.
	Remaining int
	// ResetAfter is how long until the key's whole allowance is back, if it sends nothing.
	ResetAfter time.Duration
	// RetryAfter is how long a rejected request should wait; zero when allowed.
	RetryAfter time.Duration
}

// Config sets up a Limiter.
type Config struct {
	// RedisURL, such as redis://127.0.0.1:6379/0, shares the limits between replicas. Empty
	// keeps them in this process.
	RedisURL string
	// Timeout bounds each Redis round trip; past it the request is counted in memory instead.
	// Zero means 100ms.
	Timeout time.Duration
	// RetryEvery is the interval at which one request tries Redis again while it is
	// unreachable. Zero means one second.
	RetryEvery time.Duration
	// LocalKeys bounds the keys kept in memory, least recently used first out. Zero means 65536.
	LocalKeys int
}

// Limiter decides whether a key may make one more request.
type Limiter struct {
	shared  *redis_rate.Limiter // nil without a Redis URL
	client  *redis.Client
	local   *localLimiter
	log     *slog.Logger
	metrics *metrics

	timeout    time.Duration
	retryEvery time.Duration
	// redisDown is set while Redis is unreachable; retryAt (Unix nanoseconds) is when the next
	// request may try it again.
	redisDown atomic.Bool
	retryAt   atomic.Int64
}

// New returns a Limiter. It does not fail when Redis is unreachable: it starts counting in
// memory and tries Redis again every RetryEvery. registerer may be nil.
func New(ctx context.Context, cfg Config, log *slog.Logger, registerer prometheus.Registerer) (*Limiter, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = time.Second
	}
	if cfg.LocalKeys <= 0 {
		cfg.LocalKeys = 65536
	}
	local, err := newLocalLimiter(cfg.LocalKeys)
	if err != nil {
		return nil, err
	}
	l := &Limiter{local: local, log: log, timeout: cfg.Timeout, retryEvery: cfg.RetryEvery,
		metrics: newMetrics(registerer, cfg.RedisURL != "")}
	if cfg.RedisURL == "" {
		return l, nil
	}

	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL is not a Redis URL such as redis://127.0.0.1:6379/0: %w", err)
	}
	// A limit check must never hold a request up for long: one short attempt, no retries.
	opts.DialTimeout = cfg.Timeout
	opts.ReadTimeout = cfg.Timeout
	opts.WriteTimeout = cfg.Timeout
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	l.client = redis.NewClient(opts)
	l.shared = redis_rate.NewLimiter(l.client)

	pingCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := l.client.Ping(pingCtx).Err(); err != nil {
		l.markDown(err)
	} else {
		l.metrics.redisUp.Set(1)
	}
	return l, nil
}

// Close releases the Redis connections.
func (l *Limiter) Close() error {
	if l.client == nil {
		return nil
	}
	return l.client.Close()
}

// Allow counts one request of key against perMinute requests per minute. It never fails: when
// Redis does not respond, the request is counted in this process.
func (l *Limiter) Allow(ctx context.Context, key string, perMinute int) Decision {
	if perMinute < 1 {
		perMinute = 1
	}
	if l.shared != nil && l.shouldTryRedis() {
		d, err := l.allowShared(ctx, key, perMinute)
		if err == nil {
			l.markUp()
			l.metrics.count("redis", d.Allowed)
			return d
		}
		// A cancelled request is no sign that Redis is down.
		if ctx.Err() == nil {
			l.markDown(err)
		}
	}
	d := l.local.allow(key, perMinute)
	l.metrics.count("local", d.Allowed)
	return d
}

func (l *Limiter) allowShared(ctx context.Context, key string, perMinute int) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := l.shared.Allow(ctx, key, redis_rate.PerMinute(perMinute))
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Allowed: res.Allowed > 0, Limit: perMinute, Remaining: res.Remaining, ResetAfter: res.ResetAfter}
	if !d.Allowed {
		d.RetryAfter = res.RetryAfter
	}
	return d, nil
}

// shouldTryRedis returns true while Redis responds, and once every retryEvery while it does not.
func (l *Limiter) shouldTryRedis() bool {
	if !l.redisDown.Load() {
		return true
	}
	now := time.Now().UnixNano()
	at := l.retryAt.Load()
	return now >= at && l.retryAt.CompareAndSwap(at, now+l.retryEvery.Nanoseconds())
}

func (l *Limiter) markDown(err error) {
	l.retryAt.Store(time.Now().Add(l.retryEvery).UnixNano())
	l.metrics.redisErrors.Inc()
	if !l.redisDown.Swap(true) {
		l.metrics.redisUp.Set(0)
		l.log.Warn("Redis is unreachable; rate limits are counted in each replica until it returns",
			"error", err.Error(), "retry_every", l.retryEvery.String())
	}
}

func (l *Limiter) markUp() {
	if l.redisDown.Swap(false) {
		l.metrics.redisUp.Set(1)
		l.log.Info("Redis is reachable again; rate limits are shared between replicas")
	}
}

// UsingRedis reports whether limits are currently shared through Redis.
func (l *Limiter) UsingRedis() bool { return l.shared != nil && !l.redisDown.Load() }

// localLimiter runs throttled's GCRA on its in-memory store. throttled fixes the quota per
// limiter, so there is one limiter per distinct rate, all on one store with the rate in the key.
type localLimiter struct {
	store throttled.GCRAStoreCtx

	mu       sync.Mutex
	limiters map[int]*throttled.GCRARateLimiterCtx
}

func newLocalLimiter(maxKeys int) (*localLimiter, error) {
	store, err := memstore.NewCtx(maxKeys)
	if err != nil {
		return nil, fmt.Errorf("create in-memory rate-limit store: %w", err)
	}
	return &localLimiter{store: store, limiters: map[int]*throttled.GCRARateLimiterCtx{}}, nil
}

func (l *localLimiter) limiter(perMinute int) (*throttled.GCRARateLimiterCtx, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.limiters[perMinute]; ok {
		return lim, nil
	}
	// throttled allows MaxBurst+1 requests at once; redis_rate allows Burst. Both then refill
	// one request every minute/perMinute.
	lim, err := throttled.NewGCRARateLimiterCtx(l.store, throttled.RateQuota{MaxRate: throttled.PerMin(perMinute), MaxBurst: perMinute - 1})
	if err != nil {
		return nil, err
	}
	l.limiters[perMinute] = lim
	return lim, nil
}

// allow never rejects because of its own failure: an error lets the request through.
func (l *localLimiter) allow(key string, perMinute int) Decision {
	allowed := Decision{Allowed: true, Limit: perMinute, Remaining: perMinute - 1}
	lim, err := l.limiter(perMinute)
	if err != nil {
		return allowed
	}
	limited, res, err := lim.RateLimitCtx(context.Background(), strconv.Itoa(perMinute)+"/"+key, 1)
	if err != nil {
		return allowed
	}
	d := Decision{Allowed: !limited, Limit: perMinute, Remaining: res.Remaining, ResetAfter: res.ResetAfter}
	if limited {
		d.RetryAfter = res.RetryAfter
	}
	return d
}

// metrics are the limiter's Prometheus series.
type metrics struct {
	decisions   *prometheus.CounterVec
	limited     *prometheus.CounterVec
	redisUp     prometheus.Gauge
	redisErrors prometheus.Counter
}

func newMetrics(registerer prometheus.Registerer, withRedis bool) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_ratelimit_decisions_total",
			Help: "Rate-limit decisions by where they were counted (redis or local) and outcome (allowed or limited).",
		}, []string{"store", "outcome"}),
		// One series per key that was ever limited: the number of keys bounds it.
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_ratelimit_limited_total",
			Help: "Requests answered with 429, by the prefix of the API key that sent them.",
		}, []string{"key_prefix"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "setora_ratelimit_redis_up",
			Help: "1 while rate limits are shared through Redis, 0 while this replica counts them alone because Redis is unreachable.",
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "setora_ratelimit_redis_errors_total",
			Help: "Rate-limit checks that Redis failed to answer and that were counted locally instead.",
		}),
	}
	if registerer != nil {
		registerer.MustRegister(m.decisions, m.limited)
		if withRedis {
			registerer.MustRegister(m.redisUp, m.redisErrors)
		}
	}
	return m
}

func (m *metrics) count(store string, allowed bool) {
	outcome := "allowed"
	if !allowed {
		outcome = "limited"
	}
	m.decisions.WithLabelValues(store, outcome).Inc()
}

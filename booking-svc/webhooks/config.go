package webhooks

import (
	"fmt"
	"time"

	"github.com/setora/rest/shared/config"
)

// Config tunes delivery. The zero value is not usable; start from DefaultConfig or LoadConfig.
type Config struct {
	// DispatchInterval is how often the dispatcher looks for new outbox events.
	DispatchInterval time.Duration
	// DispatchBatch bounds the outbox events one dispatcher transaction claims.
	DispatchBatch int
	// Workers is how many deliveries run at once in this process.
	Workers int
	// AttemptTimeout bounds one HTTP attempt: connecting, sending and reading the response.
	AttemptTimeout time.Duration
	// RetryBaseDelay is the wait after the first failed attempt; each later wait doubles, up to
	// RetryMaxDelay, and every wait is spread by ±25% of jitter.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// RetryHorizon is how long after its first attempt a delivery is retried. An attempt whose
	// next retry would fall beyond it is the last, and its endpoint is marked failing.
	RetryHorizon time.Duration
	// RescueAfter is how long a delivery job may stay running before River assumes its process
	// died and schedules it again. It must be longer than AttemptTimeout.
	RescueAfter time.Duration
	// FetchPollInterval is how often River looks for due jobs when no insert notification came,
	// which is when a retry falls due.
	FetchPollInterval time.Duration
	// BacklogInterval is how often the backlog gauges are refreshed from the database.
	BacklogInterval time.Duration
}

// DefaultConfig returns the production settings: retries for three days, first after 30 seconds,
// then at most every four hours.
func DefaultConfig() Config {
	return Config{
		DispatchInterval:  500 * time.Millisecond,
		DispatchBatch:     200,
		Workers:           20,
		AttemptTimeout:    10 * time.Second,
		RetryBaseDelay:    30 * time.Second,
		RetryMaxDelay:     4 * time.Hour,
		RetryHorizon:      72 * time.Hour,
		RescueAfter:       2 * time.Minute,
		FetchPollInterval: time.Second,
		BacklogInterval:   10 * time.Second,
	}
}

// LoadConfig reads the WEBHOOK_* variables into a Config. env records unparsable values;
// Validate checks that the values work together.
func LoadConfig(env *config.Env) Config {
	def := DefaultConfig()
	c := Config{
		DispatchInterval:  env.Duration("WEBHOOK_DISPATCH_INTERVAL", def.DispatchInterval),
		DispatchBatch:     int(env.Int("WEBHOOK_DISPATCH_BATCH", int64(def.DispatchBatch), 1, 1000)),
		Workers:           int(env.Int("WEBHOOK_WORKERS", int64(def.Workers), 1, 1000)),
		AttemptTimeout:    env.Duration("WEBHOOK_ATTEMPT_TIMEOUT", def.AttemptTimeout),
		RetryBaseDelay:    env.Duration("WEBHOOK_RETRY_BASE_DELAY", def.RetryBaseDelay),
		RetryMaxDelay:     env.Duration("WEBHOOK_RETRY_MAX_DELAY", def.RetryMaxDelay),
		RetryHorizon:      env.Duration("WEBHOOK_RETRY_HORIZON", def.RetryHorizon),
		RescueAfter:       env.Duration("WEBHOOK_RESCUE_AFTER", def.RescueAfter),
		FetchPollInterval: env.Duration("WEBHOOK_FETCH_POLL_INTERVAL", def.FetchPollInterval),
		BacklogInterval:   env.Duration("WEBHOOK_BACKLOG_INTERVAL", def.BacklogInterval),
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	positive := []struct {
		name  string
		value time.Duration
	}{
		{"WEBHOOK_DISPATCH_INTERVAL", c.DispatchInterval},
		{"WEBHOOK_ATTEMPT_TIMEOUT", c.AttemptTimeout},
		{"WEBHOOK_RETRY_BASE_DELAY", c.RetryBaseDelay},
		{"WEBHOOK_RETRY_MAX_DELAY", c.RetryMaxDelay},
		{"WEBHOOK_RETRY_HORIZON", c.RetryHorizon},
		{"WEBHOOK_RESCUE_AFTER", c.RescueAfter},
		{"WEBHOOK_FETCH_POLL_INTERVAL", c.FetchPollInterval},
		{"WEBHOOK_BACKLOG_INTERVAL", c.BacklogInterval},
	}
	for _, p := range positive {
		if p.value <= 0 {
			return fmt.Errorf("%s must be a positive duration such as 10s", p.name)
		}
	}
	if c.DispatchBatch < 1 || c.Workers < 1 {
		return fmt.Errorf("WEBHOOK_DISPATCH_BATCH and WEBHOOK_WORKERS must be at least 1")
	}
	if c.RetryMaxDelay < c.RetryBaseDelay {
		return fmt.Errorf("WEBHOOK_RETRY_MAX_DELAY (%s) must not be shorter than WEBHOOK_RETRY_BASE_DELAY (%s)", c.RetryMaxDelay, c.RetryBaseDelay)
	}
	if c.RescueAfter <= c.jobTimeout() {
		return fmt.Errorf("WEBHOOK_RESCUE_AFTER (%s) must be longer than WEBHOOK_ATTEMPT_TIMEOUT plus %s (%s)",
			c.RescueAfter, jobTimeoutMargin, c.jobTimeout())
	}
	return nil
}

// jobTimeoutMargin is the time a delivery job gets beyond its HTTP attempt to read the event and
// record the outcome.
const jobTimeoutMargin = 5 * time.Second

func (c Config) jobTimeout() time.Duration { return c.AttemptTimeout + jobTimeoutMargin }

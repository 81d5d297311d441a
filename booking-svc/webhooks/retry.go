package webhooks

import (
	"encoding/binary"
	"hash/fnv"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// retryDelay returns the wait after failed attempt n (counted from 1) of a job: RetryBaseDelay
// doubled n-1 times, capped at RetryMaxDelay, then scaled by a jitter factor between 0.75 and
// 1.25. The factor is derived from the job id and attempt rather than drawn at random, so the
// worker deciding whether an attempt was the last and River scheduling the retry compute the
// same delay.
func (c Config) retryDelay(jobID int64, attempt int) time.Duration {
	delay := c.RetryBaseDelay
	for i := 1; i < attempt && delay < c.RetryMaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, c.RetryMaxDelay)

	h := fnv.New64a()
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(jobID))
	binary.LittleEndian.PutUint64(buf[8:], uint64(attempt))
	h.Write(buf[:])
	fraction := float64(h.Sum64()%10_001) / 10_000
	return time.Duration(float64(delay) * (0.75 + 0.5*fraction))
}

// isLastAttempt reports whether a failed attempt should not be retried, because the next retry
// would fall beyond the retry horizon counted from the job's creation.
func (c Config) isLastAttempt(job *rivertype.JobRow, now time.Time) bool {
	if job.Attempt >= job.MaxAttempts {
		return true
	}
	next := now.Add(c.retryDelay(job.ID, job.Attempt))
	return next.Sub(job.CreatedAt) > c.RetryHorizon
}

// retryPolicy is River's client-wide retry policy, so that retries after a failed attempt and
// after a rescued job (one whose process died while it ran) follow the same schedule.
type retryPolicy struct{ cfg Config }

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.cfg.retryDelay(job.ID, job.Attempt))
}

// Schedule returns the nominal waits before each retry, without jitter, until the horizon. The
// retry table in docs/webhooks.md lists it for DefaultConfig.
func (c Config) Schedule() []time.Duration {
	var waits []time.Duration
	elapsed := time.Duration(0)
	delay := c.RetryBaseDelay
	for {
		if elapsed+delay > c.RetryHorizon {
			return waits
		}
		waits = append(waits, delay)
		elapsed += delay
		delay = min(delay*2, c.RetryMaxDelay)
	}
}

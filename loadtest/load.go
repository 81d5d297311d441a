package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig bounds a run and sets its arrival model.
type loadConfig struct {
	// Rate is the target number of scheduled actions per second (open model): actions start on
	// schedule whether or not earlier ones have finished. Zero selects the closed model, in
	// which each worker starts its next action when the last one ends.
	Rate float64
	// Concurrency is the number of workers, so the most actions in flight at once.
	Concurrency int
	// Duration and MaxActions bound the run; it stops at whichever comes first.
	Duration   time.Duration
	MaxActions int
}

// action runs one scheduled unit of work that should have started at intended.
type action func(ctx context.Context, intended time.Time)

// loadOutcome records how the schedule went.
type loadOutcome struct {
	Scheduled int `json:"scheduled"`
	// Dropped counts actions that were due while every worker was busy and the queue was full:
	// the client, not the server, was the limit. A run with drops measured too little load.
	Dropped int `json:"dropped_client_saturated"`
	// LateStarts counts actions that started more than 10 ms after their intended time because
	// no worker was free; their latency includes that wait.
	LateStarts int           `json:"late_starts"`
	Elapsed    time.Duration `json:"-"`
}

// lateStart is how late an action may start before it counts in LateStarts.
const lateStart = 10 * time.Millisecond

// runLoad runs the actions that next returns until the duration or the action budget is spent
// or ctx ends, then waits for the actions in flight.
func runLoad(ctx context.Context, cfg loadConfig, start time.Time, next func() action) loadOutcome {
	ctx, cancel := context.WithDeadline(ctx, start.Add(cfg.Duration))
	defer cancel()
	// Actions in flight may finish after the deadline; they get their own grace period.
	workCtx, cancelWork := context.WithTimeout(context.WithoutCancel(ctx), cfg.Duration+30*time.Second)
	defer cancelWork()

	if cfg.Rate <= 0 {
		return runClosed(ctx, workCtx, cfg, start, next)
	}
	return runOpen(ctx, workCtx, cfg, start, next)
}

type scheduled struct {
	act      action
	intended time.Time
}

func runOpen(ctx, workCtx context.Context, cfg loadConfig, start time.Time, next func() action) loadOutcome {
	// The queue holds two seconds of arrivals. Beyond that the client is saturated, so further
	// arrivals are counted as dropped, because delaying them would hide them.
	queue := make(chan scheduled, max(int(cfg.Rate*2), 100))
	var late atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range queue {
				if time.Since(job.intended) > lateStart {
					late.Add(1)
				}
				job.act(workCtx, job.intended)
			}
		}()
	}

	out := loadOutcome{}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	for i := 0; cfg.MaxActions <= 0 || i < cfg.MaxActions; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if wait := time.Until(intended); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		out.Scheduled++
		select {
		case queue <- scheduled{act: next(), intended: intended}:
		default:
			out.Dropped++
		}
	}
	close(queue)
	wg.Wait()
	out.LateStarts = int(late.Load())
	out.Elapsed = time.Since(start)
	return out
}

func runClosed(ctx, workCtx context.Context, cfg loadConfig, start time.Time, next func() action) loadOutcome {
	var count atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if n := count.Add(1); cfg.MaxActions > 0 && n > int64(cfg.MaxActions) {
					return
				}
				mu.Lock()
				act := next()
				mu.Unlock()
				act(workCtx, time.Now())
			}
		}()
	}
	wg.Wait()
	scheduled := int(count.Load())
	if cfg.MaxActions > 0 {
		scheduled = min(scheduled, cfg.MaxActions)
	}
	return loadOutcome{Scheduled: scheduled, Elapsed: time.Since(start)}
}

// progress prints a line every interval with the elapsed time, the rate of responses, the
// errors and the latency percentiles of the responses in that interval, until ctx ends.
func progress(ctx context.Context, w io.Writer, rec *recorder, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	next, errors := 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		fresh, n := rec.since(next)
		next = n
		latencies := make([]time.Duration, 0, len(fresh))
		for _, s := range fresh {
			latencies = append(latencies, s.Latency)
			if s.Failed {
				errors++
			}
		}
		sum := summarise(latencies)
		fmt.Fprintf(w, "elapsed %5.0fs  rate %7.1f/s  requests %8d  errors %5d  p50 %7.2fms  p99 %8.2fms\n",
			time.Since(rec.start).Seconds(), float64(len(fresh))/every.Seconds(), n, errors, sum.P50, sum.P99)
	}
}

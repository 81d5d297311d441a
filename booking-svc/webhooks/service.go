// Package webhooks delivers booking events to the HTTPS endpoints that organisations register.
//
// Every booking write already adds an outbox_events row in its own transaction. A dispatcher
// claims committed rows and, in one transaction, queues one River job per subscribed endpoint
// and marks the rows dispatched, so a crash leaves each event either undispatched (and claimed
// again later) or queued, never lost. River works the jobs with retries that survive restarts:
// delivery is at least once. Each request is signed with HMAC-SHA256 (package signature), every
// attempt is written to the endpoint's delivery log, and an event that cannot be delivered within
// the retry horizon marks its endpoint failing.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Service runs the dispatcher and River's delivery workers in one process. Several processes
// may run it on one database at once.
type Service struct {
	cfg        Config
	log        *slog.Logger
	client     *river.Client[pgx.Tx]
	dispatcher *dispatcher

	mu             sync.Mutex
	stopDispatcher context.CancelFunc
	dispatcherDone chan struct{}
}

// NewService prepares delivery on pool and registers its metrics with reg. River's tables must
// exist (see MigrateQueue).
func NewService(pool *pgxpool.Pool, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "webhooks")

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, newDeliveryWorker(cfg, pool, log, m)); err != nil {
		return nil, fmt.Errorf("register delivery worker: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		JobTimeout:           cfg.jobTimeout(),
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          retryPolicy{cfg: cfg},
		FetchPollInterval:    cfg.FetchPollInterval,
		FetchCooldown:        min(river.FetchCooldownDefault, cfg.FetchPollInterval),
		// River logs every failed attempt at info level. The worker logs them itself with the
		// endpoint and event ids, so River's own lines are kept to warnings and errors.
		Logger: slog.New(minLevelHandler{Handler: log.With("component", "river").Handler(), min: slog.LevelWarn}),
	})
	if err != nil {
		return nil, fmt.Errorf("create job queue client: %w", err)
	}
	return &Service{
		cfg: cfg, log: log, client: client,
		dispatcher: &dispatcher{cfg: cfg, pool: pool, river: client, log: log, metrics: m},
	}, nil
}

// Start starts River's workers and the dispatcher. They run until Stop; cancelling ctx does not
// stop them.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopDispatcher != nil {
		return errors.New("webhook delivery already started")
	}
	if err := s.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start delivery workers: %w", err)
	}
	dispatchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.dispatcher.run(dispatchCtx)
	}()
	s.stopDispatcher, s.dispatcherDone = stop, done
	s.log.Info("webhook delivery started", "workers", s.cfg.Workers, "attempt_timeout", s.cfg.AttemptTimeout.String(),
		"retry_horizon", s.cfg.RetryHorizon.String(), "dispatch_interval", s.cfg.DispatchInterval.String())
	return nil
}

// stopCancelTimeout bounds the wait for cancelled deliveries to return at shutdown.
const stopCancelTimeout = 5 * time.Second

// Stop stops the dispatcher, then lets running deliveries finish until ctx ends and cancels the
// rest. A cancelled delivery is not lost: River runs it again after the next start.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopDispatcher == nil {
		return nil
	}
	s.stopDispatcher()
	<-s.dispatcherDone
	s.stopDispatcher = nil

	err := s.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		s.log.Warn("webhook deliveries still running at shutdown; cancelling them", "error", err.Error())
		cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopCancelTimeout)
		defer cancel()
		err = s.client.StopAndCancel(cancelCtx)
	}
	if err != nil {
		return fmt.Errorf("stop delivery workers: %w", err)
	}
	s.log.Info("webhook delivery stopped")
	return nil
}

// minLevelHandler drops records below min.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

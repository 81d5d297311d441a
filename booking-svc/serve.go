package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/setora/rest/booking-svc/api"
	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/idempotency"
	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/admin"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/config"
	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/ratelimit"
	"github.com/setora/rest/shared/telemetry"
)

type settings struct {
	HTTPAddr      string
	AdminAddr     string
	Profiling     bool
	DatabaseURL   string
	MaxConns      int64
	SweepInterval time.Duration
	ShutdownDrain time.Duration
	RedisURL      string
	RedisTimeout  time.Duration
	Webhooks      webhooks.Config
}

func loadSettings() (settings, error) {
	var env config.Env
	s := settings{
		HTTPAddr:      env.String("HTTP_ADDR", ":8082"),
		AdminAddr:     env.String("ADMIN_ADDR", ":9082"),
		Profiling:     env.Bool("ADMIN_PPROF", false),
		DatabaseURL:   env.Required("DATABASE_URL", "set it to the PostgreSQL URL of the owner role"),
		MaxConns:      env.Int("DATABASE_MAX_CONNS", 20, 2, 1000),
		SweepInterval: env.Duration("HOLD_SWEEP_INTERVAL", 5*time.Second),
		ShutdownDrain: env.Duration("SHUTDOWN_DRAIN", 5*time.Second),
		RedisURL:      env.String("REDIS_URL", ""),
		RedisTimeout:  env.Duration("REDIS_TIMEOUT", 100*time.Millisecond),
		Webhooks:      webhooks.LoadConfig(&env),
	}
	return s, errors.Join(env.Err(), s.Webhooks.Validate())
}

func serve(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadSettings()
	if err != nil {
		return err
	}
	log.Info("starting", "http_addr", cfg.HTTPAddr, "admin_addr", cfg.AdminAddr,
		"database_url", config.MaskURL(cfg.DatabaseURL), "database_max_conns", cfg.MaxConns,
		"hold_sweep_interval", cfg.SweepInterval.String(), "shutdown_drain", cfg.ShutdownDrain.String(),
		"redis_url", config.MaskURL(cfg.RedisURL), "redis_timeout", cfg.RedisTimeout.String())

	// Telemetry: spans when the OTEL_* variables ask for them (see shared/telemetry).
	tracing, err := telemetry.SetupTracing(ctx, serviceName, telemetry.ReadBuildInfo().Version)
	if err != nil {
		return err
	}
	log.Info("tracing configured", tracing.LogAttrs()...)

	pool, err := db.Connect(ctx, cfg.DatabaseURL, int32(cfg.MaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	// Registered after pool.Close, so it runs before it, once the server and the background
	// work have stopped.
	defer flushSpans(log, tracing)

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Telemetry: build, pool, request and booking series.
	telemetry.RegisterBuildInfo(registry, serviceName)
	registry.MustRegister(telemetry.NewPoolCollector(pool, "main"))
	metrics := newServiceMetrics(registry, log)
	obs := observability{
		instrument:  telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(registry, serviceName)),
		idempotency: metrics.observeIdempotency,
	}

	echo := notify.NewEcho()
	echoCtx, stopEcho := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEcho()
	go echo.Run(echoCtx, cfg.DatabaseURL, log)
	store := bookings.NewStore(pool, echo)
	store.Observer = metrics
	limiter, err := ratelimit.New(ctx, ratelimit.Config{RedisURL: cfg.RedisURL, Timeout: cfg.RedisTimeout}, log, registry)
	if err != nil {
		return err
	}
	defer limiter.Close()
	app := newApp(log, pool, store, echo, limiter, obs)

	// Webhook delivery: the outbox dispatcher and River's workers. The deferred Stop runs after
	// the HTTP server has drained, and lets running deliveries finish for up to 10 seconds.
	deliveries, err := webhooks.NewService(pool, cfg.Webhooks, registry, log)
	if err != nil {
		return err
	}
	if err := deliveries.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deliveries.Stop(stopCtx); err != nil {
			log.Error("webhook delivery shutdown failed", "error", err.Error())
		}
	}()

	sweepCtx, stopSweeping := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sweep(sweepCtx, log, pool, store, cfg.SweepInterval, metrics.holdsExpired)
	}()
	defer func() {
		stopSweeping()
		<-sweepDone
	}()

	adminSrv := admin.New(cfg.AdminAddr, registry, func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("database unreachable: %w", err)
		}
		return nil
	}, log)
	if cfg.Profiling {
		adminSrv.ServeProfiles()
	}

	errs := make(chan error, 2)
	go func() { errs <- adminSrv.ListenAndServe() }()
	go func() { errs <- app.Listen(cfg.HTTPAddr) }()
	log.Info("started")

	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}

	log.Info("stopping", "drain", cfg.ShutdownDrain.String())
	adminSrv.Drain()
	time.Sleep(cfg.ShutdownDrain)
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		log.Error("HTTP shutdown failed", "error", err.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = adminSrv.Shutdown(shutdownCtx)
	log.Info("stopped")
	return nil
}

// newApp mounts the public routes. Keys are checked against the database on every request, so
// a revoked key stops working here at once. printRoutes builds it with nil dependencies.
func newApp(log *slog.Logger, pool *pgxpool.Pool, store *bookings.Store, echo *notify.Echo, limiter *ratelimit.Limiter,
	obs observability) *fiber.App {
	app := httpapi.NewApp(serviceName, log, obs.instrument...)
	authenticator := auth.NewAuthenticator(pool, 0)
	api.MountPublic(app)
	v1 := app.Group("/v1", authenticator.Middleware(), ratelimit.Middleware(limiter), recordKeyUse(pool, log),
		idempotency.Middleware(pool, log, obs.idempotency, "POST /v1/bookings"))
	api.Mount(v1, api.Deps{Pool: pool, Store: store, Echo: echo, Log: log})
	return app
}

// sweep expires lapsed holds, counting them in expired, and purges expired idempotency keys
// until ctx ends.
func sweep(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, store *bookings.Store, every time.Duration,
	expired prometheus.Counter) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		n, err := store.ExpireHolds(ctx)
		if ctx.Err() != nil {
			return // shutting down; the next start sweeps what is left
		}
		if err != nil {
			log.Error("hold sweep failed", "error", err.Error())
		} else if n > 0 {
			expired.Add(float64(n))
			log.Info("holds expired", "count", n)
		}
		if _, err := idempotency.Purge(ctx, pool); err != nil {
			log.Error("idempotency purge failed", "error", err.Error())
		}
	}
}

// flushSpans exports the spans still queued, waiting at most five seconds.
func flushSpans(log *slog.Logger, tracing *telemetry.Tracing) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracing.Shutdown(ctx); err != nil {
		log.Error("flushing spans failed", "error", err.Error())
	}
}

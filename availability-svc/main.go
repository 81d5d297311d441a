// Command availability-svc answers GET /v1/locations/{slug}/availability from day schedules
// cached in memory, evicting them when booking-svc reports a change.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // zones resolve without the operating system's files

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/availability-svc/listener"
	"github.com/setora/rest/shared/admin"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/config"
	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/ratelimit"
	"github.com/setora/rest/shared/telemetry"
)

const serviceName = "availability-svc"

type settings struct {
	HTTPAddr          string
	AdminAddr         string
	Profiling         bool
	DatabaseURL       string
	ListenDatabaseURL string
	CacheMaxCost      int64
	AnswerCacheBytes  int64
	CacheTTL          time.Duration
	KeyCacheTTL       time.Duration
	ShutdownDrain     time.Duration
	RedisURL          string
	RedisTimeout      time.Duration
}

func loadSettings() (settings, error) {
	var env config.Env
	s := settings{
		HTTPAddr:     env.String("HTTP_ADDR", ":8081"),
		AdminAddr:    env.String("ADMIN_ADDR", ":9081"),
		Profiling:    env.Bool("ADMIN_PPROF", false),
		DatabaseURL:  env.Required("DATABASE_URL", "set it to a PostgreSQL URL for the read-only role setora_reader"),
		CacheMaxCost: env.Int("CACHE_MAX_COST", 256<<20, 1<<20, 1<<40),
		// Rendered answers, reused while their days are unchanged; 0 turns the reuse off.
		AnswerCacheBytes: env.Int("ANSWER_CACHE_BYTES", 64<<20, 0, 1<<40),
		CacheTTL:         env.Duration("CACHE_TTL", 10*time.Minute),
		KeyCacheTTL:      env.Duration("KEY_CACHE_TTL", 30*time.Second),
		ShutdownDrain:    env.Duration("SHUTDOWN_DRAIN", 5*time.Second),
		RedisURL:         env.String("REDIS_URL", ""),
		RedisTimeout:     env.Duration("REDIS_TIMEOUT", 100*time.Millisecond),
	}
	s.ListenDatabaseURL = env.String("LISTEN_DATABASE_URL", s.DatabaseURL)
	return s, env.Err()
}

func main() {
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil))).With("service", serviceName)
	if len(os.Args) > 1 && os.Args[1] == "routes" {
		printRoutes(log)
		return
	}
	if err := run(log); err != nil {
		log.Error("stopped with an error", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := loadSettings()
	if err != nil {
		return err
	}
	log.Info("starting", "http_addr", cfg.HTTPAddr, "admin_addr", cfg.AdminAddr,
		"database_url", config.MaskURL(cfg.DatabaseURL), "listen_database_url", config.MaskURL(cfg.ListenDatabaseURL),
		"cache_max_cost", cfg.CacheMaxCost, "answer_cache_bytes", cfg.AnswerCacheBytes, "cache_ttl", cfg.CacheTTL.String(), "key_cache_ttl", cfg.KeyCacheTTL.String(),
		"shutdown_drain", cfg.ShutdownDrain.String(), "redis_url", config.MaskURL(cfg.RedisURL),
		"redis_timeout", cfg.RedisTimeout.String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Telemetry: spans when the OTEL_* variables ask for them (see shared/telemetry).
	tracing, err := telemetry.SetupTracing(ctx, serviceName, telemetry.ReadBuildInfo().Version)
	if err != nil {
		return err
	}
	log.Info("tracing configured", tracing.LogAttrs()...)

	pool, err := db.Connect(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Registered after pool.Close, so it runs before it, once the server and the listener
	// have stopped.
	defer flushSpans(log, tracing)

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := newServiceMetrics(registry)

	days, err := cache.New(cache.DBReader{DB: pool}, cache.Config{MaxCost: cfg.CacheMaxCost, TTL: cfg.CacheTTL}, metrics)
	if err != nil {
		return err
	}
	defer days.Close()

	// Telemetry: build, pool, cache and request series.
	telemetry.RegisterBuildInfo(registry, serviceName)
	registry.MustRegister(telemetry.NewPoolCollector(pool, "main"), newCacheCollector(days, cfg.CacheMaxCost))
	instrument := telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(registry, serviceName))

	catalogue, err := cache.NewCatalogue(pool, time.Minute)
	if err != nil {
		return err
	}
	defer catalogue.Close()
	authenticator := auth.NewAuthenticator(pool, cfg.KeyCacheTTL)

	listenCtx, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		listener.Run(listenCtx, cfg.ListenDatabaseURL, replicaName(), &changeHandler{days: days, catalogue: catalogue, auth: authenticator, metrics: metrics, log: log}, log)
	}()
	defer func() {
		stopListening()
		<-listenDone
	}()

	limiter, err := ratelimit.New(ctx, ratelimit.Config{RedisURL: cfg.RedisURL, Timeout: cfg.RedisTimeout}, log, registry)
	if err != nil {
		return err
	}
	defer limiter.Close()
	var rendered *answers
	if cfg.AnswerCacheBytes > 0 {
		if rendered, err = newAnswers(cfg.AnswerCacheBytes); err != nil {
			return err
		}
		defer rendered.close()
	}
	app := newApp(log, authenticator, limiter, &availabilityHandler{catalogue: catalogue, days: days, answers: rendered, db: pool, metrics: metrics, log: log},
		instrument...)

	adminSrv := admin.New(cfg.AdminAddr, registry, func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("database unreachable: %w", err)
		}
		if !days.Listening() {
			return errors.New("LISTEN connection is down")
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
	return shutdown(log, cfg.ShutdownDrain, app, adminSrv)
}

// replicaName identifies this process in acknowledgements: the host name (the pod name on
// Kubernetes) and the process id, so a restarted process is a new replica.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// newApp mounts the public routes. instrument runs around every request (see httpapi.NewApp).
func newApp(log *slog.Logger, authenticator *auth.Authenticator, limiter *ratelimit.Limiter, h *availabilityHandler,
	instrument ...fiber.Handler) *fiber.App {
	app := httpapi.NewApp(serviceName, log, instrument...)
	v1 := app.Group("/v1", authenticator.Middleware(), ratelimit.Middleware(limiter))
	v1.Get("/locations/:slug/availability", auth.Require(auth.ScopeAvailabilityRead), h.get)
	return app
}

// flushSpans exports the spans still queued, waiting at most five seconds.
func flushSpans(log *slog.Logger, tracing *telemetry.Tracing) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracing.Shutdown(ctx); err != nil {
		log.Error("flushing spans failed", "error", err.Error())
	}
}

// shutdown fails readiness, waits for the load balancer to notice, then drains requests.
func shutdown(log *slog.Logger, drain time.Duration, app *fiber.App, adminSrv *admin.Server) error {
	log.Info("stopping", "drain", drain.String())
	adminSrv.Drain()
	time.Sleep(drain)
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		log.Error("HTTP shutdown failed", "error", err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = adminSrv.Shutdown(ctx)
	log.Info("stopped")
	return nil
}

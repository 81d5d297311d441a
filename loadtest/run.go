package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Upper bounds that keep every run finite whatever the flags set.
const (
	maxRunDuration = 2 * time.Hour
	maxRunRequests = 5_000_000
)

// runOptions are the flags of loadtest run.
type runOptions struct {
	target, databaseURL        string
	replicas, replicaMetrics   []string
	otherMetrics               []string
	allowRemote                bool
	load                       loadConfig
	shop                       shopConfig
	scenario                   scenarioConfig
	freshnessSamples           int
	freshnessEvery             time.Duration
	warmup                     time.Duration
	progressEvery, memoryEvery time.Duration
	out                        string
	stdout                     io.Writer
}

func parseRunFlags(args []string) (runOptions, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	o := runOptions{stdout: os.Stdout}
	fs.StringVar(&o.target, "target", "http://localhost:8080/v1", "base URL of the API (the gateway or ingress)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL of the owner role, for setting up data and verifying (default $DATABASE_URL)")
	replicas := fs.String("replicas", "", "comma-separated base URLs of each availability-svc replica, such as http://127.0.0.1:8081/v1, polled directly to measure freshness")
	replicaMetrics := fs.String("replica-metrics", "", "comma-separated /metrics URLs of the availability-svc replicas' admin ports, for cache hits and invalidation lag")
	otherMetrics := fs.String("metrics", "", "comma-separated /metrics URLs of other services (booking-svc), for resident memory")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow URLs whose host is not a loopback address")

	scenarioName := fs.String("scenario", scenarioMixed, "polling, rush, mixed, soak or bookings (many bookings spread so that conflicts are rare)")
	fs.Float64Var(&o.load.Rate, "rate", 200, "scheduled actions per second (open model); 0 runs the closed model, each worker as fast as answers come")
	fs.IntVar(&o.load.Concurrency, "concurrency", 64, "workers, so the most actions in flight at once")
	fs.DurationVar(&o.load.Duration, "duration", 0, "how long the load runs (default 30s, and 10m for soak; at most 2h)")
	fs.IntVar(&o.load.MaxActions, "max-requests", 1_000_000, "most actions scheduled (at most 5000000); a booking action may send a few requests")

	fs.IntVar(&o.shop.Organisations, "orgs", 2, "organisations to create")
	fs.IntVar(&o.shop.Locations, "locations", 3, "locations per organisation")
	fs.IntVar(&o.shop.Staff, "staff", 6, "staff per location")
	fs.IntVar(&o.shop.Weeks, "weeks", 2, "weeks of existing bookings and of dates polled and booked, from the day after tomorrow")
	fs.Float64Var(&o.shop.Booked, "booked", 0.4, "fraction of the half-hour starts booked before the load begins")
	fs.IntVar(&o.shop.KeysPerOrg, "keys", 4, "API keys per organisation; requests spread over them")
	fs.StringVar(&o.shop.Catalogue, "catalogue", "api", "how locations, services, staff and hours are created: api (booking-svc's catalogue endpoints) or sql")
	fs.StringVar(&o.shop.Seed, "seed", "api", "how existing bookings are created: api (POST /v1/bookings) or sql (one statement, for large shops)")

	fs.Float64Var(&o.scenario.BookingShare, "booking-share", 0.05, "fraction of mixed and soak actions that are booking attempts")
	fs.Float64Var(&o.scenario.Conditional, "conditional", 0.5, "fraction of availability requests sent with If-None-Match when an ETag is known")
	fs.IntVar(&o.scenario.RushSlots, "rush-slots", 4, "slots the crowd races for at a time")
	fs.DurationVar(&o.scenario.RushWave, "rush-wave", 2*time.Second, "how long until the next set of rush slots goes on offer")
	fs.Float64Var(&o.scenario.Retry, "retry", 0.2, "fraction of resolved booking attempts sent again with the same Idempotency-Key")
	fs.Float64Var(&o.scenario.Duplicate, "duplicate", 0.05, "fraction of booking attempts sent twice at the same moment with the same Idempotency-Key")

	fs.IntVar(&o.freshnessSamples, "freshness-samples", 100, "most bookings whose freshness is measured on every replica")
	fs.DurationVar(&o.freshnessEvery, "freshness-every", 200*time.Millisecond, "least time between two freshness samples")
	fs.DurationVar(&o.warmup, "warmup", 0, "availability polling before the measured run, to fill the caches")
	fs.DurationVar(&o.progressEvery, "progress", time.Second, "interval of the progress line")
	fs.DurationVar(&o.memoryEvery, "memory-every", 5*time.Second, "interval of resident-memory readings")
	fs.StringVar(&o.out, "out", "", "path prefix of the JSON and HTML results (default loadtest/results/<scenario>-<time>)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}

	o.scenario.Name = *scenarioName
	o.replicas, o.replicaMetrics, o.otherMetrics = splitList(*replicas), splitList(*replicaMetrics), splitList(*otherMetrics)
	if o.load.Duration == 0 {
		o.load.Duration = 30 * time.Second
		if o.scenario.Name == scenarioSoak {
			o.load.Duration = 10 * time.Minute
		}
	}
	if o.out == "" {
		o.out = filepath.Join("loadtest", "results", o.scenario.Name+"-"+time.Now().Format("20060102-150405"))
	}
	return o, o.validate()
}

func (o runOptions) validate() error {
	var problems []string
	add := func(err error) {
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	add(checkLoopback("target", o.target, o.allowRemote))
	if o.databaseURL == "" {
		add(errors.New("-database-url is required: set it or DATABASE_URL to the PostgreSQL URL of the owner role"))
	} else {
		add(checkLoopback("database-url", o.databaseURL, o.allowRemote))
	}
	for _, u := range o.replicas {
		add(checkLoopback("replicas", u, o.allowRemote))
	}
	for _, u := range append(append([]string(nil), o.replicaMetrics...), o.otherMetrics...) {
		add(checkLoopback("metrics", u, o.allowRemote))
	}
	switch o.scenario.Name {
	case scenarioPolling, scenarioRush, scenarioMixed, scenarioSoak, scenarioBookings:
	default:
		add(fmt.Errorf("-scenario %q must be polling, rush, mixed, soak or bookings", o.scenario.Name))
	}
	if o.load.Rate < 0 || o.load.Rate > 100_000 {
		add(fmt.Errorf("-rate %g must be between 0 and 100000 per second", o.load.Rate))
	}
	if o.load.Concurrency < 1 || o.load.Concurrency > 10_000 {
		add(fmt.Errorf("-concurrency %d must be between 1 and 10000", o.load.Concurrency))
	}
	if o.load.Duration <= 0 || o.load.Duration > maxRunDuration {
		add(fmt.Errorf("-duration %s must be positive and at most %s", o.load.Duration, maxRunDuration))
	}
	if o.load.MaxActions < 1 || o.load.MaxActions > maxRunRequests {
		add(fmt.Errorf("-max-requests %d must be between 1 and %d", o.load.MaxActions, maxRunRequests))
	}
	if o.warmup < 0 || o.warmup > 10*time.Minute {
		add(fmt.Errorf("-warmup %s must be between 0 and 10m", o.warmup))
	}
	for name, share := range map[string]float64{"booking-share": o.scenario.BookingShare, "conditional": o.scenario.Conditional,
		"retry": o.scenario.Retry, "duplicate": o.scenario.Duplicate} {
		if share < 0 || share > 1 {
			add(fmt.Errorf("-%s %g must be between 0 and 1", name, share))
		}
	}
	if o.scenario.RushSlots < 1 || o.scenario.RushWave <= 0 {
		add(errors.New("-rush-slots must be at least 1 and -rush-wave positive"))
	}
	if o.progressEvery <= 0 || o.memoryEvery <= 0 {
		add(errors.New("-progress and -memory-every must be positive"))
	}
	add(o.shop.validate())
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// runResult is everything a run reports; the JSON file holds it whole.
type runResult struct {
	Scenario     scenarioConfig   `json:"scenario"`
	Target       string           `json:"target"`
	StartedAt    time.Time        `json:"started_at"`
	Seconds      float64          `json:"seconds"`
	Rate         float64          `json:"target_rate"`
	Concurrency  int              `json:"concurrency"`
	Schedule     loadOutcome      `json:"schedule"`
	RunID        string           `json:"run_id"`
	Shop         shopConfig       `json:"shop"`
	Machine      machineInfo      `json:"machine"`
	Total        endpointResult   `json:"total"`
	Endpoints    []endpointResult `json:"endpoints"`
	Timeline     []timelinePoint  `json:"timeline"`
	Cache        cacheResult      `json:"cache"`
	Memory       []memorySample   `json:"memory"`
	Drift        *driftResult     `json:"drift,omitempty"`
	Verification verification     `json:"verification"`
	Warnings     []string         `json:"warnings"`
}

// cacheResult comes from the availability replicas' metrics, as differences over the run.
type cacheResult struct {
	Hits        float64 `json:"hits"`
	Misses      float64 `json:"misses"`
	HitRatio    float64 `json:"hit_ratio"`
	NotModified float64 `json:"not_modified"`
	// InvalidationLag is setora_availability_invalidation_lag_seconds over the run, estimated
	// from its buckets for all replicas together and for each.
	InvalidationLagCount      float64   `json:"invalidation_lag_count"`
	InvalidationLagP50MS      float64   `json:"invalidation_lag_p50_ms"`
	InvalidationLagP99MS      float64   `json:"invalidation_lag_p99_ms"`
	InvalidationLagP99Replica []float64 `json:"invalidation_lag_p99_ms_per_replica"`
}

// driftResult compares the first and last tenth of a run.
type driftResult struct {
	FirstP99MS   float64 `json:"first_tenth_p99_ms"`
	LastP99MS    float64 `json:"last_tenth_p99_ms"`
	FirstRSS     float64 `json:"first_rss_bytes"`
	LastRSS      float64 `json:"last_rss_bytes"`
	RSSGrowthPct float64 `json:"rss_growth_percent"`
}

func runCommand(ctx context.Context, log *slog.Logger, args []string) error {
	o, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	res, err := execute(ctx, log, o)
	if err != nil {
		return err
	}
	if !res.Verification.Passed {
		return fmt.Errorf("verification found %d problems; see %s.json", len(res.Verification.Problems), o.out)
	}
	return nil
}

// execute sets up the shop, runs the load, verifies and writes the reports.
func execute(ctx context.Context, log *slog.Logger, o runOptions) (*runResult, error) {
	pool, err := pgxpool.New(ctx, o.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	defer pool.Close()

	httpClient := newHTTPClient(o.load.Concurrency*2, 30*time.Second)
	api := newAPIClient(o.target, httpClient)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))

	s, err := newShop(o.shop, rng)
	if err != nil {
		return nil, err
	}
	free, err := setUpShop(ctx, log, pool, api, s, rng)
	if err != nil {
		return nil, err
	}

	rec := newRecorder(time.Now())
	sc := &scenario{cfg: o.scenario, shop: s, weeks: o.shop.Weeks, api: api, rec: rec, ledger: &ledger{}, free: free, locs: s.locations()}
	if o.warmup > 0 {
		log.Info("warming up", "duration", o.warmup.String())
		warmCfg := o.scenario
		warmCfg.Name = scenarioPolling
		warm := &scenario{cfg: warmCfg, shop: s, weeks: o.shop.Weeks, api: api, rec: newRecorder(time.Now()), ledger: &ledger{}, locs: s.locations()}
		runLoad(ctx, loadConfig{Rate: 0, Concurrency: min(o.load.Concurrency, 8), Duration: o.warmup, MaxActions: maxRunRequests}, time.Now(), warm.next)
	}
	if len(o.replicas) > 0 && o.freshnessSamples > 0 {
		var clients []*apiClient
		for _, u := range o.replicas {
			clients = append(clients, newAPIClient(u, newHTTPClient(4, 5*time.Second)))
		}
		sc.freshness = newFreshnessProbe(clients, o.freshnessEvery, o.freshnessSamples)
	}

	metricsClient := newHTTPClient(2, 5*time.Second)
	before, errs := takeSnapshot(ctx, metricsClient, o.replicaMetrics)
	for _, err := range errs {
		log.Warn("metrics unreadable before the run", "error", err.Error())
	}

	log.Info("load starting", "scenario", o.scenario.Name, "rate", o.load.Rate, "concurrency", o.load.Concurrency,
		"duration", o.load.Duration.String(), "max_requests", o.load.MaxActions, "target", o.target, "run_id", s.RunID)
	start := time.Now()
	rec.start = start
	sideCtx, stopSide := context.WithCancel(ctx)
	var side sync.WaitGroup
	var memory []memorySample
	side.Add(2)
	go func() {
		defer side.Done()
		progress(sideCtx, o.stdout, rec, o.progressEvery)
	}()
	go func() {
		defer side.Done()
		memory = sampleMemory(sideCtx, metricsClient, append(append([]string(nil), o.replicaMetrics...), o.otherMetrics...), start, o.memoryEvery)
	}()
	outcome := runLoad(ctx, o.load, start, sc.next)
	fresh := sc.freshness.result()
	stopSide()
	side.Wait()
	log.Info("load finished", "scheduled", outcome.Scheduled, "dropped", outcome.Dropped, "elapsed", outcome.Elapsed.Round(time.Millisecond).String())

	after, errs := takeSnapshot(context.WithoutCancel(ctx), metricsClient, o.replicaMetrics)
	for _, err := range errs {
		log.Warn("metrics unreadable after the run", "error", err.Error())
	}

	res := &runResult{
		Scenario: o.scenario, Target: o.target, StartedAt: start.UTC(), Seconds: outcome.Elapsed.Seconds(),
		Rate: o.load.Rate, Concurrency: o.load.Concurrency, Schedule: outcome, RunID: s.RunID, Shop: o.shop,
		Machine: describeMachine(), Memory: memory,
	}
	samples := rec.samples()
	res.Total, res.Endpoints = summariseEndpoints(samples, outcome.Elapsed)
	res.Timeline = timeline(samples)
	res.Cache = cacheFrom(before, after)
	res.Drift = drift(o.scenario.Name, samples, memory)
	res.Warnings = warnings(outcome, o)

	verifyCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	res.Verification, err = verify(verifyCtx, pool, s, sc.ledger.all(), fresh)
	if err != nil {
		return nil, err
	}
	if err := writeResults(o.out, res); err != nil {
		return nil, err
	}
	printTable(o.stdout, res)
	fmt.Fprintf(o.stdout, "results: %s.json and %s.html\n", o.out, o.out)
	return res, nil
}

func cacheFrom(before, after snapshot) cacheResult {
	var c cacheResult
	var lag []bucket
	for i := range after {
		if after[i] == nil || i >= len(before) || before[i] == nil {
			continue
		}
		c.Hits += value(after[i], metricCacheHits) - value(before[i], metricCacheHits)
		c.Misses += value(after[i], metricCacheMisses) - value(before[i], metricCacheMisses)
		c.NotModified += value(after[i], metricNotModified) - value(before[i], metricNotModified)
		replicaLag := subtractBuckets(histogram(after[i], metricInvalidationLag), histogram(before[i], metricInvalidationLag))
		c.InvalidationLagP99Replica = append(c.InvalidationLagP99Replica, finite(quantile(0.99, replicaLag)*1000))
		lag = addBuckets(lag, replicaLag)
	}
	if c.Hits+c.Misses > 0 {
		c.HitRatio = c.Hits / (c.Hits + c.Misses)
	}
	if len(lag) > 0 {
		c.InvalidationLagCount = lag[len(lag)-1].Count
	}
	c.InvalidationLagP50MS = finite(quantile(0.50, lag) * 1000)
	c.InvalidationLagP99MS = finite(quantile(0.99, lag) * 1000)
	return c
}

// finite turns NaN, which JSON cannot hold, into -1 for "no observations".
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return -1
	}
	return x
}

func drift(name string, samples []sample, memory []memorySample) *driftResult {
	if name != scenarioSoak || len(samples) < 20 {
		return nil
	}
	last := samples[0].At
	for _, s := range samples {
		last = max(last, s.At)
	}
	tenth := last / 10
	var first, final []time.Duration
	for _, s := range samples {
		switch {
		case s.At < tenth:
			first = append(first, s.Latency)
		case s.At >= last-tenth:
			final = append(final, s.Latency)
		}
	}
	d := &driftResult{FirstP99MS: summarise(first).P99, LastP99MS: summarise(final).P99}
	if len(memory) > 0 {
		// Resident memory of all services together at the first and last readings.
		firstAt, lastAt := memory[0].AtSeconds, memory[len(memory)-1].AtSeconds
		for _, m := range memory {
			if m.AtSeconds == firstAt {
				d.FirstRSS += m.RSSBytes
			}
			if m.AtSeconds == lastAt {
				d.LastRSS += m.RSSBytes
			}
		}
		if d.FirstRSS > 0 {
			d.RSSGrowthPct = (d.LastRSS/d.FirstRSS - 1) * 100
		}
	}
	return d
}

func warnings(outcome loadOutcome, o runOptions) []string {
	var out []string
	if outcome.Dropped > 0 {
		out = append(out, fmt.Sprintf("%d actions were dropped because all %d workers were busy and the queue was full: the client was the limit, so raise -concurrency or lower -rate", outcome.Dropped, o.load.Concurrency))
	}
	if outcome.Scheduled > 0 && float64(outcome.LateStarts)/float64(outcome.Scheduled) > 0.01 {
		out = append(out, fmt.Sprintf("%d actions started more than %s late for want of a free worker; their latency includes the wait", outcome.LateStarts, lateStart))
	}
	return out
}

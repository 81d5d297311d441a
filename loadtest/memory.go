package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// memoryResult is the JSON output of loadtest memory.
type memoryResult struct {
	Target          string      `json:"target"`
	MetricsURL      string      `json:"metrics_url"`
	Date            time.Time   `json:"date"`
	Machine         machineInfo `json:"machine"`
	Locations       int         `json:"locations"`
	DaysPerLocation int         `json:"days_per_location"`
	StaffPerLoc     int         `json:"staff_per_location"`
	Booked          float64     `json:"booked_fraction"`
	LocationDays    int         `json:"location_days"`
	// CachedDays counts the day schedules served from the cache on the second pass over every
	// location-day: the number actually held.
	CachedDays         int     `json:"cached_days"`
	RSSBefore          float64 `json:"rss_before_bytes"`
	RSSAfter           float64 `json:"rss_after_bytes"`
	HeapBefore         float64 `json:"heap_inuse_before_bytes"`
	HeapAfter          float64 `json:"heap_inuse_after_bytes"`
	RSSPerThousand     float64 `json:"rss_per_1000_days_bytes"`
	HeapPerThousand    float64 `json:"heap_inuse_per_1000_days_bytes"`
	FillSeconds        float64 `json:"fill_seconds"`
	SecondPassFailures int     `json:"failed_requests"`
}

// memoryCommand fills one availability-svc replica with location-days and reports how its
// resident memory grew. Run it against a replica that has served nothing else, so the growth
// is the cache's.
func memoryCommand(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("memory", flag.ContinueOnError)
	target := fs.String("target", "http://127.0.0.1:8081/v1", "base URL of one availability-svc replica (not the gateway)")
	metricsURL := fs.String("metrics", "http://127.0.0.1:9081/metrics", "/metrics URL of that replica's admin port")
	databaseURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL of the owner role (default $DATABASE_URL)")
	allowRemote := fs.Bool("allow-remote", false, "allow URLs whose host is not a loopback address")
	locationDays := fs.Int("location-days", 10000, "location-days to cache (at most 100000)")
	daysPerLocation := fs.Int("days-per-location", 50, "days cached per location, from the day after tomorrow (at most 56)")
	staff := fs.Int("staff", 4, "staff per location")
	booked := fs.Float64("booked", 0.4, "fraction of half-hour starts booked")
	out := fs.String("out", "memory.json", "file the JSON result is written to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []string
	for name, u := range map[string]string{"target": *target, "metrics": *metricsURL, "database-url": *databaseURL} {
		if err := checkLoopback(name, u, *allowRemote); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if *locationDays < 1 || *locationDays > 100_000 {
		problems = append(problems, fmt.Sprintf("-location-days %d must be between 1 and 100000", *locationDays))
	}
	if *daysPerLocation < 1 || *daysPerLocation > 56 {
		problems = append(problems, fmt.Sprintf("-days-per-location %d must be between 1 and 56", *daysPerLocation))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}

	// The catalogue and bookings are written with SQL: hundreds of locations and hundreds of
	// thousands of bookings through the API would take longer than the measurement itself.
	locations := (*locationDays + *daysPerLocation - 1) / *daysPerLocation
	cfg := shopConfig{Organisations: 1, Locations: locations, Staff: *staff, Weeks: (*daysPerLocation + 6) / 7,
		Booked: *booked, KeysPerOrg: 8, Catalogue: "sql", Seed: "sql"}
	if err := cfg.validate(); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, *databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer pool.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	s, err := newShop(cfg, rng)
	if err != nil {
		return err
	}
	for _, org := range s.Orgs {
		if err := insertCatalogue(ctx, pool, org, cfg.KeysPerOrg); err != nil {
			return err
		}
	}
	started := time.Now()
	seeded, err := seedBookingsSQL(ctx, pool, s)
	if err != nil {
		return err
	}
	log.Info("shop created", "locations", locations, "bookings", seeded, "took", time.Since(started).Round(time.Millisecond).String())

	m := &memoryMeasure{api: newAPIClient(*target, newHTTPClient(8, 30*time.Second)), shop: s, days: *daysPerLocation,
		metricsURL: *metricsURL, metrics: newHTTPClient(2, 5*time.Second)}
	res, err := m.run(ctx, log)
	if err != nil {
		return err
	}
	res.Target, res.MetricsURL, res.Booked, res.StaffPerLoc = *target, *metricsURL, *booked, *staff

	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Printf("%d location-days cached of %d: resident memory %.1f MiB -> %.1f MiB, %.2f MiB per 1,000 (Go heap in use %.2f MiB per 1,000); %s\n",
		res.CachedDays, res.LocationDays, res.RSSBefore/(1<<20), res.RSSAfter/(1<<20), res.RSSPerThousand/(1<<20),
		res.HeapPerThousand/(1<<20), *out)
	if res.SecondPassFailures > 0 {
		return fmt.Errorf("%d availability requests failed while filling the cache", res.SecondPassFailures)
	}
	return nil
}

type memoryMeasure struct {
	api        *apiClient
	shop       *shop
	days       int
	metricsURL string
	metrics    *http.Client
}

func (m *memoryMeasure) run(ctx context.Context, log *slog.Logger) (memoryResult, error) {
	res := memoryResult{Date: time.Now().UTC(), Machine: describeMachine(), Locations: len(m.shop.locations()),
		DaysPerLocation: m.days, LocationDays: len(m.shop.locations()) * m.days}

	// One request first, so that code, key and catalogue caches are in place before the
	// baseline reading.
	first := m.shop.locations()[0]
	if failed := m.fill(ctx, []*location{first}, 1); failed > 0 {
		return res, errors.New("the first availability request failed; is -target a running availability-svc?")
	}
	time.Sleep(time.Second)
	before, err := scrape(ctx, m.metrics, m.metricsURL)
	if err != nil {
		return res, err
	}
	res.RSSBefore, res.HeapBefore = value(before, metricRSS), value(before, metricHeapInUse)

	started := time.Now()
	res.SecondPassFailures = m.fill(ctx, m.shop.locations(), m.days)
	res.FillSeconds = time.Since(started).Seconds()
	log.Info("cache filled", "location_days", res.LocationDays, "took", time.Since(started).Round(time.Millisecond).String())
	// Ristretto admits entries through buffers; give them a moment before counting.
	time.Sleep(2 * time.Second)

	hitsBefore, err := scrape(ctx, m.metrics, m.metricsURL)
	if err != nil {
		return res, err
	}
	res.SecondPassFailures += m.fill(ctx, m.shop.locations(), m.days)
	after, err := scrape(ctx, m.metrics, m.metricsURL)
	if err != nil {
		return res, err
	}
	res.CachedDays = int(value(after, metricCacheHits) - value(hitsBefore, metricCacheHits))
	res.RSSAfter, res.HeapAfter = value(after, metricRSS), value(after, metricHeapInUse)
	if res.CachedDays > 0 {
		res.RSSPerThousand = (res.RSSAfter - res.RSSBefore) / float64(res.CachedDays) * 1000
		res.HeapPerThousand = (res.HeapAfter - res.HeapBefore) / float64(res.CachedDays) * 1000
	}
	return res, nil
}

// fill requests days of every location, at most 31 days a request, four requests at a time,
// and returns how many requests failed.
func (m *memoryMeasure) fill(ctx context.Context, locs []*location, days int) int {
	type request struct {
		loc  *location
		path string
	}
	var requests []request
	for _, loc := range locs {
		service := loc.Org.Services[0].ID.String()
		for offset := 0; offset < days; offset += 31 {
			q := url.Values{}
			q.Set("service_ids", service)
			q.Set("date", loc.firstDay().AddDate(0, 0, offset).Format(time.DateOnly))
			q.Set("days", strconv.Itoa(min(31, days-offset)))
			requests = append(requests, request{loc, "/locations/" + loc.Slug + "/availability?" + q.Encode()})
		}
	}

	jobs := make(chan request)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				resp := m.api.do(ctx, http.MethodGet, r.path, r.loc.Org.Keys[rand.IntN(len(r.loc.Org.Keys))], nil)
				if resp.Err != nil || resp.Status != http.StatusOK {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range requests {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	return failures
}

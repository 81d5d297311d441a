// Package cache keeps day schedules per (location, local date) in ristretto in front of the
// PostgreSQL reader, and evicts them when booking-svc reports a change.
//
// Four pitfalls are guarded, each with a test:
//   - a fill that read old rows and lands after the eviction: every entry carries the
//     generations it was read under, and any eviction bumps one of them, so such an entry is
//     never served;
//   - notifications lost while the LISTEN connection was down: the cache is purged when it
//     reconnects, and nothing is cached while it is down;
//   - a stampede of misses for one key: concurrent fills are coalesced;
//   - anything missed all the same: every entry has a jittered safety TTL.
package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// Result is a read of consecutive day schedules.
type Result struct {
	Days []slots.DaySchedule
	// Stale is set when at least one day came from the cache while its freshness could not be
	// confirmed, because the LISTEN connection was down and PostgreSQL could not be read.
	Stale bool
}

// Reader reads day schedules. The cache and the database reader both implement it, so they can
// be tested and benchmarked side by side.
type Reader interface {
	Read(ctx context.Context, loc *schedule.Location, dates []slots.Date) (Result, error)
}

// DBReader reads straight from PostgreSQL.
type DBReader struct {
	DB schedule.Querier
}

// Read loads the dates from the database.
func (r DBReader) Read(ctx context.Context, loc *schedule.Location, dates []slots.Date) (Result, error) {
	days, err := schedule.LoadDays(ctx, r.DB, loc, dates)
	return Result{Days: days}, err
}

// Config sizes the cache.
type Config struct {
	// MaxCost bounds the cache's estimated memory in bytes.
	MaxCost int64
	// TTL is the safety lifetime of an entry; each entry gets TTL ± 20 %.
	TTL time.Duration
}

// Metrics receives the cache's events; nil methods are not allowed, use NopMetrics.
type Metrics interface {
	Hit()
	Miss()
	Fill(d time.Duration, err error)
	Coalesced()
	Stale()
	Evicted(n int)
}

// NopMetrics ignores every event.
type NopMetrics struct{}

func (NopMetrics) Hit()                      {}
func (NopMetrics) Miss()                     {}
func (NopMetrics) Fill(time.Duration, error) {}
func (NopMetrics) Coalesced()                {}
func (NopMetrics) Stale()                    {}
func (NopMetrics) Evicted(int)               {}

const stripes = 4096

// fillTimeout bounds one database read of a day.
const fillTimeout = 5 * time.Second

type entry struct {
	day  slots.DaySchedule
	gens generations
}

// generations is the state of the three counters an entry was read under.
type generations struct {
	global, location, key uint64
}

// Cache is a Reader that serves day schedules from memory.
type Cache struct {
	next    Reader
	store   *ristretto.Cache[string, *entry]
	ttl     time.Duration
	metrics Metrics
	group   singleflight.Group

	global    atomic.Uint64
	locations [stripes]atomic.Uint64
	keys      [stripes]atomic.Uint64
	// listening is true while the LISTEN connection is up; only then are fills kept.
	listening atomic.Bool
}

// New returns a cache in front of next. It caches nothing until SetListening(true).
func New(next Reader, cfg Config, metrics Metrics) (*Cache, error) {
	if cfg.MaxCost <= 0 {
		return nil, fmt.Errorf("cache max cost must be positive, got %d", cfg.MaxCost)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if metrics == nil {
		metrics = NopMetrics{}
	}
	store, err := ristretto.NewCache(&ristretto.Config[string, *entry]{
		// About one counter per 200 bytes of budget: ten times the entries expected when full.
		NumCounters: max(cfg.MaxCost/200, 1000),
		MaxCost:     cfg.MaxCost,
		BufferItems: 64,
		Metrics:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("create ristretto cache: %w", err)
	}
	return &Cache{next: next, store: store, ttl: cfg.TTL, metrics: metrics}, nil
}

// Close stops ristretto's goroutines.
func (c *Cache) Close() { c.store.Close() }

// Stats returns ristretto's counters for the metrics endpoint.
func (c *Cache) Stats() *ristretto.Metrics { return c.store.Metrics }

// SetListening records the LISTEN connection's state. Coming up purges everything, because
// notifications sent while it was down are lost.
func (c *Cache) SetListening(up bool) {
	if up {
		c.Purge()
	}
	c.listening.Store(up)
}

// Listening reports whether the LISTEN connection is up.
func (c *Cache) Listening() bool { return c.listening.Load() }

// Purge drops every entry.
func (c *Cache) Purge() {
	c.global.Add(1)
	c.store.Clear()
}

// EvictDates drops the listed dates of a location.
func (c *Cache) EvictDates(locationID uuid.UUID, dates []slots.Date) {
	for _, d := range dates {
		key := cacheKey(locationID, d)
		c.keys[stripe(key)].Add(1)
		c.store.Del(key)
	}
	c.metrics.Evicted(len(dates))
}

// EvictLocation makes every date of a location stale.
func (c *Cache) EvictLocation(locationID uuid.UUID) {
	c.locations[stripe(locationID.String())].Add(1)
	c.metrics.Evicted(1)
}

func cacheKey(locationID uuid.UUID, d slots.Date) string {
	return locationID.String() + "/" + d.String()
}

// stripeSeed spreads keys over the generation stripes.
var stripeSeed = maphash.MakeSeed()

// stripe picks the generation counter of a key. Keys that share a stripe share evictions, which
// costs a few extra misses and never serves a stale entry.
func stripe(key string) int {
	return int(maphash.String(stripeSeed, key) % stripes)
}

func (c *Cache) current(locationID uuid.UUID, key string) generations {
	return generations{
		global:   c.global.Load(),
		location: c.locations[stripe(locationID.String())].Load(),
		key:      c.keys[stripe(key)].Load(),
	}
}

// Read returns the dates from memory where a current entry exists and fills the rest.
func (c *Cache) Read(ctx context.Context, loc *schedule.Location, dates []slots.Date) (Result, error) {
	res := Result{Days: make([]slots.DaySchedule, len(dates))}
	listening := c.listening.Load()

	for i, d := range dates {
		key := cacheKey(loc.ID, d)
		gens := c.current(loc.ID, key)
		cached, found := c.store.Get(key)
		if found && cached.gens == gens && listening {
			c.metrics.Hit()
			res.Days[i] = cached.day
			continue
		}
		c.metrics.Miss()

		day, err := c.fill(ctx, loc, d, key, gens, listening)
		if err != nil {
			// Without LISTEN the entry may be out of date, but it is better than nothing
			// while the database is unreachable; the answer says it is stale.
			if found && cached.gens == gens && !listening {
				c.metrics.Stale()
				res.Days[i] = cached.day
				res.Stale = true
				continue
			}
			return Result{}, err
		}
		res.Days[i] = day
	}
	return res, nil
}

// fill reads one date, coalescing concurrent reads of the same key under the same generations.
func (c *Cache) fill(ctx context.Context, loc *schedule.Location, d slots.Date, key string, gens generations, listening bool) (slots.DaySchedule, error) {
	flightKey := fmt.Sprintf("%s/%d/%d/%d", key, gens.global, gens.location, gens.key)
	v, err, shared := c.group.Do(flightKey, func() (any, error) {
		// The fill serves every caller waiting on it, so one caller giving up must not cancel it.
		fillCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fillTimeout)
		defer cancel()
		start := time.Now()
		res, err := c.next.Read(fillCtx, loc, []slots.Date{d})
		c.metrics.Fill(time.Since(start), err)
		if err != nil {
			return nil, err
		}
		day := res.Days[0]
		// An eviction that raced this read bumped a generation, so the entry would never be
		// served; skip storing it at all.
		if listening && c.listening.Load() && c.current(loc.ID, key) == gens {
			c.store.SetWithTTL(key, &entry{day: day, gens: gens}, costOf(&day), c.jitteredTTL())
		}
		return day, nil
	})
	if shared {
		c.metrics.Coalesced()
	}
	if err != nil {
		return slots.DaySchedule{}, err
	}
	return v.(slots.DaySchedule), nil
}

func (c *Cache) jitteredTTL() time.Duration {
	spread := int64(c.ttl) * 2 / 5
	return c.ttl - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

// costOf estimates an entry's memory in bytes from its slices. The plain sum of slice sizes was
// about 3.5 times below the resident memory measured with 10,000 cached location-days
// (`loadtest memory`, docs/benchmarks.md), because of map buckets, allocator rounding and
// garbage between collections. The sum is scaled by that measured factor.
func costOf(d *slots.DaySchedule) int64 {
	cost := int64(256 + 16*len(d.Opening.Windows))
	for _, s := range d.Staff {
		cost += 160 + int64(len(s.Services))*48 + int64(len(s.Hours.Windows)+len(s.Hours.Breaks))*16 +
			int64(len(s.TimeOff))*48 + int64(len(s.Busy))*72
	}
	return cost * 7 / 2
}

// Wait blocks until pending writes are applied; tests use it.
func (c *Cache) Wait() { c.store.Wait() }

// Version returns a number that grows whenever any of the dates of the location is evicted or
// the cache is purged, for caching answers computed from those dates. ok is false while the
// LISTEN connection is down, when nothing derived from the cache may be kept.
func (c *Cache) Version(locationID uuid.UUID, dates []slots.Date) (version uint64, ok bool) {
	if !c.listening.Load() {
		return 0, false
	}
	// Every counter only grows, so their sum grows whenever any one does.
	version = c.global.Load() + c.locations[stripe(locationID.String())].Load()
	for _, d := range dates {
		version += c.keys[stripe(cacheKey(locationID, d))].Load()
	}
	return version, true
}

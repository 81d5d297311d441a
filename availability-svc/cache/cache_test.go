package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// shop is a one-location, one-staff schedule in a fresh database.
type shop struct {
	pool    *pgxpool.Pool
	loc     *schedule.Location
	staffID uuid.UUID
	date    slots.Date
}

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	org, locID, staffID, serviceID := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Cache test', 'test')`, []any{org}},
		{`INSERT INTO locations (id, organisation_id, slug, name, time_zone) VALUES ($1, $2, 'cache', 'Cache', 'Europe/London')`, []any{locID, org}},
		{`INSERT INTO services (id, organisation_id, name, duration_minutes) VALUES ($1, $2, 'Cut', 30)`, []any{serviceID, org}},
		{`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Sam')`, []any{staffID, org}},
		{`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`, []any{org, staffID, serviceID, locID}},
		{`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
			SELECT $1, $2, d, 'work', 540, 1020 FROM generate_series(0, 6) d`, []any{staffID, locID}},
	} {
		if _, err := pool.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	loc, err := schedule.LocationByID(ctx, pool, org, locID)
	if err != nil {
		t.Fatal(err)
	}
	return &shop{pool: pool, loc: loc, staffID: staffID, date: slots.Date{Year: 2030, Month: time.June, Day: 4}}
}

// book inserts a booking at 10:00 on the shop's date straight into the database, as if another
// process had committed it without any notification reaching the cache.
func (s *shop) book(t *testing.T) {
	t.Helper()
	start := s.date.At(600, s.loc.Zone)
	_, err := s.pool.Exec(context.Background(), `INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status,
			starts_at, ends_at, blocked)
		VALUES ($1, 'SET-'||upper(substr(md5(random()::text), 1, 6)), $2, $3, 'confirmed', $4, $5, tstzrange($4, $5))`,
		s.loc.OrganisationID, s.loc.ID, s.staffID, start, start.Add(30*time.Minute))
	if err != nil {
		t.Fatalf("insert booking: %v", err)
	}
}

func busyCount(t *testing.T, res Result) int {
	t.Helper()
	if len(res.Days) != 1 || len(res.Days[0].Staff) != 1 {
		t.Fatalf("read %d days with %v", len(res.Days), res.Days)
	}
	return len(res.Days[0].Staff[0].Busy)
}

// hookedReader reads PostgreSQL, then calls afterRead (if set) before returning.
type hookedReader struct {
	next      Reader
	reads     atomic.Int32
	afterRead func()
	fail      atomic.Bool
}

func (h *hookedReader) Read(ctx context.Context, loc *schedule.Location, dates []slots.Date) (Result, error) {
	h.reads.Add(1)
	if h.fail.Load() {
		return Result{}, errors.New("dial tcp 127.0.0.1:5432: connection refused")
	}
	res, err := h.next.Read(ctx, loc, dates)
	if h.afterRead != nil {
		h.afterRead()
	}
	return res, err
}

func newCache(t *testing.T, next Reader, ttl time.Duration) *Cache {
	t.Helper()
	c, err := New(next, Config{MaxCost: 1 << 20, TTL: ttl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.SetListening(true)
	return c
}

func (c *Cache) read(t *testing.T, s *shop) Result {
	t.Helper()
	res, err := c.Read(context.Background(), s.loc, []slots.Date{s.date})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	c.Wait()
	return res
}

func TestCacheServesRepeatReadsFromMemory(t *testing.T) {
	s := newShop(t)
	inner := &hookedReader{next: DBReader{DB: s.pool}}
	c := newCache(t, inner, time.Hour)

	c.read(t, s)
	c.read(t, s)
	if n := inner.reads.Load(); n != 1 {
		t.Errorf("database reads = %d, want 1", n)
	}
}

// TestFillThatReadOldRowsIsNotServed: a fill reads the day, a booking commits and its eviction
// arrives, and only then does the fill land. The generation guard keeps the old day out.
func TestFillThatReadOldRowsIsNotServed(t *testing.T) {
	s := newShop(t)
	inner := &hookedReader{next: DBReader{DB: s.pool}}
	c := newCache(t, inner, time.Hour)

	read, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	inner.afterRead = func() {
		once.Do(func() {
			close(read)
			<-release
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Read(context.Background(), s.loc, []slots.Date{s.date})
	}()

	<-read
	s.book(t)
	c.EvictDates(s.loc.ID, []slots.Date{s.date})
	close(release)
	<-done
	c.Wait()

	if got := busyCount(t, c.read(t, s)); got != 1 {
		t.Errorf("bookings seen after the eviction = %d, want 1: the late fill was served", got)
	}
}

// TestReconnectPurgesEverything: notifications sent while LISTEN was down are lost, so coming
// back up must drop every entry.
func TestReconnectPurgesEverything(t *testing.T) {
	s := newShop(t)
	c := newCache(t, DBReader{DB: s.pool}, time.Hour)

	if got := busyCount(t, c.read(t, s)); got != 0 {
		t.Fatalf("bookings before = %d, want 0", got)
	}
	c.SetListening(false)
	s.book(t) // its notification is lost
	c.SetListening(true)

	if got := busyCount(t, c.read(t, s)); got != 1 {
		t.Errorf("bookings after reconnect = %d, want 1", got)
	}
}

// TestNothingIsCachedWhileListenIsDown: with no notifications arriving, every read goes to
// the database.
func TestNothingIsCachedWhileListenIsDown(t *testing.T) {
	s := newShop(t)
	inner := &hookedReader{next: DBReader{DB: s.pool}}
	c := newCache(t, inner, time.Hour)
	c.SetListening(false)

	c.read(t, s)
	s.book(t)
	if got := busyCount(t, c.read(t, s)); got != 1 {
		t.Errorf("bookings seen = %d, want 1", got)
	}
	if n := inner.reads.Load(); n != 2 {
		t.Errorf("database reads = %d, want 2", n)
	}
}

// TestConcurrentMissesCoalesce: a stampede of readers for one cold key costs one fill.
func TestConcurrentMissesCoalesce(t *testing.T) {
	s := newShop(t)
	inner := &hookedReader{next: DBReader{DB: s.pool}}
	release := make(chan struct{})
	inner.afterRead = func() { <-release }
	c := newCache(t, inner, time.Hour)

	const readers = 20
	var started, finished sync.WaitGroup
	started.Add(readers)
	finished.Add(readers)
	for range readers {
		go func() {
			defer finished.Done()
			started.Done()
			_, _ = c.Read(context.Background(), s.loc, []slots.Date{s.date})
		}()
	}
	started.Wait()
	time.Sleep(200 * time.Millisecond) // let every reader reach the fill
	close(release)
	finished.Wait()

	if n := inner.reads.Load(); n != 1 {
		t.Errorf("database reads for %d concurrent misses = %d, want 1", readers, n)
	}
}

// TestSafetyTTLExpiresEntries: an entry whose eviction never came still goes after the TTL.
func TestSafetyTTLExpiresEntries(t *testing.T) {
	s := newShop(t)
	const ttl = time.Second
	c := newCache(t, DBReader{DB: s.pool}, ttl)

	filled := time.Now()
	c.read(t, s)
	s.book(t) // no eviction
	got := busyCount(t, c.read(t, s))
	// The jitter may shorten the TTL to 80 %; a machine slow enough to pass that has nothing to check.
	if time.Since(filled) < ttl*8/10 && got != 0 {
		t.Fatalf("bookings seen before the TTL = %d, want the cached 0", got)
	}
	time.Sleep(time.Until(filled.Add(ttl * 13 / 10))) // past the TTL plus its 20 % jitter
	if got := busyCount(t, c.read(t, s)); got != 1 {
		t.Errorf("bookings seen after the TTL = %d, want 1", got)
	}
}

func TestJitteredTTLStaysWithinTwentyPercent(t *testing.T) {
	c := &Cache{ttl: 10 * time.Minute}
	for range 1000 {
		ttl := c.jitteredTTL()
		if ttl < 8*time.Minute || ttl > 12*time.Minute {
			t.Fatalf("jittered TTL %s is outside 8m to 12m", ttl)
		}
	}
}

// TestCachedDayServedStaleWhenDatabaseIsDown: with LISTEN down and PostgreSQL unreachable, a
// cached day is still served and marked stale, and an uncached day fails.
func TestCachedDayServedStaleWhenDatabaseIsDown(t *testing.T) {
	s := newShop(t)
	inner := &hookedReader{next: DBReader{DB: s.pool}}
	c := newCache(t, inner, time.Hour)

	c.read(t, s)
	c.SetListening(false)
	inner.fail.Store(true)

	res, err := c.Read(context.Background(), s.loc, []slots.Date{s.date})
	if err != nil {
		t.Fatalf("read of a cached day with the database down: %v", err)
	}
	if !res.Stale {
		t.Error("answer is not marked stale")
	}
	if _, err := c.Read(context.Background(), s.loc, []slots.Date{s.date.AddDays(1)}); err == nil {
		t.Error("read of an uncached day with the database down succeeded")
	}
}

func TestEvictLocationDropsEveryDate(t *testing.T) {
	s := newShop(t)
	c := newCache(t, DBReader{DB: s.pool}, time.Hour)

	c.read(t, s)
	s.book(t)
	c.EvictLocation(s.loc.ID)
	if got := busyCount(t, c.read(t, s)); got != 1 {
		t.Errorf("bookings seen after evicting the location = %d, want 1", got)
	}
}

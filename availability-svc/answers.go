package main

import (
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// versioner is implemented by the day cache: a version of the dates it holds, which changes on
// every eviction that touches them.
type versioner interface {
	Version(locationID uuid.UUID, dates []slots.Date) (uint64, bool)
}

// answerTTL bounds how long a rendered response is reused when no change notification arrives.
const answerTTL = time.Minute

// answers keeps rendered availability answers, so that a poller repeating a request pays for
// the lookup and the write but not for the engine, the rendering and the hash. An answer is
// reused only while the days it was computed from keep their cache version and while the
// organisation's clock stays inside the span in which the same answer would be computed.
type answers struct {
	store *ristretto.Cache[string, *answer]
}

type answer struct {
	body    []byte
	etag    string
	version uint64
	// The response is valid for a clock reading in [from, until).
	from, until time.Time
}

func newAnswers(maxBytes int64) (*answers, error) {
	store, err := ristretto.NewCache(&ristretto.Config[string, *answer]{
		NumCounters: max(maxBytes/3000, 1000), // about ten per answer of 30 KB
		MaxCost:     maxBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &answers{store: store}, nil
}

func (a *answers) close() { a.store.Close() }

// answerKey names a request: everything in it that shapes the answer. The organisation is
// implied by the location.
func answerKey(locationID uuid.UUID, rawQuery string) string {
	return locationID.String() + "?" + rawQuery
}

func (a *answers) get(key string, version uint64, now time.Time) (*answer, bool) {
	got, ok := a.store.Get(key)
	if !ok || got.version != version || now.Before(got.from) || !now.Before(got.until) {
		return nil, false
	}
	return got, true
}

func (a *answers) put(key string, ans *answer) {
	a.store.SetWithTTL(key, ans, int64(len(ans.body)+len(key)+128), answerTTL)
}

// answerValidUntil returns the first instant at which the same request could get a different
// response with no change to the data. That is when the earliest listed slot falls inside the
// minimum notice, when a hold lapses, or when a new local day extends the booking window.
func answerValidUntil(now time.Time, loc *schedule.Location, days []slots.DaySchedule, found []slots.Slot) time.Time {
	until := now.Add(answerTTL)
	if len(found) > 0 {
		until = earlier(until, found[0].Start.Add(-time.Duration(loc.MinNoticeMinutes)*time.Minute))
	}
	local := now.In(loc.Zone)
	until = earlier(until, time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc.Zone))
	for i := range days {
		for j := range days[i].Staff {
			for _, busy := range days[i].Staff[j].Busy {
				if !busy.HoldExpiresAt.IsZero() && busy.HoldExpiresAt.After(now) {
					until = earlier(until, busy.HoldExpiresAt)
				}
			}
		}
	}
	return until
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

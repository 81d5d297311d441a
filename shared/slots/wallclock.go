package slots

import (
	"math"
	"time"
)

const (
	secondsPerMinute = 60
	secondsPerDay    = 24 * 60 * secondsPerMinute
)

// offsetAt returns the UTC offset in seconds that tz has at the Unix time sec.
func offsetAt(sec int64, tz *time.Location) int64 {
	_, offset := time.Unix(sec, 0).In(tz).Zone()
	return int64(offset)
}

// resolveWall returns the Unix time at which the wall clock in tz reads wall, given as
// wall-clock seconds (the Unix time of the same reading in UTC). It applies the rules that
// Date.At documents: a reading inside a spring-forward gap resolves to the instant of the change,
// and a reading in a repeated fall-back hour to its first occurrence.
//
// time.Date does not say which offset it uses inside a gap, so the rule is implemented here. The
// reading exists at instant wall - offset only when that offset is in force at that instant. The
// offsets in force a day before and a day after are the only candidates, because every UTC
// offset in use is less than a day. NOTE: this assumes at most one offset change within a day of wall. A zone
// with two changes that close together may resolve to the wrong instant, and nothing checks for it.
func resolveWall(wall int64, tz *time.Location) int64 {
	offsetBefore := offsetAt(wall-secondsPerDay, tz)
	offsetAfter := offsetAt(wall+secondsPerDay, tz)

	first, found := int64(math.MaxInt64), false
	for _, offset := range [2]int64{offsetBefore, offsetAfter} {
		instant := wall - offset
		if offsetAt(instant, tz) == offset && instant < first {
			first, found = instant, true
		}
	}
	if found {
		return first
	}

	// The reading falls in a gap: the clocks jumped from offsetBefore to a larger offsetAfter
	// somewhere in (low, high]. The change is the first instant whose reading is past wall.
	low, high := wall-offsetAfter, wall-offsetBefore
	if low >= high {
		return high // two changes within a day, which the NOTE above excludes
	}
	for high-low > 1 {
		middle := low + (high-low)/2
		if middle+offsetAt(middle, tz) > wall {
			high = middle
		} else {
			low = middle
		}
	}
	return high
}

// zoneSpan caches one period of constant UTC offset in a zone, so that wall times inside it
// resolve with one subtraction instead of several zone lookups.
type zoneSpan struct {
	tz     *time.Location
	offset int64 // seconds east of UTC
	// from and to bound the instants [from, to) that wall - offset may return directly. from
	// starts after any wall time that the preceding period also shows, so the first occurrence
	// rule holds.
	from, to int64
}

// newZoneSpan returns the period of constant offset in tz that contains the Unix time probe.
func newZoneSpan(tz *time.Location, probe int64) zoneSpan {
	t := time.Unix(probe, 0).In(tz)
	_, offset := t.Zone()
	start, end := t.ZoneBounds()

	span := zoneSpan{tz: tz, offset: int64(offset), from: math.MinInt64, to: math.MaxInt64}
	if !start.IsZero() {
		previous := offsetAt(start.Unix()-1, tz)
		span.from = start.Unix() + max(0, previous-span.offset)
	}
	if !end.IsZero() {
		span.to = end.Unix()
	}
	return span
}

// resolve returns the Unix time of the wall-clock seconds wall, like resolveWall.
func (z *zoneSpan) resolve(wall int64) int64 {
	if instant := wall - z.offset; instant >= z.from && instant < z.to {
		return instant
	}
	return resolveWall(wall, z.tz)
}

// covers reports whether every wall time in [wallFrom, wallTo) resolves inside the span.
func (z *zoneSpan) covers(wallFrom, wallTo int64) bool {
	return z.tz != nil && wallFrom-z.offset >= z.from && wallTo-z.offset <= z.to
}

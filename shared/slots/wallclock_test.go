package slots

import (
	"testing"
	"time"
)

func TestDateAt(t *testing.T) {
	tests := []struct {
		name   string
		tz     *time.Location
		day    Date
		minute int
		want   string
	}{
		{name: "London before the gap", tz: london, day: date(2026, time.March, 29), minute: hm(0, 30), want: "2026-03-29T00:30:00Z"},
		{name: "London gap start", tz: london, day: date(2026, time.March, 29), minute: hm(1, 0), want: "2026-03-29T02:00:00+01:00"},
		{name: "London inside the gap", tz: london, day: date(2026, time.March, 29), minute: hm(1, 30), want: "2026-03-29T02:00:00+01:00"},
		{name: "London gap end", tz: london, day: date(2026, time.March, 29), minute: hm(2, 0), want: "2026-03-29T02:00:00+01:00"},
		{name: "London after the gap", tz: london, day: date(2026, time.March, 29), minute: hm(2, 1), want: "2026-03-29T02:01:00+01:00"},
		{name: "London repeated hour start", tz: london, day: date(2026, time.October, 25), minute: hm(1, 0), want: "2026-10-25T01:00:00+01:00"},
		{name: "London inside the repeated hour", tz: london, day: date(2026, time.October, 25), minute: hm(1, 59), want: "2026-10-25T01:59:00+01:00"},
		{name: "London after the repeated hour", tz: london, day: date(2026, time.October, 25), minute: hm(2, 0), want: "2026-10-25T02:00:00Z"},
		{name: "London minute 1500 rolls over", tz: london, day: date(2026, time.June, 10), minute: 1500, want: "2026-06-11T01:00:00+01:00"},
		{name: "London minute 1440 is next midnight", tz: london, day: date(2026, time.December, 31), minute: 1440, want: "2027-01-01T00:00:00Z"},
		{name: "London negative minute", tz: london, day: date(2026, time.June, 10), minute: -60, want: "2026-06-09T23:00:00+01:00"},
		{name: "London rollover into the gap", tz: london, day: date(2026, time.March, 28), minute: 1440 + hm(1, 15), want: "2026-03-29T02:00:00+01:00"},
		{name: "New York inside the gap", tz: newYork, day: date(2026, time.March, 8), minute: hm(2, 30), want: "2026-03-08T03:00:00-04:00"},
		{name: "New York repeated hour", tz: newYork, day: date(2026, time.November, 1), minute: hm(1, 30), want: "2026-11-01T01:30:00-04:00"},
		{name: "New York after the repeated hour", tz: newYork, day: date(2026, time.November, 1), minute: hm(2, 0), want: "2026-11-01T02:00:00-05:00"},
		{name: "Lord Howe inside the half-hour gap", tz: lordHowe, day: date(2026, time.October, 4), minute: hm(2, 15), want: "2026-10-04T02:30:00+11:00"},
		{name: "Lord Howe half-hour gap start", tz: lordHowe, day: date(2026, time.October, 4), minute: hm(2, 0), want: "2026-10-04T02:30:00+11:00"},
		{name: "Lord Howe repeated half hour", tz: lordHowe, day: date(2026, time.April, 5), minute: hm(1, 45), want: "2026-04-05T01:45:00+11:00"},
		{name: "Lord Howe after the repeated half hour", tz: lordHowe, day: date(2026, time.April, 5), minute: hm(2, 0), want: "2026-04-05T02:00:00+10:30"},
		{name: "Tokyo has no DST", tz: tokyo, day: date(2026, time.March, 29), minute: hm(1, 30), want: "2026-03-29T01:30:00+09:00"},
		{name: "Kolkata half-hour offset", tz: kolkata, day: date(2026, time.June, 10), minute: hm(9, 0), want: "2026-06-10T09:00:00+05:30"},
		{name: "nil zone is UTC", tz: nil, day: date(2026, time.June, 10), minute: hm(9, 0), want: "2026-06-10T09:00:00Z"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.day.At(tt.minute, tt.tz)
			if got.Format(time.RFC3339) != tt.want {
				t.Errorf("%v.At(%d) = %s, want %s", tt.day, tt.minute, got.Format(time.RFC3339), tt.want)
			}
			if want := instant(t, tt.want); !got.Equal(want) {
				t.Errorf("%v.At(%d) is instant %v, want %v", tt.day, tt.minute, got.UTC(), want.UTC())
			}
		})
	}
}

// TestZoneSpanMatchesResolveWall checks the cached fast path against the full resolution for
// every minute of days around each change of offset, built the way Find builds them.
func TestZoneSpanMatchesResolveWall(t *testing.T) {
	tests := []struct {
		name string
		tz   *time.Location
		day  Date
	}{
		{name: "London spring", tz: london, day: date(2026, time.March, 29)},
		{name: "London autumn", tz: london, day: date(2026, time.October, 25)},
		{name: "New York spring", tz: newYork, day: date(2026, time.March, 8)},
		{name: "New York autumn", tz: newYork, day: date(2026, time.November, 1)},
		{name: "Lord Howe spring", tz: lordHowe, day: date(2026, time.October, 4)},
		{name: "Lord Howe autumn", tz: lordHowe, day: date(2026, time.April, 5)},
		{name: "Tokyo", tz: tokyo, day: date(2026, time.March, 29)},
		{name: "UTC", tz: time.UTC, day: date(2026, time.March, 29)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cache ruleCache
			for offset := -3; offset <= 3; offset++ {
				schedule := DaySchedule{Date: tt.day.AddDays(offset), Rules: Rules{TimeZone: tt.tz}}
				ctx := cache.context(&schedule, longBefore)
				for minute := 0; minute <= 2*minutesPerDay; minute++ {
					wall := ctx.midnight + int64(minute)*secondsPerMinute
					if got, want := ctx.zone.resolve(wall), resolveWall(wall, tt.tz); got != want {
						t.Fatalf("%v minute %d: cached resolve gives %v, want %v",
							schedule.Date, minute, time.Unix(got, 0).In(tt.tz), time.Unix(want, 0).In(tt.tz))
					}
				}
			}
		})
	}
}

// TestResolveWallMatchesTimeDate checks that every wall time that occurs exactly once resolves
// to the instant time.Date gives it, over two years of 13-minute steps.
func TestResolveWallMatchesTimeDate(t *testing.T) {
	for _, tz := range []*time.Location{london, newYork, lordHowe, tokyo, kolkata} {
		t.Run(tz.String(), func(t *testing.T) {
			base := date(2026, time.January, 1)
			for minute := 0; minute < 2*365*minutesPerDay; minute += 13 {
				wall := base.wallMidnight() + int64(minute)*secondsPerMinute
				fields := time.Unix(wall, 0).UTC()
				viaDate := time.Date(fields.Year(), fields.Month(), fields.Day(), fields.Hour(), fields.Minute(), 0, 0, tz)
				nearChange := offsetAt(wall-secondsPerDay, tz) != offsetAt(wall+secondsPerDay, tz)
				if !sameWallTime(viaDate, fields) || (nearChange && occursTwice(wall, tz)) {
					continue // a gap or a repeated time, where time.Date picks either offset
				}
				if got := resolveWall(wall, tz); got != viaDate.Unix() {
					t.Fatalf("wall time %s resolves to %v, want %v", fields.Format("2006-01-02 15:04"),
						time.Unix(got, 0).In(tz), viaDate)
				}
			}
		})
	}
}

func sameWallTime(t time.Time, wall time.Time) bool {
	return t.Year() == wall.Year() && t.YearDay() == wall.YearDay() && t.Hour() == wall.Hour() && t.Minute() == wall.Minute()
}

// occursTwice reports whether the wall clock in tz shows the wall-clock seconds wall at two
// instants, checking every offset within three hours of the one in force.
func occursTwice(wall int64, tz *time.Location) bool {
	count := 0
	for shift := int64(-3 * 60); shift <= 3*60; shift += 15 {
		offset := offsetAt(wall, tz) + shift*secondsPerMinute
		if offsetAt(wall-offset, tz) == offset {
			count++
		}
	}
	return count > 1
}

package slots

import (
	"fmt"
	"time"
)

// MinYear and MaxYear bound the dates that ParseDate accepts. The upper bound leaves room to add
// a booking window of up to 31 days without leaving the four-digit range.
const (
	MinYear = 1
	MaxYear = 9998
)

// ParseDate parses s as a calendar date in the strict form YYYY-MM-DD, with a four-digit year
// from 0001 to 9998 and a two-digit month and day. It rejects dates that do not exist, such as
// 2027-02-29 or 2026-04-31, instead of normalising them, so a parsed date always formats back to
// s. The error message names s and the expected form.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q is not in YYYY-MM-DD format", s)
	}

	year, yearOK := parseDigits(s[0:4])
	month, monthOK := parseDigits(s[5:7])
	day, dayOK := parseDigits(s[8:10])
	if !yearOK || !monthOK || !dayOK {
		return Date{}, fmt.Errorf("date %q is not in YYYY-MM-DD format", s)
	}

	if year < MinYear || year > MaxYear {
		return Date{}, fmt.Errorf("date %q is out of range; use a year from %04d to %04d", s, MinYear, MaxYear)
	}
	if month < 1 || month > 12 || day < 1 || day > daysInMonth(year, time.Month(month)) {
		return Date{}, fmt.Errorf("date %q is not a valid calendar date; use YYYY-MM-DD", s)
	}

	return Date{Year: year, Month: time.Month(month), Day: day}, nil
}

// parseDigits parses s as a non-negative decimal number made of ASCII digits only, so signs,
// spaces and an empty string are rejected.
func parseDigits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysInMonth(year int, month time.Month) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

// DateOf returns the local calendar date of t in tz. A nil tz means UTC.
func DateOf(t time.Time, tz *time.Location) Date {
	year, month, day := t.In(zoneOrUTC(tz)).Date()
	return Date{Year: year, Month: month, Day: day}
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// AddDays returns the date n days after d, or before it when n is negative. d must be a valid
// date.
func (d Date) AddDays(n int) Date {
	year, month, day := time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC).Date()
	return Date{Year: year, Month: month, Day: day}
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
}

// Compare returns -1 if d is before e, 0 if they are the same date and +1 if d is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return compareInts(d.Year, e.Year)
	case d.Month != e.Month:
		return compareInts(int(d.Month), int(e.Month))
	default:
		return compareInts(d.Day, e.Day)
	}
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	default:
		return 0
	}
}

// At returns the instant at which the wall clock in tz shows minute minutes past local midnight
// of d. Minutes of 1440 or more roll into the following dates and negative minutes into the
// preceding ones, counted on the wall clock, so 1500 is 01:00 on the next date.
//
// A wall time that the clocks skip when they spring forward resolves to the instant of the
// change, so every wall time in the gap maps to the same instant. A wall time that occurs twice
// when the clocks fall back resolves to its first occurrence. A nil tz means UTC.
func (d Date) At(minute int, tz *time.Location) time.Time {
	tz = zoneOrUTC(tz)
	wall := d.wallMidnight() + int64(minute)*secondsPerMinute
	return time.Unix(resolveWall(wall, tz), 0).In(tz)
}

// wallMidnight returns local midnight of d as wall-clock seconds, that is, the Unix time that
// the same year, month, day and clock reading would have in UTC.
func (d Date) wallMidnight() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()
}

func zoneOrUTC(tz *time.Location) *time.Location {
	if tz == nil {
		return time.UTC
	}
	return tz
}

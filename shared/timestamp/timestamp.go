// Package timestamp parses the RFC 3339 instants that requests carry in body fields and query
// parameters. A rejected value gets a message that names the actual problem: a missing value, a
// date that is not on the calendar, an impossible time of day, a missing or out-of-range offset,
// or text that is not a timestamp at all.
package timestamp

import (
	"fmt"
	"time"
)

// Example is the form every message suggests: a London summer morning with its offset.
const Example = "2026-05-12T09:00:00+01:00"

// Parse parses raw, the value of the field or query parameter name, as an RFC 3339 date-time
// with an offset: YYYY-MM-DDThh:mm:ss, an optional fraction after a full stop, and Z, +hh:mm
// or -hh:mm. Offsets run from -23:59 to +23:59.
// The T and Z are upper case, as time.RFC3339 reads them. An empty raw is a missing value.
//
// Every error message starts with name and, unless raw is empty, the quoted value, so a caller
// can pass it to the client unchanged.
func Parse(name, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, fmt.Errorf("%s is required; send an RFC 3339 time with an offset, for example %s", name, Example)
	}
	if problem := check(raw); problem != "" {
		return time.Time{}, fmt.Errorf("%s %q %s", name, raw, problem)
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		// check accepts only what time.Parse accepts, so this is a safety net for a gap between
		// the two rather than an expected path.
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time; use the form %s", name, raw, Example)
	}
	return t, nil
}

// check returns what is wrong with raw, as the end of a sentence that starts with the value, or
// "" when raw is a valid RFC 3339 date-time with an offset.
func check(raw string) string {
	const notATime = "is not an RFC 3339 time; use the form " + Example + ", with seconds and an offset"

	year, month, day, ok := datePart(raw)
	if !ok {
		return notATime
	}
	if len(raw) == len("2006-01-02") {
		return "is a date without a time of day; send a time with an offset, for example " + Example
	}
	hour, minute, second, ok := clockPart(raw)
	if !ok {
		return notATime
	}

	if month < 1 || month > 12 {
		return fmt.Sprintf("is not a valid calendar date because there is no month %02d", month)
	}
	if day < 1 {
		return "is not a valid calendar date because there is no day 00"
	}
	if last := daysIn(year, time.Month(month)); day > last {
		return fmt.Sprintf("is not a valid calendar date because %s %04d has %d days", time.Month(month), year, last)
	}
	if hour > 23 || minute > 59 || second > 59 {
		return "is not a valid time of day; hours run from 00 to 23, and minutes and seconds from 00 to 59"
	}

	rest := raw[len("2006-01-02T15:04:05"):]
	if len(rest) > 0 && rest[0] == '.' {
		digits := leadingDigits(rest[1:])
		if digits == 0 {
			return "has a full stop without fraction digits after the seconds; drop it or add digits, such as 09:00:00.5"
		}
		rest = rest[1+digits:]
	}
	return checkOffset(rest)
}

// checkOffset checks the part after the seconds and any fraction.
func checkOffset(offset string) string {
	switch {
	case offset == "":
		return "has no offset; add Z for UTC or the local offset, for example " + Example
	case offset == "Z":
		return ""
	case len(offset) == len("+07:00") && (offset[0] == '+' || offset[0] == '-') && offset[3] == ':':
		hours, hoursOK := digits(offset[1:3])
		minutes, minutesOK := digits(offset[4:6])
		if !hoursOK || !minutesOK {
			break
		}
		if hours > 23 || minutes > 59 {
			return fmt.Sprintf("has the offset %s, which is out of range; an offset runs from -23:59 to +23:59, such as +01:00", offset)
		}
		return ""
	}
	return fmt.Sprintf("has the offset %q, which is not in the form Z, +hh:mm or -hh:mm; write it as Z or, for example, +01:00", offset)
}

// datePart reads YYYY-MM-DD at the start of s without checking the ranges.
func datePart(s string) (year, month, day int, ok bool) {
	if len(s) < len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	year, yearOK := digits(s[0:4])
	month, monthOK := digits(s[5:7])
	day, dayOK := digits(s[8:10])
	return year, month, day, yearOK && monthOK && dayOK
}

// clockPart reads Thh:mm:ss after the date without checking the ranges.
func clockPart(s string) (hour, minute, second int, ok bool) {
	if len(s) < len("2006-01-02T15:04:05") || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, 0, false
	}
	hour, hourOK := digits(s[11:13])
	minute, minuteOK := digits(s[14:16])
	second, secondOK := digits(s[17:19])
	return hour, minute, second, hourOK && minuteOK && secondOK
}

// digits parses s, which must be ASCII digits only, as a decimal number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

// leadingDigits counts the ASCII digits at the start of s.
func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// daysIn returns the number of days in the month, leap years included.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

package slots

import "strconv"

// DisplayDuration formats a duration in minutes for people, in whole hours and minutes:
// "1 min", "45 mins", "1 hr", "1 hr 15 mins", "2 hrs 30 mins". Zero is "0 mins", and a negative
// duration gets a leading minus sign.
func DisplayDuration(minutes int) string {
	if minutes < 0 {
		// Convert through uint64 so that the smallest int does not overflow when negated.
		return "-" + formatMinutes(-uint64(int64(minutes)))
	}
	return formatMinutes(uint64(minutes))
}

func formatMinutes(minutes uint64) string {
	hours, rest := minutes/60, minutes%60
	switch {
	case hours == 0:
		return pluralise(rest, "min", "mins")
	case rest == 0:
		return pluralise(hours, "hr", "hrs")
	default:
		return pluralise(hours, "hr", "hrs") + " " + pluralise(rest, "min", "mins")
	}
}

func pluralise(n uint64, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.FormatUint(n, 10) + " " + plural
}

package catalogue

import (
	"fmt"
	"slices"
	"strings"
)

// ValidationError is input that breaks a rule of the catalogue. Param names the field.
type ValidationError struct {
	Param   string
	Message string
}

func (e *ValidationError) Error() string { return e.Param + ": " + e.Message }

func invalid(param, format string, args ...any) *ValidationError {
	return &ValidationError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// minutesPerDay is the length of a day on the wall clock.
const minutesPerDay = 1440

// weekdays are the accepted weekday names, indexed like Go's time.Weekday (0 is Sunday), which
// is how the database stores them.
var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// TimeRange is a span of local wall-clock time, "HH:MM" to "HH:MM". An end at or before the
// start is on the next day, and "24:00" is accepted as an end meaning midnight.
type TimeRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Window is a working or opening window with the breaks inside it.
type Window struct {
	Start  string      `json:"start"`
	End    string      `json:"end"`
	Breaks []TimeRange `json:"breaks,omitempty"`
}

// WeeklyWindow is a Window that repeats every week on Weekday ("monday" to "sunday").
type WeeklyWindow struct {
	Weekday string `json:"weekday"`
	Window
}

// span is a window in minutes since local midnight of its day, as the database stores it:
// 0 <= start < 1440 and start < end <= start + 1440.
type span struct {
	weekday    int // -1 for a dated window
	kind       string
	start, end int
}

// parseClock reads "HH:MM" strictly: 00:00 to 23:59, or 24:00 where allowMidnight is set.
func parseClock(param, value string, allowMidnight bool) (int, error) {
	if value == "" {
		return 0, invalid(param, "%s is required: a time of day in HH:MM form, such as 09:30", param)
	}
	if len(value) != 5 || value[2] != ':' {
		return 0, invalid(param, "%s %q is not a time of day in HH:MM form, such as 09:30", param, value)
	}
	hours, okHours := twoDigits(value[:2])
	minutes, okMinutes := twoDigits(value[3:])
	switch {
	case !okHours || !okMinutes || minutes > 59 || hours > 24:
		return 0, invalid(param, "%s %q is not a time of day in HH:MM form, such as 09:30", param, value)
	case hours == 24 && (minutes != 0 || !allowMidnight):
		return 0, invalid(param, "%s %q is not a time of day; only an end may be 24:00", param, value)
	}
	return hours*60 + minutes, nil
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// parseRange turns a TimeRange into minutes; an end at or before the start moves to the next
// day.
func parseRange(param string, r TimeRange) (start, end int, err error) {
	if start, err = parseClock(param+".start", r.Start, false); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(param+".end", r.End, true); err != nil {
		return 0, 0, err
	}
	if end <= start {
		end += minutesPerDay
	}
	if end > start+minutesPerDay {
		return 0, 0, invalid(param, "%s from %s to %s is longer than a day", param, r.Start, r.End)
	}
	return start, end, nil
}

// parseWindow turns a window and its breaks into spans. Breaks must lie inside the window and
// not overlap one another.
func parseWindow(param string, weekday int, w Window, allowBreaks bool) ([]span, error) {
	start, end, err := parseRange(param, TimeRange{Start: w.Start, End: w.End})
	if err != nil {
		return nil, err
	}
	out := []span{{weekday: weekday, kind: "work", start: start, end: end}}
	if len(w.Breaks) > 0 && !allowBreaks {
		return nil, invalid(param+".breaks", "opening hours have no breaks; list the open windows instead")
	}
	var breaks []span
	for i, b := range w.Breaks {
		bp := fmt.Sprintf("%s.breaks[%d]", param, i)
		bs, be, err := parseRange(bp, b)
		if err != nil {
			return nil, err
		}
		if bs < start {
			// A break after midnight of an overnight window would need a start of 1440 or
			// more, which the schedule cannot hold.
			return nil, invalid(bp, "break %s-%s is not inside the window %s-%s; a break must start before midnight of the window's day",
				b.Start, b.End, w.Start, w.End)
		}
		if be > end {
			return nil, invalid(bp, "break %s-%s ends after the window %s-%s", b.Start, b.End, w.Start, w.End)
		}
		breaks = append(breaks, span{weekday: weekday, kind: "break", start: bs, end: be})
	}
	if err := checkNoOverlap(param+".breaks", breaks); err != nil {
		return nil, err
	}
	return append(out, breaks...), nil
}

// checkNoOverlap rejects two spans of one weekday that overlap. Touching is fine.
func checkNoOverlap(param string, spans []span) error {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int {
		if a.weekday != b.weekday {
			return a.weekday - b.weekday
		}
		return a.start - b.start
	})
	for i := 1; i < len(sorted); i++ {
		prev, cur := sorted[i-1], sorted[i]
		if prev.weekday == cur.weekday && cur.start < prev.end {
			return invalid(param, "%s from %s to %s overlaps %s to %s%s", param, clock(cur.start), clock(cur.end),
				clock(prev.start), clock(prev.end), onWeekday(cur.weekday))
		}
	}
	return nil
}

func onWeekday(weekday int) string {
	if weekday < 0 {
		return ""
	}
	return " on " + weekdays[weekday]
}

// parseWeekly validates a week of windows. allowBreaks is false for opening hours.
func parseWeekly(param string, windows []WeeklyWindow, allowBreaks bool) ([]span, error) {
	if len(windows) > 7*12 {
		return nil, invalid(param, "%s lists %d windows; list at most %d", param, len(windows), 7*12)
	}
	var out, work []span
	for i, w := range windows {
		wp := fmt.Sprintf("%s[%d]", param, i)
		weekday := slices.Index(weekdays, strings.ToLower(w.Weekday))
		if w.Weekday == "" {
			return nil, invalid(wp+".weekday", "%s.weekday is required: a day name from monday to sunday", wp)
		}
		if weekday < 0 {
			return nil, invalid(wp+".weekday", "weekday %q is not a day name; use monday to sunday", w.Weekday)
		}
		spans, err := parseWindow(wp, weekday, w.Window, allowBreaks)
		if err != nil {
			return nil, err
		}
		work = append(work, spans[0])
		out = append(out, spans...)
	}
	if err := checkNoOverlap(param, work); err != nil {
		return nil, err
	}
	return out, nil
}

// parseDay validates the windows of one date.
func parseDay(param string, windows []Window) ([]span, error) {
	if len(windows) > 12 {
		return nil, invalid(param, "%s lists %d windows; list at most 12", param, len(windows))
	}
	var out, work []span
	for i, w := range windows {
		spans, err := parseWindow(fmt.Sprintf("%s[%d]", param, i), -1, w, true)
		if err != nil {
			return nil, err
		}
		work = append(work, spans[0])
		out = append(out, spans...)
	}
	if err := checkNoOverlap(param, work); err != nil {
		return nil, err
	}
	return out, nil
}

// clock renders minutes since midnight as HH:MM on the wall clock; exactly midnight at the end
// of the day is 24:00.
func clock(minutes int) string {
	if minutes == minutesPerDay {
		return "24:00"
	}
	m := minutes % minutesPerDay
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// weeklyView groups stored spans into windows with their breaks, ordered by weekday from Monday
// and then by start.
func weeklyView(spans []span) []WeeklyWindow {
	out := []WeeklyWindow{}
	for _, day := range []int{1, 2, 3, 4, 5, 6, 0} {
		var ofDay []span
		for _, s := range spans {
			if s.weekday == day {
				ofDay = append(ofDay, s)
			}
		}
		for _, w := range dayView(ofDay) {
			out = append(out, WeeklyWindow{Weekday: weekdays[day], Window: w})
		}
	}
	return out
}

// dayView groups one day's spans into windows, each with the breaks that start inside it.
func dayView(spans []span) []Window {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	out := []Window{}
	for _, w := range spans {
		if w.kind != "work" {
			continue
		}
		window := Window{Start: clock(w.start), End: clock(w.end)}
		for _, b := range spans {
			if b.kind == "break" && b.start >= w.start && b.start < w.end {
				window.Breaks = append(window.Breaks, TimeRange{Start: clock(b.start), End: clock(b.end)})
			}
		}
		out = append(out, window)
	}
	return out
}

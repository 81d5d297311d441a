package slots

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Errors that Check returns. It wraps them with the start it checked, or for ErrInvalidQuery with
// the problem in the query, so test for them with errors.Is.
var (
	// ErrInvalidQuery means the query has no services, more than MaxServices, or a duration or
	// buffer that is not a positive (for buffers, non-negative) whole number of seconds.
	ErrInvalidQuery = errors.New("invalid slot query")
	// ErrInPast means the start is before Now.
	ErrInPast = errors.New("start is in the past")
	// ErrTooSoon means the start is not in the past but is sooner than Now plus the minimum
	// notice.
	ErrTooSoon = errors.New("start is sooner than the minimum notice allows")
	// ErrBeyondWindow means the start is at or after local midnight at the end of the booking
	// window.
	ErrBeyondWindow = errors.New("start is beyond the booking window")
	// ErrServiceNotPerformed means the requested staff member lacks at least one of the
	// services. With any staff, it means every staff member listed that day lacks one.
	ErrServiceNotPerformed = errors.New("no matching staff member performs every requested service")
	// ErrOutsideHours means the appointment does not fit any working window of a staff member
	// who performs the services, or any opening window of the location, or the location is
	// closed that day, or no matching staff member works that day. ErrOffGrid, ErrOnBreak and
	// ErrTimeOff are more specific forms of it, and errors.Is matches them to ErrOutsideHours.
	ErrOutsideHours = errors.New("start is outside working or opening hours")
	// ErrOffGrid means the appointment fits the hours but the start is not a working window's
	// start plus a whole number of slot steps.
	ErrOffGrid error = &outsideHoursError{"start is not on the slot grid"}
	// ErrOnBreak means the blocked interval overlaps a break.
	ErrOnBreak error = &outsideHoursError{"start falls on a break"}
	// ErrTimeOff means the blocked interval overlaps time off.
	ErrTimeOff error = &outsideHoursError{"start falls in time off"}
	// ErrSlotTaken means the blocked interval overlaps a booking or a live hold, and nothing else
	// prevents the booking.
	ErrSlotTaken = errors.New("slot is taken by a booking or a live hold")
)

// outsideHoursError is a specific reason for ErrOutsideHours.
type outsideHoursError struct {
	message string
}

func (e *outsideHoursError) Error() string { return e.message }

func (e *outsideHoursError) Unwrap() error { return ErrOutsideHours }

// hoursRank orders the reasons that depend on one staff member's day, so that Check reports the
// one closest to a bookable slot. For example, a start that fits one staff member's hours but is
// taken reports ErrSlotTaken, not the ErrOutsideHours of the other staff members and days.
var hoursRank = map[error]int{
	ErrOutsideHours: 1,
	ErrOffGrid:      2,
	ErrOnBreak:      3,
	ErrTimeOff:      4,
	ErrSlotTaken:    5,
}

// Check re-checks that start is bookable for q, as booking-svc does inside its transaction. It
// succeeds exactly when Find(days, q) lists start, and returns the same Slot, with the same
// staff member for any staff.
//
// Otherwise the error wraps the first broken rule in this order: ErrInPast, ErrTooSoon,
// ErrBeyondWindow, ErrServiceNotPerformed, then ErrOutsideHours or one of its specific forms,
// then ErrSlotTaken. When days or staff members fail for different hours reasons, the error is
// the one closest to bookable, in the order ErrOutsideHours, ErrOffGrid, ErrOnBreak, ErrTimeOff,
// ErrSlotTaken. An invalid query returns ErrInvalidQuery.
func Check(days []DaySchedule, q Query, start time.Time) (Slot, error) {
	appt, err := newAppointment(q.Services)
	if err != nil {
		return Slot{}, err
	}

	check := checker{
		q:                q,
		appt:             appt,
		start:            start,
		startSeconds:     start.Unix(),
		startWholeSecond: start.Nanosecond() == 0,
	}
	var cache ruleCache
	for i := range days {
		ctx := cache.context(&days[i], q.Now)
		check.addDay(&ctx, i)
	}

	if check.found {
		return newSlot(check.best, &days[check.best.day], appt.duration), nil
	}
	return Slot{}, fmt.Errorf("check slot %s: %w", start.Format(time.RFC3339Nano), check.reason())
}

// checker accumulates Check's findings over the days.
type checker struct {
	q     Query
	appt  appointment
	start time.Time

	found bool
	best  candidate

	tooSoon      bool
	beyondWindow bool
	// sawStaff is set when an open day that could list the start has a staff member matching
	// q.StaffID, and sawPerformer when one of them performs every service.
	sawStaff         bool
	sawPerformer     bool
	hoursReason      error
	hoursReasonRank  int
	startSeconds     int64
	startWholeSecond bool
}

// addDay checks the start against one day.
func (c *checker) addDay(ctx *dayContext, dayIndex int) {
	if c.start.Before(c.q.Now) {
		return
	}
	if isBefore(c.start, c.q.Now.Unix()+ctx.notice, c.q.Now.Nanosecond()) {
		c.tooSoon = true
		return
	}
	if c.startSeconds >= ctx.windowEnd {
		c.beyondWindow = true
		return
	}
	// Every window of the day lies between its local midnight and the midnight two days later,
	// so a day whose range misses the start cannot list it.
	dayStart := ctx.zone.resolve(ctx.midnight)
	dayEnd := ctx.zone.resolve(ctx.midnight + 2*secondsPerDay)
	if ctx.day.Closed || c.startSeconds < dayStart || c.startSeconds >= dayEnd {
		c.addHoursReason(ErrOutsideHours)
		return
	}

	opening := ctx.appendWindows(nil, ctx.day.Opening.Windows)
	for i := range ctx.day.Staff {
		staff := &ctx.day.Staff[i]
		if c.q.StaffID != uuid.Nil && staff.StaffID != c.q.StaffID {
			continue
		}
		c.sawStaff = true
		if !performsAll(staff, c.q.Services) {
			continue
		}
		c.sawPerformer = true
		c.addStaff(ctx, dayIndex, staff, opening)
	}
}

// addStaff checks the start against one staff member who performs every service.
func (c *checker) addStaff(ctx *dayContext, dayIndex int, staff *StaffDay, opening []span) {
	start, appt := c.startSeconds, c.appt
	blocked := span{start - appt.before, start + appt.duration + appt.after}

	windows := ctx.appendWindows(nil, staff.Hours.Windows)
	fits, onGrid := false, false
	for _, window := range windows {
		if blocked.start < window.start || blocked.end > window.end || !insideAny(opening, start, start+appt.duration) {
			continue
		}
		fits = true
		if c.startWholeSecond && ctx.step > 0 && (start-window.start)%ctx.step == 0 {
			onGrid = true
		}
	}
	if !fits {
		c.addHoursReason(ErrOutsideHours)
		return
	}
	if !onGrid {
		c.addHoursReason(ErrOffGrid)
		return
	}

	if overlapsAny(ctx.appendWindows(nil, staff.Hours.Breaks), blocked) {
		c.addHoursReason(ErrOnBreak)
		return
	}
	if overlapsAny(appendIntervals(nil, staff.TimeOff), blocked) {
		c.addHoursReason(ErrTimeOff)
		return
	}
	busy := appendBlocking(nil, staff.Busy, c.q.Now)
	if overlapsAny(busy, blocked) {
		c.addHoursReason(ErrSlotTaken)
		return
	}

	busyTime := overlapSeconds(mergeSpans(windows), mergeSpans(busy))
	if !c.found || compareRank(busyTime, staff.StaffID, c.best.busy, c.best.staff) < 0 {
		c.found = true
		c.best = candidate{start: start, busy: busyTime, staff: staff.StaffID, day: dayIndex}
	}
}

func (c *checker) addHoursReason(reason error) {
	if rank := hoursRank[reason]; rank > c.hoursReasonRank {
		c.hoursReason, c.hoursReasonRank = reason, rank
	}
}

// reason returns the first broken rule in Check's order of precedence.
func (c *checker) reason() error {
	switch {
	case c.start.Before(c.q.Now):
		return ErrInPast
	case c.tooSoon:
		return ErrTooSoon
	case c.beyondWindow:
		return ErrBeyondWindow
	case c.sawStaff && !c.sawPerformer:
		return ErrServiceNotPerformed
	case c.hoursReason != nil:
		return c.hoursReason
	default:
		return ErrOutsideHours
	}
}

// isBefore reports whether t is before the instant of Unix seconds sec plus nanoseconds nsec.
func isBefore(t time.Time, sec int64, nsec int) bool {
	return t.Unix() < sec || (t.Unix() == sec && t.Nanosecond() < nsec)
}

func overlapsAny(spans []span, interval span) bool {
	for _, s := range spans {
		if s.start < interval.end && interval.start < s.end {
			return true
		}
	}
	return false
}

// Alternatives returns up to n bookable slots nearest in time to start, for a 409 Conflict
// response that rejects start. Of two slots equally far from start, the earlier one is chosen
// first. The result is sorted by start and includes start itself when it is bookable.
func Alternatives(days []DaySchedule, q Query, start time.Time, n int) []Slot {
	if n <= 0 {
		return nil
	}
	all := Find(days, q)
	after := sort.Search(len(all), func(i int) bool { return !all[i].Start.Before(start) })

	// all[low+1:high] is the window chosen so far. Grow it towards the nearer neighbour.
	low, high := after-1, after
	for high-low-1 < n && (low >= 0 || high < len(all)) {
		if high == len(all) || (low >= 0 && start.Sub(all[low].Start) <= all[high].Start.Sub(start)) {
			low--
		} else {
			high++
		}
	}
	if high-low-1 == 0 {
		return nil
	}
	return append([]Slot(nil), all[low+1:high]...)
}

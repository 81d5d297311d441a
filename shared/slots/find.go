package slots

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MaxServices is the largest number of services that one appointment may combine.
const MaxServices = 5

// Query is one availability request against a location's day schedules.
type Query struct {
	// Services are booked as one appointment, in the order given: 1 to MaxServices services
	// with positive durations and non-negative buffers, all in whole seconds.
	Services []Service
	// StaffID restricts the slots to one staff member. uuid.Nil means any staff member.
	StaffID uuid.UUID
	// Now is the current instant. The engine reads no clock of its own.
	Now time.Time
}

// Find lists every bookable start in days for q, sorted by start instant, with each start listed
// once. Slot.Start and Slot.End are in the day's time zone, and End is the end of the last
// service, without its buffer. Find returns nil when q is invalid (Check returns ErrInvalidQuery
// for it) and when nothing is bookable.
//
// A start is bookable for a staff member who performs every service in q when all of these hold:
//   - It is the start of one of the staff member's working windows plus a whole number of slot
//     steps, counted in elapsed time, so the grid continues through a change of UTC offset.
//   - The blocked interval [start - first service's buffer before, end + last service's buffer
//     after) lies inside that same working window.
//   - The service interval [start, end) lies inside one of the location's opening windows for
//     the date. A closed date has no slots.
//   - The blocked interval overlaps none of the staff member's breaks, time off and blocking
//     Busy intervals. Intervals are half-open, so touching is allowed.
//   - start >= Now + notice, which implies start >= Now because a negative notice counts as 0.
//   - start is before local midnight at the end of the booking window, whose first day is the
//     local date of Now. This is the same as the start's local date being in the window, except
//     in a zone whose clocks fall back across midnight.
//
// The durations of the services add up. Their order matters only through the buffers, so two
// orders of services whose outer buffers are equal give the same starts.
//
// Each DaySchedule is evaluated on its own: a working window that crosses midnight belongs to its
// own date and must fit that date's opening windows, which may cross midnight as well.
//
// When q.StaffID is uuid.Nil and several staff members could take a start, Find picks the one
// with the least busy time on the day's schedule, then the smallest StaffID in its string form.
// Busy time is the total length of the staff member's blocking Busy intervals inside their
// working windows of that date, with overlaps counted once. The same rule picks between days
// when two DaySchedules produce the same instant, and Check picks the same staff member.
//
// Each day is evaluated with its own Rules. Callers pass the days of one location, whose Rules
// are the same.
func Find(days []DaySchedule, q Query) []Slot {
	appt, err := newAppointment(q.Services)
	if err != nil {
		return nil
	}

	work := scratchPool.Get().(*scratch)
	defer releaseScratch(work)
	work.all = work.all[:0]

	var cache ruleCache
	for i := range days {
		ctx := cache.context(&days[i], q.Now)
		work.findDay(&ctx, i, q, appt)
		work.addDay()
	}
	return work.slots(days, appt.duration)
}

// appointment is the combined timing of a query's services, in seconds.
type appointment struct {
	duration int64 // from the start of the first service to the end of the last
	before   int64 // buffer before the first service
	after    int64 // buffer after the last service
}

// newAppointment combines services into one appointment, or returns an error that wraps
// ErrInvalidQuery and names the offending service.
func newAppointment(services []Service) (appointment, error) {
	if len(services) == 0 || len(services) > MaxServices {
		return appointment{}, fmt.Errorf("%w: %d services given; give 1 to %d", ErrInvalidQuery, len(services), MaxServices)
	}

	var appt appointment
	for _, service := range services {
		if service.Duration <= 0 || service.Duration%time.Second != 0 {
			return appointment{}, fmt.Errorf("%w: service %s has duration %v; it must be a positive whole number of seconds",
				ErrInvalidQuery, service.ID, service.Duration)
		}
		if service.BufferBefore < 0 || service.BufferBefore%time.Second != 0 ||
			service.BufferAfter < 0 || service.BufferAfter%time.Second != 0 {
			return appointment{}, fmt.Errorf("%w: service %s has buffers %v before and %v after; they must be non-negative whole numbers of seconds",
				ErrInvalidQuery, service.ID, service.BufferBefore, service.BufferAfter)
		}
		appt.duration += int64(service.Duration / time.Second)
	}
	appt.before = int64(services[0].BufferBefore / time.Second)
	appt.after = int64(services[len(services)-1].BufferAfter / time.Second)
	return appt, nil
}

// span is a half-open interval [start, end) of Unix seconds.
type span struct {
	start, end int64
}

// dayContext holds what Find and Check derive from one DaySchedule and the query's Now.
type dayContext struct {
	day      *DaySchedule
	zone     zoneSpan
	midnight int64 // local midnight of the date, in wall-clock seconds
	step     int64 // slot step in seconds, or 0 when the rules give no valid step
	notice   int64 // minimum notice in seconds, never negative
	// earliest is the first allowed start: Now plus the notice, rounded up to a whole second.
	earliest int64
	// windowEnd is the first instant after the booking window, or math.MinInt64 when the window
	// has no days.
	windowEnd int64
}

// ruleCache keeps the values that depend only on the rules and Now, so consecutive days of one
// location look up the time zone once.
type ruleCache struct {
	valid         bool
	tz            *time.Location
	noticeMinutes int
	windowDays    int
	notice        int64
	earliest      int64
	windowEnd     int64
	zone          zoneSpan
}

// context builds the dayContext of d for the instant now.
func (c *ruleCache) context(d *DaySchedule, now time.Time) dayContext {
	tz := zoneOrUTC(d.Rules.TimeZone)
	if !c.valid || c.tz != tz || c.noticeMinutes != d.Rules.NoticeMinutes || c.windowDays != d.Rules.WindowDays {
		c.valid, c.tz, c.noticeMinutes, c.windowDays = true, tz, d.Rules.NoticeMinutes, d.Rules.WindowDays
		c.notice = int64(max(0, d.Rules.NoticeMinutes)) * secondsPerMinute
		c.earliest = ceilUnix(now) + c.notice
		c.windowEnd = math.MinInt64
		if d.Rules.WindowDays >= 1 {
			lastDay := DateOf(now, tz).AddDays(d.Rules.WindowDays)
			c.windowEnd = resolveWall(lastDay.wallMidnight(), tz)
		}
	}

	midnight := d.Date.wallMidnight()
	if c.zone.tz != tz || !c.zone.covers(midnight, midnight+2*secondsPerDay) {
		c.zone = newZoneSpan(tz, midnight+secondsPerDay/2-c.zone.offset)
	}

	ctx := dayContext{
		day:       d,
		zone:      c.zone,
		midnight:  midnight,
		notice:    c.notice,
		earliest:  c.earliest,
		windowEnd: c.windowEnd,
	}
	if d.Rules.StepMinutes >= 1 {
		ctx.step = int64(d.Rules.StepMinutes) * secondsPerMinute
	}
	return ctx
}

// appendWindows resolves each wall window of the day to a span and appends it to dst. It skips
// windows that break the WallWindow contract and windows that lie wholly inside a
// spring-forward gap, which resolve to an empty span.
func (ctx *dayContext) appendWindows(dst []span, windows []WallWindow) []span {
	for _, w := range windows {
		if w.StartMinute < 0 || w.StartMinute >= minutesPerDay ||
			w.EndMinute <= w.StartMinute || w.EndMinute > w.StartMinute+minutesPerDay {
			continue
		}
		start := ctx.zone.resolve(ctx.midnight + int64(w.StartMinute)*secondsPerMinute)
		end := ctx.zone.resolve(ctx.midnight + int64(w.EndMinute)*secondsPerMinute)
		if end > start {
			dst = append(dst, span{start, end})
		}
	}
	return dst
}

const minutesPerDay = 24 * 60

// appendIntervals appends each non-empty interval to dst, widened to whole seconds.
func appendIntervals(dst []span, intervals []Interval) []span {
	for i := range intervals {
		dst = appendInterval(dst, &intervals[i])
	}
	return dst
}

func appendInterval(dst []span, interval *Interval) []span {
	start, end := interval.Start.Unix(), ceilUnix(interval.End)
	if end > start {
		dst = append(dst, span{start, end})
	}
	return dst
}

// appendBlocking appends the intervals of the bookings, and of the holds that are still live at
// now, to dst.
func appendBlocking(dst []span, busy []Busy, now time.Time) []span {
	for i := range busy {
		if busy[i].blocks(now) {
			dst = appendInterval(dst, &busy[i].Interval)
		}
	}
	return dst
}

// blocks reports whether b blocks its interval at the instant now: a booking always does, and a
// hold does until it expires.
func (b *Busy) blocks(now time.Time) bool {
	return b.HoldExpiresAt.IsZero() || b.HoldExpiresAt.After(now)
}

// mergeSpans sorts spans by start and merges those that overlap or touch, in place, and returns
// the merged prefix.
func mergeSpans(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	sortSpans(spans)

	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// unionSpans appends the union of two merged span lists to dst, merged.
func unionSpans(dst, a, b []span) []span {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next span
		if j == len(b) || (i < len(a) && a[i].start <= b[j].start) {
			next, i = a[i], i+1
		} else {
			next, j = b[j], j+1
		}
		if n := len(dst); n > 0 && next.start <= dst[n-1].end {
			dst[n-1].end = max(dst[n-1].end, next.end)
			continue
		}
		dst = append(dst, next)
	}
	return dst
}

// sortSpans sorts spans by start. One staff member's day has few spans, often already in order,
// so short lists use an insertion sort, which takes linear time on ordered input.
func sortSpans(spans []span) {
	if len(spans) > 32 {
		slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
		return
	}
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].start < spans[j-1].start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
}

// overlapSeconds returns the total length of the intersection of two merged span lists.
func overlapSeconds(a, b []span) int64 {
	var total int64
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		start, end := max(a[i].start, b[j].start), min(a[i].end, b[j].end)
		if end > start {
			total += end - start
		}
		if a[i].end < b[j].end {
			i++
		} else {
			j++
		}
	}
	return total
}

// insideAny reports whether [start, end) lies inside one of windows.
func insideAny(windows []span, start, end int64) bool {
	for _, w := range windows {
		if w.start <= start && end <= w.end {
			return true
		}
	}
	return false
}

// performsAll reports whether the staff member performs every service.
func performsAll(staff *StaffDay, services []Service) bool {
	for _, service := range services {
		if !staff.Services[service.ID] {
			return false
		}
	}
	return true
}

// compareRank orders two candidate staff members by the staff-choice rule: less busy time
// first, then the smaller StaffID. Comparing UUID bytes gives the order of their lowercase
// string forms.
func compareRank(busyA int64, staffA uuid.UUID, busyB int64, staffB uuid.UUID) int {
	if c := cmp.Compare(busyA, busyB); c != 0 {
		return c
	}
	return bytes.Compare(staffA[:], staffB[:])
}

// ceilUnix returns t in Unix seconds, rounded up to a whole second.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// ceilDivide returns a / b rounded up, for a >= 0 and b > 0.
func ceilDivide(a, b int64) int64 {
	return (a + b - 1) / b
}

// candidate is one start chosen for a day, with the rank of the staff member who takes it. It
// holds no pointers, so that filling buffers of candidates needs no GC write barriers.
type candidate struct {
	start int64
	busy  int64 // busy time of the staff member on the day, in seconds
	staff uuid.UUID
	day   int // index of the DaySchedule, whose zone the slot is shown in
}

// staffStarts is one staff member's accepted starts for a day: scratch.accepted[from:to].
type staffStarts struct {
	from, to int
	next     int // the first start not yet merged
	busy     int64
	staff    uuid.UUID
	// idHigh and idLow are the staff UUID's bytes as two big-endian numbers, which compare in
	// the same order as the UUID strings.
	idHigh, idLow uint64
}

// sortByRank sorts lists by the staff-choice rule with an insertion sort, because a day has
// only as many lists as staff members.
func sortByRank(lists []staffStarts) {
	for i := 1; i < len(lists); i++ {
		for j := i; j > 0 && ranksBefore(&lists[j], &lists[j-1]); j-- {
			lists[j], lists[j-1] = lists[j-1], lists[j]
		}
	}
}

// ranksBefore reports whether a comes before b under the staff-choice rule, like compareRank.
func ranksBefore(a, b *staffStarts) bool {
	if a.busy != b.busy {
		return a.busy < b.busy
	}
	if a.idHigh != b.idHigh {
		return a.idHigh < b.idHigh
	}
	return a.idLow < b.idLow
}

// scratch holds Find's working buffers. Find takes one from scratchPool and puts it back, so a
// steady stream of queries usually allocates only the result slice. The pool may drop idle
// buffers at a garbage collection, and the next query then allocates them again.
type scratch struct {
	opening   []span
	windows   []span
	merged    []span
	forbidden []span // union of busy and absent
	busy      []span // blocking Busy intervals
	absent    []span // breaks and time off
	accepted  []int64
	lists     []staffStarts
	heads     []int64
	day       []candidate
	all       []candidate
	spare     []candidate
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledStarts bounds the buffers kept in scratchPool, so that one unusually large query does
// not pin its memory for the life of the process.
const maxPooledStarts = 1 << 16

func releaseScratch(work *scratch) {
	if cap(work.accepted) > maxPooledStarts || cap(work.all) > maxPooledStarts {
		return
	}
	scratchPool.Put(work)
}

// findDay fills work.day with the bookable starts of days[dayIndex] in order, one staff member
// per start.
func (work *scratch) findDay(ctx *dayContext, dayIndex int, q Query, appt appointment) {
	work.day = work.day[:0]
	d := ctx.day
	if d.Closed || ctx.step == 0 || ctx.earliest >= ctx.windowEnd {
		return
	}
	work.opening = ctx.appendWindows(work.opening[:0], d.Opening.Windows)
	if len(work.opening) == 0 {
		return
	}

	work.accepted = work.accepted[:0]
	work.lists = work.lists[:0]
	for i := range d.Staff {
		staff := &d.Staff[i]
		if q.StaffID != uuid.Nil && staff.StaffID != q.StaffID {
			continue
		}
		if !performsAll(staff, q.Services) {
			continue
		}
		work.findStaff(ctx, staff, q.Now, appt)
	}
	if len(work.lists) == 0 {
		return
	}

	sortByRank(work.lists)
	work.mergeLists(dayIndex)
}

// findStaff appends one staff member's bookable starts to work.accepted, sorted and without
// duplicates, and records them in work.lists.
func (work *scratch) findStaff(ctx *dayContext, staff *StaffDay, now time.Time, appt appointment) {
	work.windows = ctx.appendWindows(work.windows[:0], staff.Hours.Windows)
	if len(work.windows) == 0 {
		return
	}

	work.busy = mergeSpans(appendBlocking(work.busy[:0], staff.Busy, now))
	absent := ctx.appendWindows(work.absent[:0], staff.Hours.Breaks)
	work.absent = mergeSpans(appendIntervals(absent, staff.TimeOff))
	work.forbidden = unionSpans(work.forbidden[:0], work.busy, work.absent)

	from := len(work.accepted)
	for _, window := range work.windows {
		work.sweep(ctx, window, appt)
	}
	if len(work.accepted) == from {
		return
	}

	// Overlapping windows can interleave their grids, so their starts need sorting.
	if len(work.windows) > 1 {
		starts := work.accepted[from:]
		slices.Sort(starts)
		work.accepted = work.accepted[:from+len(slices.Compact(starts))]
	}

	work.merged = mergeSpans(append(work.merged[:0], work.windows...))
	work.lists = append(work.lists, staffStarts{
		from:   from,
		to:     len(work.accepted),
		next:   from,
		busy:   overlapSeconds(work.merged, work.busy),
		staff:  staff.StaffID,
		idHigh: binary.BigEndian.Uint64(staff.StaffID[:8]),
		idLow:  binary.BigEndian.Uint64(staff.StaffID[8:]),
	})
}

// sweep appends the bookable starts on the grid of one working window to work.accepted, in
// order. work.forbidden must be merged, so that the index into it only moves forward.
func (work *scratch) sweep(ctx *dayContext, window span, appt appointment) {
	step := ctx.step
	first := window.start
	if lowest := max(ctx.earliest, window.start+appt.before); lowest > first {
		first += ceilDivide(lowest-first, step) * step
	}
	last := min(window.end-appt.after-appt.duration, ctx.windowEnd-1)

	forbidden := work.forbidden
	next := 0
	for start := first; start <= last; start += step {
		blockedStart, blockedEnd := start-appt.before, start+appt.duration+appt.after
		for next < len(forbidden) && forbidden[next].end <= blockedStart {
			next++
		}
		if next < len(forbidden) && forbidden[next].start < blockedEnd {
			// Skip to the last grid start whose blocked interval still overlaps this one, so
			// that the loop's step lands on the first start clear of it.
			clear := forbidden[next].end + appt.before
			start += (ceilDivide(clear-start, step) - 1) * step
			continue
		}
		if !insideAny(work.opening, start, start+appt.duration) {
			continue
		}
		work.accepted = append(work.accepted, start)
	}
}

// mergeLists merges the day's per-staff start lists, which are sorted by the staff-choice rule,
// into work.day. A start offered by several staff members goes to the first of them.
func (work *scratch) mergeLists(dayIndex int) {
	lists := work.lists
	// heads[i] is the next unmerged start of lists[i], or math.MaxInt64 when it has none.
	heads := work.heads[:0]
	for i := range lists {
		heads = append(heads, work.accepted[lists[i].from])
	}
	work.heads = heads

	for {
		earliest, winner := int64(math.MaxInt64), -1
		for i, head := range heads {
			if head < earliest {
				earliest, winner = head, i
			}
		}
		if winner < 0 {
			return
		}

		// Lists before winner have later heads, so only winner and the lists after it can start
		// at earliest.
		for i := winner; i < len(heads); i++ {
			if heads[i] != earliest {
				continue
			}
			list := &lists[i]
			list.next++
			heads[i] = math.MaxInt64
			if list.next < list.to {
				heads[i] = work.accepted[list.next]
			}
		}
		work.day = append(work.day, candidate{
			start: earliest,
			busy:  lists[winner].busy,
			staff: lists[winner].staff,
			day:   dayIndex,
		})
	}
}

// addDay adds work.day to work.all, keeping work.all sorted and free of repeated starts. Days
// normally follow each other, so this is an append. It merges only when a window that crosses
// midnight overlaps the next day's starts, or when days come out of order.
func (work *scratch) addDay() {
	day := work.day
	if len(day) == 0 {
		return
	}
	if len(work.all) == 0 || work.all[len(work.all)-1].start < day[0].start {
		work.all = append(work.all, day...)
		return
	}

	merged := work.spare[:0]
	all := work.all
	i, j := 0, 0
	for i < len(all) || j < len(day) {
		switch {
		case j == len(day) || (i < len(all) && all[i].start < day[j].start):
			merged = append(merged, all[i])
			i++
		case i == len(all) || day[j].start < all[i].start:
			merged = append(merged, day[j])
			j++
		default:
			better := all[i]
			if compareRank(day[j].busy, day[j].staff, better.busy, better.staff) < 0 {
				better = day[j]
			}
			merged = append(merged, better)
			i++
			j++
		}
	}
	work.spare, work.all = all, merged
}

// slots converts work.all into the result.
func (work *scratch) slots(days []DaySchedule, duration int64) []Slot {
	if len(work.all) == 0 {
		return nil
	}
	result := make([]Slot, len(work.all))
	day, tz := -1, time.UTC
	for i, c := range work.all {
		if c.day != day {
			day, tz = c.day, zoneOrUTC(days[c.day].Rules.TimeZone)
		}
		result[i] = Slot{
			Start:   time.Unix(c.start, 0).In(tz),
			End:     time.Unix(c.start+duration, 0).In(tz),
			StaffID: c.staff,
		}
	}
	return result
}

// newSlot converts a chosen start into a Slot shown in the zone of its day, as slots does for
// each start.
func newSlot(c candidate, day *DaySchedule, duration int64) Slot {
	tz := zoneOrUTC(day.Rules.TimeZone)
	return Slot{
		Start:   time.Unix(c.start, 0).In(tz),
		End:     time.Unix(c.start+duration, 0).In(tz),
		StaffID: c.staff,
	}
}

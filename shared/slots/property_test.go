package slots

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The property test compares Find and Check with referenceFind, a slow implementation of the
// same rules written without the engine's code. The reference works in whole Unix minutes, reads
// wall clocks from a per-minute table instead of resolving offsets, and checks every minute of
// every candidate's intervals one by one. The random shops use minute-aligned data only.

// wallTable lists the wall-clock reading of every minute in a range of instants in one zone.
type wallTable struct {
	firstMinute int64   // Unix minute of the first entry
	highest     []int64 // highest wall-clock minute shown at or before each entry
}

func newWallTable(tz *time.Location, from, to time.Time) *wallTable {
	table := &wallTable{firstMinute: from.Unix() / 60}
	highest := int64(-1 << 62)
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		local := t.In(tz)
		reading := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), 0, 0, time.UTC)
		highest = max(highest, reading.Unix()/60)
		table.highest = append(table.highest, highest)
	}
	return table
}

// resolve returns the first Unix minute whose wall clock reads wallMinute or later. That is the
// first occurrence of a repeated reading, and the instant of the change for a skipped one.
func (w *wallTable) resolve(tb testing.TB, wallMinute int64) int64 {
	i := sort.Search(len(w.highest), func(i int) bool { return w.highest[i] >= wallMinute })
	if i == 0 || i == len(w.highest) {
		tb.Fatalf("wall minute %d lies outside the reference table", wallMinute)
	}
	return w.firstMinute + int64(i)
}

var (
	wallTablesMu sync.Mutex
	wallTables   = map[string]*wallTable{}
)

// wallTableFor returns the cached table of tz around base, from 4 days before to 8 days after.
func wallTableFor(tz *time.Location, base Date) *wallTable {
	key := tz.String() + " " + base.String()
	wallTablesMu.Lock()
	defer wallTablesMu.Unlock()
	if table, ok := wallTables[key]; ok {
		return table
	}
	midnight := time.Date(base.Year, base.Month, base.Day, 0, 0, 0, 0, time.UTC)
	table := newWallTable(tz, midnight.AddDate(0, 0, -4), midnight.AddDate(0, 0, 8))
	wallTables[key] = table
	return table
}

// referenceFind lists the bookable slots by the rules that Find documents.
func referenceFind(tb testing.TB, base Date, days []DaySchedule, q Query) []Slot {
	if len(q.Services) == 0 || len(q.Services) > MaxServices {
		return nil
	}
	var duration int64
	for _, service := range q.Services {
		duration += int64(service.Duration / time.Minute)
	}
	before := int64(q.Services[0].BufferBefore / time.Minute)
	after := int64(q.Services[len(q.Services)-1].BufferAfter / time.Minute)

	type choice struct {
		staff uuid.UUID
		busy  int64
		tz    *time.Location
	}
	chosen := map[int64]choice{}

	for _, day := range days {
		if day.Closed || day.Rules.StepMinutes < 1 || day.Rules.WindowDays < 1 {
			continue
		}
		tz := day.Rules.TimeZone
		table := wallTableFor(tz, base)
		midnightWall := time.Date(day.Date.Year, day.Date.Month, day.Date.Day, 0, 0, 0, 0, time.UTC).Unix() / 60
		resolveAll := func(windows []WallWindow) [][2]int64 {
			var out [][2]int64
			for _, w := range windows {
				if w.StartMinute < 0 || w.StartMinute >= 1440 || w.EndMinute <= w.StartMinute || w.EndMinute > w.StartMinute+1440 {
					continue
				}
				out = append(out, [2]int64{
					table.resolve(tb, midnightWall+int64(w.StartMinute)),
					table.resolve(tb, midnightWall+int64(w.EndMinute)),
				})
			}
			return out
		}

		localNow := q.Now.In(tz)
		today := time.Date(localNow.Year(), localNow.Month(), localNow.Day(), 0, 0, 0, 0, time.UTC)
		lastDay := today.AddDate(0, 0, day.Rules.WindowDays-1)
		notice := time.Duration(max(0, day.Rules.NoticeMinutes)) * time.Minute
		opening := resolveAll(day.Opening.Windows)

		for _, staff := range day.Staff {
			if q.StaffID != uuid.Nil && staff.StaffID != q.StaffID {
				continue
			}
			performsEvery := true
			for _, service := range q.Services {
				performsEvery = performsEvery && staff.Services[service.ID]
			}
			if !performsEvery {
				continue
			}

			windows := resolveAll(staff.Hours.Windows)
			var blocked [][2]int64
			blocked = append(blocked, resolveAll(staff.Hours.Breaks)...)
			for _, off := range staff.TimeOff {
				blocked = append(blocked, [2]int64{off.Start.Unix() / 60, off.End.Unix() / 60})
			}
			var busy [][2]int64
			for _, b := range staff.Busy {
				if b.HoldExpiresAt.IsZero() || b.HoldExpiresAt.After(q.Now) {
					busy = append(busy, [2]int64{b.Interval.Start.Unix() / 60, b.Interval.End.Unix() / 60})
				}
			}
			blocked = append(blocked, busy...)
			busyMinutes := referenceBusyMinutes(windows, busy)

			for _, w := range windows {
				for start := w[0]; start < w[1]; start += int64(day.Rules.StepMinutes) {
					startTime := time.Unix(start*60, 0).In(tz)
					if startTime.Before(q.Now.Add(notice)) || startTime.Before(q.Now) {
						continue
					}
					startDay := time.Date(startTime.Year(), startTime.Month(), startTime.Day(), 0, 0, 0, 0, time.UTC)
					if startDay.Before(today) || startDay.After(lastDay) {
						continue
					}
					if !everyMinuteFree(start-before, start+duration+after, w, blocked) {
						continue
					}
					if !insideOneWindow(start, start+duration, opening) {
						continue
					}
					current, alreadyChosen := chosen[start]
					if !alreadyChosen || busyMinutes < current.busy ||
						(busyMinutes == current.busy && staff.StaffID.String() < current.staff.String()) {
						chosen[start] = choice{staff: staff.StaffID, busy: busyMinutes, tz: tz}
					}
				}
			}
		}
	}

	startMinutes := make([]int64, 0, len(chosen))
	for start := range chosen {
		startMinutes = append(startMinutes, start)
	}
	slices.Sort(startMinutes)
	var out []Slot
	for _, start := range startMinutes {
		c := chosen[start]
		out = append(out, Slot{
			Start:   time.Unix(start*60, 0).In(c.tz),
			End:     time.Unix((start+duration)*60, 0).In(c.tz),
			StaffID: c.staff,
		})
	}
	return out
}

// everyMinuteFree reports whether every minute of [from, to) lies in the window and in none of
// the blocked intervals.
func everyMinuteFree(from, to int64, window [2]int64, blocked [][2]int64) bool {
	for minute := from; minute < to; minute++ {
		if minute < window[0] || minute >= window[1] {
			return false
		}
		for _, b := range blocked {
			if minute >= b[0] && minute < b[1] {
				return false
			}
		}
	}
	return true
}

// insideOneWindow reports whether one window contains every minute of [from, to).
func insideOneWindow(from, to int64, windows [][2]int64) bool {
	for _, w := range windows {
		inside := true
		for minute := from; minute < to && inside; minute++ {
			inside = minute >= w[0] && minute < w[1]
		}
		if inside {
			return true
		}
	}
	return false
}

// referenceBusyMinutes counts the minutes that lie in a working window and in a busy interval.
func referenceBusyMinutes(windows, busy [][2]int64) int64 {
	if len(windows) == 0 {
		return 0
	}
	first, last := windows[0][0], windows[0][1]
	for _, w := range windows {
		first, last = min(first, w[0]), max(last, w[1])
	}
	var count int64
	for minute := first; minute < last; minute++ {
		working, occupied := false, false
		for _, w := range windows {
			working = working || (minute >= w[0] && minute < w[1])
		}
		for _, b := range busy {
			occupied = occupied || (minute >= b[0] && minute < b[1])
		}
		if working && occupied {
			count++
		}
	}
	return count
}

// randomShop is one generated test case.
type randomShop struct {
	base  Date // the date the case is built around, which picks the wall table
	days  []DaySchedule
	query Query
}

// baseDates are the dates the random shops are built around for each zone: the days the clocks
// change and an ordinary day.
var baseDates = []struct {
	tz    *time.Location
	dates []Date
}{
	{tz: london, dates: []Date{date(2026, time.March, 29), date(2026, time.October, 25), date(2026, time.June, 10)}},
	{tz: newYork, dates: []Date{date(2026, time.March, 8), date(2026, time.November, 1), date(2026, time.July, 4)}},
	{tz: lordHowe, dates: []Date{date(2026, time.April, 5), date(2026, time.October, 4)}},
	{tz: tokyo, dates: []Date{date(2026, time.March, 29), date(2028, time.February, 28)}},
	{tz: kolkata, dates: []Date{date(2026, time.October, 25)}},
	{tz: time.UTC, dates: []Date{date(2026, time.December, 31)}},
}

// gapMinutes are wall minutes at or near the changes of offset in the zones above, so that many
// windows start or end inside a gap or a repeated hour.
var gapMinutes = []int{0, 60, 90, 105, 120, 135, 150, 180}

func pick[T any](rng *rand.Rand, values ...T) T {
	return values[rng.IntN(len(values))]
}

func randomWallWindow(rng *rand.Rand) WallWindow {
	var start int
	if rng.IntN(3) == 0 {
		start = pick(rng, gapMinutes...)
	} else {
		start = 5 * rng.IntN(288)
	}
	length := 5 * (1 + rng.IntN(150))
	if rng.IntN(20) == 0 {
		length = -length // an invalid window, which both implementations must ignore
	}
	return WallWindow{StartMinute: start, EndMinute: start + length}
}

func randomUUID(rng *rand.Rand) uuid.UUID {
	var id uuid.UUID
	for i := range id {
		id[i] = byte(rng.IntN(256))
	}
	return id
}

func newRandomShop(rng *rand.Rand) randomShop {
	zone := baseDates[rng.IntN(len(baseDates))]
	tz := zone.tz
	base := pick(rng, zone.dates...)
	first := base.AddDays(rng.IntN(4) - 2)
	dayCount := 1 + rng.IntN(3)

	rules := Rules{
		TimeZone:      tz,
		StepMinutes:   pick(rng, 5, 10, 15, 20, 30, 45, 60, 90),
		NoticeMinutes: pick(rng, 0, 0, 30, 90, 600),
		WindowDays:    pick(rng, 1, 2, 3, 4, 5, 7, 31),
	}
	firstMidnight := time.Date(first.Year, first.Month, first.Day, 0, 0, 0, 0, time.UTC)
	now := firstMidnight.Add(time.Duration(rng.IntN(4*1440)-3*1440) * time.Minute)
	if rng.IntN(2) == 0 {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Second)
	}

	serviceIDs := []uuid.UUID{randomUUID(rng), randomUUID(rng), randomUUID(rng)}
	staffIDs := make([]uuid.UUID, 1+rng.IntN(3))
	services := make([]map[uuid.UUID]bool, len(staffIDs))
	for i := range staffIDs {
		staffIDs[i] = randomUUID(rng)
		services[i] = map[uuid.UUID]bool{}
		for _, id := range serviceIDs {
			if rng.IntN(4) > 0 {
				services[i][id] = true
			}
		}
	}

	randomInstant := func() time.Time {
		return firstMidnight.Add(time.Duration(5*rng.IntN((dayCount+2)*288)-288*5) * time.Minute)
	}

	shop := randomShop{base: base}
	for d := 0; d < dayCount; d++ {
		day := DaySchedule{Date: first.AddDays(d), Rules: rules, Closed: rng.IntN(10) == 0}
		if rng.IntN(5) < 3 {
			day.Opening.Windows = []WallWindow{{StartMinute: 0, EndMinute: 1440}}
		} else {
			for n := 1 + rng.IntN(2); n > 0; n-- {
				day.Opening.Windows = append(day.Opening.Windows, randomWallWindow(rng))
			}
		}

		for i, id := range staffIDs {
			staff := StaffDay{StaffID: id, Services: services[i]}
			windowCount := 1 + rng.IntN(2)
			if rng.IntN(10) == 0 {
				windowCount = 0
			}
			for n := windowCount; n > 0; n-- {
				staff.Hours.Windows = append(staff.Hours.Windows, randomWallWindow(rng))
			}
			for n := rng.IntN(3); n > 0; n-- {
				start := 5 * rng.IntN(288)
				staff.Hours.Breaks = append(staff.Hours.Breaks, WallWindow{StartMinute: start, EndMinute: start + 5*(3+rng.IntN(10))})
			}
			if rng.IntN(5) == 0 {
				start := randomInstant()
				staff.TimeOff = []Interval{{Start: start, End: start.Add(time.Duration(30+rng.IntN(2000)) * time.Minute)}}
			}
			for n := rng.IntN(7); n > 0; n-- {
				start := randomInstant()
				busy := Busy{Interval: Interval{Start: start, End: start.Add(time.Duration(5*(3+rng.IntN(34))) * time.Minute)}}
				if rng.IntN(10) < 3 {
					busy.HoldExpiresAt = now.Add(time.Duration(rng.IntN(60)-30) * time.Minute)
				}
				staff.Busy = append(staff.Busy, busy)
			}
			day.Staff = append(day.Staff, staff)
		}
		shop.days = append(shop.days, day)
	}

	shop.query.Now = now
	for _, i := range rng.Perm(len(serviceIDs))[:1+rng.IntN(len(serviceIDs))] {
		service := Service{ID: serviceIDs[i], Duration: time.Duration(5*(1+rng.IntN(24))) * time.Minute}
		if rng.IntN(2) == 0 {
			service.BufferBefore = time.Duration(5*rng.IntN(7)) * time.Minute
			service.BufferAfter = time.Duration(5*rng.IntN(7)) * time.Minute
		}
		shop.query.Services = append(shop.query.Services, service)
	}
	switch rng.IntN(20) {
	case 0:
		shop.query.StaffID = randomUUID(rng)
	case 1, 2, 3, 4, 5:
		shop.query.StaffID = pick(rng, staffIDs...)
	}
	return shop
}

func (s randomShop) String() string {
	return fmt.Sprintf("%d days from %v in %v, now %v, %d services, staff %v",
		len(s.days), s.days[0].Date, s.days[0].Rules.TimeZone, s.query.Now, len(s.query.Services), s.query.StaffID)
}

// propertyCases is the number of random shops, fewer with -short.
func propertyCases() int {
	if testing.Short() {
		return 300
	}
	return 5000
}

func TestFindMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < propertyCases(); n++ {
		shop := newRandomShop(rng)

		got := Find(shop.days, shop.query)
		want := referenceFind(t, shop.base, shop.days, shop.query)

		if !sameSlots(got, want) {
			t.Fatalf("case %d (%v):\nFind      %v\nreference %v", n, shop, describeSlots(got), describeSlots(want))
		}
	}
}

func TestCheckMatchesFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < propertyCases(); n++ {
		shop := newRandomShop(rng)
		found := Find(shop.days, shop.query)
		byStart := map[int64]Slot{}
		for _, slot := range found {
			byStart[slot.Start.Unix()] = slot
		}

		starts := make([]time.Time, 0, len(found)+40)
		for _, slot := range found {
			starts = append(starts, slot.Start)
		}
		first := shop.days[0].Date
		firstMidnight := time.Date(first.Year, first.Month, first.Day, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 40; i++ {
			starts = append(starts, firstMidnight.Add(time.Duration(5*rng.IntN(4*288)-5*48)*time.Minute))
		}

		for _, start := range starts {
			got, err := Check(shop.days, shop.query, start)
			want, listed := byStart[start.Unix()]
			switch {
			case listed && err != nil:
				t.Fatalf("case %d (%v): Find lists %v but Check returns %v", n, shop, start, err)
			case listed && got != want:
				t.Fatalf("case %d (%v): Check(%v) = %+v, Find lists %+v", n, shop, start, got, want)
			case !listed && err == nil:
				t.Fatalf("case %d (%v): Check(%v) = %+v, but Find does not list it", n, shop, start, got)
			case !listed && !isCheckError(err):
				t.Fatalf("case %d (%v): Check(%v) returned %v, want one of the package's errors", n, shop, start, err)
			}
		}
	}
}

func isCheckError(err error) bool {
	for _, known := range []error{ErrInPast, ErrTooSoon, ErrBeyondWindow, ErrServiceNotPerformed, ErrOutsideHours, ErrSlotTaken} {
		if errors.Is(err, known) {
			return true
		}
	}
	return false
}

func sameSlots(a, b []Slot) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) || a[i].StaffID != b[i].StaffID {
			return false
		}
	}
	return true
}

func describeSlots(slots []Slot) []string {
	out := make([]string, len(slots))
	for i, slot := range slots {
		out[i] = slot.Start.Format(time.RFC3339) + " " + slot.StaffID.String()[:8]
	}
	return out
}

package slots

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// series returns RFC 3339 starts on one date from the wall minute first to last inclusive, every
// step minutes, all with the same UTC offset.
func series(day string, first, last, step int, offset string) []string {
	var out []string
	for minute := first; minute <= last; minute += step {
		out = append(out, fmt.Sprintf("%sT%02d:%02d:00%s", day, minute/60, minute%60, offset))
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, list := range lists {
		out = append(out, list...)
	}
	return out
}

// withBusy returns d with the busy intervals added to its first staff member.
func withBusy(d DaySchedule, busy ...Busy) DaySchedule {
	staff := append([]StaffDay(nil), d.Staff...)
	staff[0].Busy = append(append([]Busy(nil), staff[0].Busy...), busy...)
	d.Staff = staff
	return d
}

// withOpening returns d with the given opening windows.
func withOpening(d DaySchedule, windows ...WallWindow) DaySchedule {
	d.Opening = DayHours{Windows: windows}
	return d
}

func TestFind(t *testing.T) {
	springDay := date(2026, time.March, 29)
	fallDay := date(2026, time.October, 25)
	june10 := date(2026, time.June, 10)

	bufferedCut := Service{ID: cut.ID, Duration: 30 * time.Minute, BufferBefore: 15 * time.Minute, BufferAfter: 15 * time.Minute}

	breakDay := shopDay(june10, 30, window(hm(9, 30), hm(17, 0)))
	breakDay.Staff[0].Hours.Breaks = []WallWindow{window(hm(12, 0), hm(12, 30))}

	weekday := func(day int) DaySchedule {
		d := shopDay(date(2026, time.March, day), 60, window(hm(9, 0), hm(17, 0)))
		d.Staff[0].TimeOff = []Interval{{
			Start: instant(t, "2026-03-30T14:00:00+01:00"),
			End:   instant(t, "2026-04-02T12:00:00+01:00"),
		}}
		return d
	}
	timeOffDays := []DaySchedule{weekday(30), weekday(31)}
	for _, day := range []int{1, 2} {
		d := weekday(day)
		d.Date = date(2026, time.April, day)
		timeOffDays = append(timeOffDays, d)
	}

	nightDay := withOpening(shopDay(date(2026, time.June, 15), 60, window(hm(22, 0), hm(26, 0))), window(hm(22, 0), hm(26, 0)))
	nightNextDay := withOpening(shopDay(date(2026, time.June, 16), 60), window(hm(0, 0), hm(24, 0)))

	holdAt := func(expires string) Busy {
		hold := booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T11:00:00+01:00")
		hold.HoldExpiresAt = instant(t, expires)
		return hold
	}
	holdNow := instant(t, "2026-06-10T08:00:00+01:00")

	tests := []struct {
		name  string
		days  []DaySchedule
		query Query
		want  []string
	}{
		{
			name:  "spring-forward day keeps its wall hours",
			days:  []DaySchedule{shopDay(springDay, 60, window(hm(10, 0), hm(16, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  series("2026-03-29", hm(10, 0), hm(15, 0), 60, "+01:00"),
		},
		{
			name:  "Sunday before spring-forward",
			days:  []DaySchedule{shopDay(springDay.AddDays(-7), 60, window(hm(10, 0), hm(16, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  series("2026-03-22", hm(10, 0), hm(15, 0), 60, "Z"),
		},
		{
			name:  "fall-back day repeats an hour",
			days:  []DaySchedule{shopDay(fallDay, 60, window(hm(0, 0), hm(3, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-10-25T00:00:00+01:00", "2026-10-25T01:00:00+01:00",
				"2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z",
			},
		},
		{
			name: "fall-back booking keeps second 01:00",
			days: []DaySchedule{withBusy(shopDay(fallDay, 60, window(hm(0, 0), hm(3, 0))),
				booked(t, "2026-10-25T01:00:00+01:00", "2026-10-25T02:00:00+01:00"))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  []string{"2026-10-25T00:00:00+01:00", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		},
		{
			name:  "hours inside spring gap give nothing",
			days:  []DaySchedule{shopDay(springDay, 15, window(hm(1, 0), hm(1, 30)))},
			query: Query{Services: []Service{minutes(15)}, Now: longBefore},
			want:  nil,
		},
		{
			name:  "spring gap skipped in elapsed time",
			days:  []DaySchedule{shopDay(springDay, 60, window(hm(0, 0), hm(3, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  []string{"2026-03-29T00:00:00Z", "2026-03-29T02:00:00+01:00"},
		},
		{
			name: "buffers keep clear of a booking",
			days: []DaySchedule{withBusy(shopDay(june10, 15, window(hm(9, 0), hm(13, 0))),
				booked(t, "2026-06-10T10:45:00+01:00", "2026-06-10T11:45:00+01:00"))},
			query: Query{Services: []Service{bufferedCut}, Now: longBefore},
			want: []string{
				"2026-06-10T09:15:00+01:00", "2026-06-10T09:30:00+01:00", "2026-06-10T09:45:00+01:00",
				"2026-06-10T10:00:00+01:00", "2026-06-10T12:00:00+01:00", "2026-06-10T12:15:00+01:00",
			},
		},
		{
			name:  "break splits the day",
			days:  []DaySchedule{breakDay},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: concat(
				series("2026-06-10", hm(9, 30), hm(11, 0), 30, "+01:00"),
				series("2026-06-10", hm(12, 30), hm(16, 0), 30, "+01:00"),
			),
		},
		{
			name: "long service after long booking",
			days: []DaySchedule{withBusy(shopDay(june10, 30, window(hm(9, 0), hm(17, 0))),
				booked(t, "2026-06-10T09:30:00+01:00", "2026-06-10T12:30:00+01:00"))},
			query: Query{Services: []Service{minutes(180)}, Now: longBefore},
			want:  series("2026-06-10", hm(12, 30), hm(14, 0), 30, "+01:00"),
		},
		{
			name: "short service around long booking",
			days: []DaySchedule{withBusy(shopDay(june10, 30, window(hm(9, 0), hm(17, 0))),
				booked(t, "2026-06-10T09:30:00+01:00", "2026-06-10T12:30:00+01:00"))},
			query: Query{Services: []Service{minutes(30)}, Now: longBefore},
			want: concat(
				[]string{"2026-06-10T09:00:00+01:00"},
				series("2026-06-10", hm(12, 30), hm(16, 30), 30, "+01:00"),
			),
		},
		{
			name: "nested bookings, outer first",
			days: []DaySchedule{withBusy(shopDay(june10, 60, window(hm(9, 0), hm(17, 0))),
				booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T14:00:00+01:00"),
				booked(t, "2026-06-10T12:00:00+01:00", "2026-06-10T13:00:00+01:00"))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T14:00:00+01:00",
				"2026-06-10T15:00:00+01:00", "2026-06-10T16:00:00+01:00",
			},
		},
		{
			name: "nested bookings, inner first",
			days: []DaySchedule{withBusy(shopDay(june10, 60, window(hm(9, 0), hm(17, 0))),
				booked(t, "2026-06-10T12:00:00+01:00", "2026-06-10T13:00:00+01:00"),
				booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T14:00:00+01:00"))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T14:00:00+01:00",
				"2026-06-10T15:00:00+01:00", "2026-06-10T16:00:00+01:00",
			},
		},
		{
			name:  "time off across days",
			days:  timeOffDays,
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: concat(
				series("2026-03-30", hm(9, 0), hm(13, 0), 60, "+01:00"),
				series("2026-04-02", hm(12, 0), hm(16, 0), 60, "+01:00"),
			),
		},
		{
			name:  "time off from its third day",
			days:  timeOffDays[2:],
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  series("2026-04-02", hm(12, 0), hm(16, 0), 60, "+01:00"),
		},
		{
			name:  "today starts after now",
			days:  []DaySchedule{shopDay(june10, 30, window(hm(9, 0), hm(17, 0)))},
			query: Query{Services: []Service{minutes(30)}, Now: instant(t, "2026-06-10T14:10:00+01:00")},
			want:  series("2026-06-10", hm(14, 30), hm(16, 30), 30, "+01:00"),
		},
		{
			name:  "yesterday gives nothing",
			days:  []DaySchedule{shopDay(june10.AddDays(-1), 30, window(hm(9, 0), hm(17, 0)))},
			query: Query{Services: []Service{minutes(30)}, Now: instant(t, "2026-06-10T14:10:00+01:00")},
			want:  nil,
		},
		{
			name:  "leap day is a normal day",
			days:  []DaySchedule{shopDay(date(2028, time.February, 29), 60, window(hm(9, 0), hm(12, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  series("2028-02-29", hm(9, 0), hm(11, 0), 60, "Z"),
		},
		{
			name:  "midnight-crossing window keeps start date",
			days:  []DaySchedule{nightDay, nightNextDay},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-06-15T22:00:00+01:00", "2026-06-15T23:00:00+01:00",
				"2026-06-16T00:00:00+01:00", "2026-06-16T01:00:00+01:00",
			},
		},
		{
			name:  "next day alone has no night slots",
			days:  []DaySchedule{nightNextDay},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  nil,
		},
		{
			name:  "expired hold blocks nothing",
			days:  []DaySchedule{withBusy(shopDay(june10, 60, window(hm(9, 0), hm(12, 0))), holdAt("2026-06-10T08:00:00+01:00"))},
			query: Query{Services: []Service{minutes(60)}, Now: holdNow},
			want:  series("2026-06-10", hm(9, 0), hm(11, 0), 60, "+01:00"),
		},
		{
			name:  "live hold blocks",
			days:  []DaySchedule{withBusy(shopDay(june10, 60, window(hm(9, 0), hm(12, 0))), holdAt("2026-06-10T08:00:01+01:00"))},
			query: Query{Services: []Service{minutes(60)}, Now: holdNow},
			want:  []string{"2026-06-10T09:00:00+01:00", "2026-06-10T11:00:00+01:00"},
		},
		{
			name: "notice is elapsed time from now",
			days: []DaySchedule{func() DaySchedule {
				d := shopDay(june10, 30, window(hm(9, 0), hm(13, 0)))
				d.Rules.NoticeMinutes = 120
				return d
			}()},
			query: Query{Services: []Service{minutes(30)}, Now: instant(t, "2026-06-10T09:01:00+01:00")},
			want:  series("2026-06-10", hm(11, 30), hm(12, 30), 30, "+01:00"),
		},
		{
			name: "booking window counts today as day 1",
			days: func() []DaySchedule {
				var days []DaySchedule
				for i := 0; i < 3; i++ {
					d := shopDay(june10.AddDays(i), 60, window(hm(9, 0), hm(10, 0)))
					d.Rules.WindowDays = 2
					days = append(days, d)
				}
				return days
			}(),
			query: Query{Services: []Service{minutes(60)}, Now: instant(t, "2026-06-10T08:00:00+01:00")},
			want:  []string{"2026-06-10T09:00:00+01:00", "2026-06-11T09:00:00+01:00"},
		},
		{
			name: "closed date gives nothing",
			days: []DaySchedule{func() DaySchedule {
				d := shopDay(june10, 60, window(hm(9, 0), hm(12, 0)))
				d.Closed = true
				return d
			}()},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  nil,
		},
		{
			name:  "no opening hours give nothing",
			days:  []DaySchedule{withOpening(shopDay(june10, 60, window(hm(9, 0), hm(12, 0))))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  nil,
		},
		{
			name: "service fits one opening window",
			days: []DaySchedule{withOpening(shopDay(june10, 30, window(hm(9, 0), hm(17, 0))),
				window(hm(10, 0), hm(12, 0)), window(hm(13, 0), hm(14, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00",
				"2026-06-10T11:00:00+01:00", "2026-06-10T13:00:00+01:00",
			},
		},
		{
			name: "buffers may lie outside opening hours",
			days: []DaySchedule{withOpening(shopDay(june10, 15, window(hm(9, 0), hm(12, 0))),
				window(hm(10, 0), hm(11, 0)))},
			query: Query{Services: []Service{bufferedCut}, Now: longBefore},
			want:  series("2026-06-10", hm(10, 0), hm(10, 30), 15, "+01:00"),
		},
		{
			name: "grid restarts at each working window",
			days: []DaySchedule{shopDay(june10, 45,
				window(hm(9, 0), hm(10, 0)), window(hm(10, 10), hm(12, 0)))},
			query: Query{Services: []Service{minutes(30)}, Now: longBefore},
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T10:10:00+01:00",
				"2026-06-10T10:55:00+01:00",
			},
		},
		{
			name: "overlapping windows list starts once",
			days: []DaySchedule{shopDay(june10, 60,
				window(hm(9, 0), hm(12, 0)), window(hm(10, 30), hm(12, 0)), window(hm(9, 0), hm(11, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T10:00:00+01:00",
				"2026-06-10T10:30:00+01:00", "2026-06-10T11:00:00+01:00",
			},
		},
		{
			name:  "New York spring-forward day",
			days:  []DaySchedule{zoneDay(newYork, date(2026, time.March, 8), 60, window(hm(1, 0), hm(5, 0)))},
			query: Query{Services: []Service{minutes(60)}, Now: longBefore},
			want:  []string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"},
		},
		{
			name:  "Lord Howe half-hour fall-back",
			days:  []DaySchedule{zoneDay(lordHowe, date(2026, time.April, 5), 30, window(hm(1, 0), hm(2, 30)))},
			query: Query{Services: []Service{minutes(30)}, Now: longBefore},
			want: []string{
				"2026-04-05T01:00:00+11:00", "2026-04-05T01:30:00+11:00",
				"2026-04-05T01:30:00+10:30", "2026-04-05T02:00:00+10:30",
			},
		},
		{
			name:  "Lord Howe half-hour spring-forward",
			days:  []DaySchedule{zoneDay(lordHowe, date(2026, time.October, 4), 30, window(hm(1, 0), hm(3, 30)))},
			query: Query{Services: []Service{minutes(30)}, Now: longBefore},
			want: []string{
				"2026-10-04T01:00:00+10:30", "2026-10-04T01:30:00+10:30",
				"2026-10-04T02:30:00+11:00", "2026-10-04T03:00:00+11:00",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertStarts(t, Find(tt.days, tt.query), tt.want)
		})
	}
}

// zoneDay is shopDay in another time zone.
func zoneDay(tz *time.Location, d Date, step int, windows ...WallWindow) DaySchedule {
	day := shopDay(d, step, windows...)
	day.Rules.TimeZone = tz
	return day
}

// twoBarbersDay returns a June day where staffA cuts and staffB cuts and trims beards, both
// working 09:00-17:00 with a 15-minute step.
func twoBarbersDay(busyA ...Busy) DaySchedule {
	return DaySchedule{
		Date:    date(2026, time.June, 10),
		Rules:   londonRules(15),
		Opening: DayHours{Windows: []WallWindow{window(hm(8, 0), hm(18, 0))}},
		Staff: []StaffDay{
			{
				StaffID:  staffB,
				Services: performs(cut.ID, beard.ID),
				Hours:    DayHours{Windows: []WallWindow{window(hm(9, 0), hm(17, 0))}},
			},
			{
				StaffID:  staffA,
				Services: performs(cut.ID),
				Hours:    DayHours{Windows: []WallWindow{window(hm(9, 0), hm(17, 0))}},
				Busy:     busyA,
			},
		},
	}
}

func TestFindAnyStaff(t *testing.T) {
	bookingA := booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00")
	halfHourDay := twoBarbersDay(bookingA)
	halfHourDay.Rules.StepMinutes = 30

	tests := []struct {
		name      string
		day       DaySchedule
		query     Query
		wantFirst string
		wantLast  string
		wantCount int
		wantStaff func(start string) uuid.UUID
	}{
		{
			name:      "cuts go to less busy staff",
			day:       halfHourDay,
			query:     Query{Services: []Service{cut}, Now: longBefore},
			wantFirst: "2026-06-10T09:00:00+01:00",
			wantLast:  "2026-06-10T16:30:00+01:00",
			wantCount: 16,
			wantStaff: func(string) uuid.UUID { return staffB },
		},
		{
			name:      "equal busy time picks smaller id",
			day:       twoBarbersDay(),
			query:     Query{Services: []Service{cut}, Now: longBefore},
			wantFirst: "2026-06-10T09:00:00+01:00",
			wantLast:  "2026-06-10T16:30:00+01:00",
			wantCount: 31,
			wantStaff: func(string) uuid.UUID { return staffA },
		},
		{
			name:      "beard trims use only staff B",
			day:       twoBarbersDay(bookingA),
			query:     Query{Services: []Service{beard}, Now: longBefore},
			wantFirst: "2026-06-10T09:00:00+01:00",
			wantLast:  "2026-06-10T16:45:00+01:00",
			wantCount: 32,
			wantStaff: func(string) uuid.UUID { return staffB },
		},
		{
			name:      "requested staff A skips booking",
			day:       halfHourDay,
			query:     Query{Services: []Service{cut}, StaffID: staffA, Now: longBefore},
			wantFirst: "2026-06-10T09:00:00+01:00",
			wantLast:  "2026-06-10T16:30:00+01:00",
			wantCount: 15,
			wantStaff: func(string) uuid.UUID { return staffA },
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Find([]DaySchedule{tt.day}, tt.query)
			if len(got) != tt.wantCount {
				t.Fatalf("got %d slots %v, want %d", len(got), starts(got), tt.wantCount)
			}
			if first := got[0].Start.Format(time.RFC3339); first != tt.wantFirst {
				t.Errorf("first slot starts at %s, want %s", first, tt.wantFirst)
			}
			if last := got[len(got)-1].Start.Format(time.RFC3339); last != tt.wantLast {
				t.Errorf("last slot starts at %s, want %s", last, tt.wantLast)
			}
			for _, slot := range got {
				start := slot.Start.Format(time.RFC3339)
				if want := tt.wantStaff(start); slot.StaffID != want {
					t.Errorf("slot %s goes to %s, want %s", start, slot.StaffID, want)
				}
			}
		})
	}
}

func TestFindAnyStaffFillsBookedStart(t *testing.T) {
	day := twoBarbersDay(booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00"))
	day.Rules.StepMinutes = 30
	// Staff B has more busy time than A here, so A takes every start except the one A is
	// booked for.
	day.Staff[0].Busy = []Busy{booked(t, "2026-06-10T16:00:00+01:00", "2026-06-10T17:00:00+01:00")}

	got := Find([]DaySchedule{day}, Query{Services: []Service{cut}, Now: longBefore})

	assertStarts(t, got, series("2026-06-10", hm(9, 0), hm(16, 30), 30, "+01:00"))
	for _, slot := range got {
		want := staffA
		if slot.Start.Equal(instant(t, "2026-06-10T10:00:00+01:00")) {
			want = staffB
		}
		if slot.StaffID != want {
			t.Errorf("slot %s goes to %s, want %s", slot.Start.Format(time.RFC3339), slot.StaffID, want)
		}
	}
}

func TestFindSeveralServices(t *testing.T) {
	day := func(busy ...Busy) DaySchedule {
		d := shopDay(date(2026, time.June, 10), 15, window(hm(9, 0), hm(11, 0)))
		return withBusy(d, busy...)
	}
	existing := booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00")
	cutAndBeard := booked(t, "2026-06-10T09:15:00+01:00", "2026-06-10T10:00:00+01:00")

	tests := []struct {
		name     string
		day      DaySchedule
		services []Service
		want     []string
	}{
		{
			name:     "cut then beard",
			day:      day(existing),
			services: []Service{cut, beard},
			want:     []string{"2026-06-10T09:00:00+01:00", "2026-06-10T09:15:00+01:00"},
		},
		{
			name:     "beard then cut",
			day:      day(existing),
			services: []Service{beard, cut},
			want:     []string{"2026-06-10T09:00:00+01:00", "2026-06-10T09:15:00+01:00"},
		},
		{
			name:     "beard alone",
			day:      day(existing),
			services: []Service{beard},
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T09:15:00+01:00", "2026-06-10T09:30:00+01:00",
				"2026-06-10T09:45:00+01:00", "2026-06-10T10:30:00+01:00", "2026-06-10T10:45:00+01:00",
			},
		},
		{
			name:     "beard after cut-and-beard booking",
			day:      day(existing, cutAndBeard),
			services: []Service{beard},
			want:     []string{"2026-06-10T09:00:00+01:00", "2026-06-10T10:30:00+01:00", "2026-06-10T10:45:00+01:00"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Find([]DaySchedule{tt.day}, Query{Services: tt.services, Now: longBefore})
			assertStarts(t, got, tt.want)
		})
	}
}

func TestFindSeveralServicesEndAndBuffers(t *testing.T) {
	withBuffers := func(s Service, before, after time.Duration) Service {
		s.BufferBefore, s.BufferAfter = before, after
		return s
	}
	// Only the first service's buffer before and the last one's buffer after apply, so the
	// 30-minute buffers inside the appointment are ignored.
	first := withBuffers(cut, 10*time.Minute, 30*time.Minute)
	second := withBuffers(beard, 30*time.Minute, 5*time.Minute)
	day := shopDay(date(2026, time.June, 10), 5, window(hm(9, 0), hm(10, 0)))

	got := Find([]DaySchedule{day}, Query{Services: []Service{first, second}, Now: longBefore})

	assertStarts(t, got, series("2026-06-10", hm(9, 10), hm(9, 10), 5, "+01:00"))
	if len(got) == 1 && got[0].End.Format(time.RFC3339) != "2026-06-10T09:55:00+01:00" {
		t.Errorf("slot ends at %s, want 2026-06-10T09:55:00+01:00", got[0].End.Format(time.RFC3339))
	}
}

func TestFindInvalidQuery(t *testing.T) {
	day := shopDay(date(2026, time.June, 10), 30, window(hm(9, 0), hm(17, 0)))

	tests := []struct {
		name     string
		services []Service
	}{
		{name: "no services", services: nil},
		{name: "six services", services: []Service{beard, beard, beard, beard, beard, beard}},
		{name: "zero duration", services: []Service{{ID: cut.ID}}},
		{name: "fractional second", services: []Service{{ID: cut.ID, Duration: time.Minute + time.Millisecond}}},
		{name: "negative buffer", services: []Service{{ID: cut.ID, Duration: time.Minute, BufferAfter: -time.Minute}}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Find([]DaySchedule{day}, Query{Services: tt.services, Now: longBefore}); got != nil {
				t.Errorf("Find returned %d slots, want none", len(got))
			}
		})
	}
}

func TestFindEndAndZone(t *testing.T) {
	day := zoneDay(newYork, date(2026, time.June, 10), 60, window(hm(9, 0), hm(10, 0)))

	got := Find([]DaySchedule{day}, Query{Services: []Service{minutes(45)}, Now: longBefore})

	if len(got) != 1 {
		t.Fatalf("got %d slots %v, want 1", len(got), starts(got))
	}
	if got[0].Start.Location() != newYork {
		t.Errorf("start is in %v, want America/New_York", got[0].Start.Location())
	}
	if end := got[0].End.Format(time.RFC3339); end != "2026-06-10T09:45:00-04:00" {
		t.Errorf("slot ends at %s, want 2026-06-10T09:45:00-04:00", end)
	}
	if got[0].StaffID != staffA {
		t.Errorf("slot goes to %s, want %s", got[0].StaffID, staffA)
	}
}

// TestFindConcurrentCalls runs Find on shared schedules from several goroutines, as
// availability-svc does with cached days. Under -race it also shows that Find does not write to
// its input.
func TestFindConcurrentCalls(t *testing.T) {
	days, query := benchmarkWeek(15)
	want := Find(days, query)

	results := make(chan []Slot, 8)
	for range 8 {
		go func() {
			var last []Slot
			for range 20 {
				last = Find(days, query)
			}
			results <- last
		}()
	}

	for range 8 {
		if got := <-results; !sameSlots(got, want) {
			t.Errorf("concurrent Find returned %d slots that differ from the %d of a single call", len(got), len(want))
		}
	}
}

package slots

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// checkDay returns a London day on 10 June 2026 where staffA cuts, but trims no beards, from 09:00 to 17:00 with a
// break 12:00-12:30, time off 15:00-16:00 and a booking 10:00-10:30. The step is 30 minutes, the
// notice 60 minutes and the booking window 7 days.
func checkDay(t *testing.T) DaySchedule {
	d := shopDay(date(2026, time.June, 10), 30, window(hm(9, 0), hm(17, 0)))
	d.Rules.NoticeMinutes = 60
	d.Rules.WindowDays = 7
	d.Staff[0].Services = performs(cut.ID, genericService)
	d.Staff[0].Hours.Breaks = []WallWindow{window(hm(12, 0), hm(12, 30))}
	d.Staff[0].TimeOff = []Interval{{
		Start: instant(t, "2026-06-10T15:00:00+01:00"),
		End:   instant(t, "2026-06-10T16:00:00+01:00"),
	}}
	d.Staff[0].Busy = []Busy{booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00")}
	return d
}

func TestCheck(t *testing.T) {
	now := instant(t, "2026-06-10T08:00:00+01:00")
	day := checkDay(t)
	closed := checkDay(t)
	closed.Closed = true
	nextWeek := checkDay(t)
	nextWeek.Date = date(2026, time.June, 17)

	tests := []struct {
		name      string
		days      []DaySchedule
		services  []Service
		staffID   uuid.UUID
		start     string
		wantErr   error
		wantStaff uuid.UUID
	}{
		{name: "free start", start: "2026-06-10T09:00:00+01:00", wantStaff: staffA},
		{name: "free start for requested staff", start: "2026-06-10T09:00:00+01:00", staffID: staffA, wantStaff: staffA},
		{name: "past", start: "2026-06-10T07:30:00+01:00", wantErr: ErrInPast},
		{name: "past and taken", start: "2026-06-09T10:00:00+01:00", wantErr: ErrInPast},
		{name: "within notice", start: "2026-06-10T08:30:00+01:00", wantErr: ErrTooSoon},
		{name: "just after notice", start: "2026-06-10T09:00:00+01:00", wantStaff: staffA},
		{name: "beyond window", days: []DaySchedule{day, nextWeek}, start: "2026-06-17T09:00:00+01:00", wantErr: ErrBeyondWindow},
		{name: "service not performed", services: []Service{beard}, start: "2026-06-10T09:00:00+01:00", wantErr: ErrServiceNotPerformed},
		{name: "not performed beats taken", services: []Service{beard}, start: "2026-06-10T10:00:00+01:00", wantErr: ErrServiceNotPerformed},
		{name: "after working hours", start: "2026-06-10T17:00:00+01:00", wantErr: ErrOutsideHours},
		{name: "overruns working hours", start: "2026-06-10T16:45:00+01:00", wantErr: ErrOutsideHours},
		{name: "off the grid", start: "2026-06-10T09:10:00+01:00", wantErr: ErrOffGrid},
		{name: "fraction of a second", start: "2026-06-10T09:00:00.5+01:00", wantErr: ErrOffGrid},
		{name: "on a break", start: "2026-06-10T12:00:00+01:00", wantErr: ErrOnBreak},
		{name: "overruns into a break", services: []Service{minutes(60)}, start: "2026-06-10T11:30:00+01:00", wantErr: ErrOnBreak},
		{name: "in time off", start: "2026-06-10T15:30:00+01:00", wantErr: ErrTimeOff},
		{name: "taken", start: "2026-06-10T10:00:00+01:00", wantErr: ErrSlotTaken},
		{name: "closed", days: []DaySchedule{closed}, start: "2026-06-10T09:00:00+01:00", wantErr: ErrOutsideHours},
		{name: "staff member not working", staffID: staffB, start: "2026-06-10T09:00:00+01:00", wantErr: ErrOutsideHours},
		{name: "no days", days: []DaySchedule{}, start: "2026-06-10T09:00:00+01:00", wantErr: ErrOutsideHours},
		{name: "no services", services: []Service{}, start: "2026-06-10T09:00:00+01:00", wantErr: ErrInvalidQuery},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days := tt.days
			if days == nil {
				days = []DaySchedule{day}
			}
			services := tt.services
			if services == nil {
				services = []Service{cut}
			}
			query := Query{Services: services, StaffID: tt.staffID, Now: now}
			start := instant(t, tt.start)

			got, err := Check(days, query, start)

			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Check(%s) error = %v, want %v", tt.start, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check(%s) returned error: %v", tt.start, err)
			}
			if !got.Start.Equal(start) {
				t.Errorf("slot starts at %v, want %v", got.Start, start)
			}
			if want := start.Add(cut.Duration); !got.End.Equal(want) {
				t.Errorf("slot ends at %v, want %v", got.End, want)
			}
			if got.StaffID != tt.wantStaff {
				t.Errorf("slot goes to %s, want %s", got.StaffID, tt.wantStaff)
			}
		})
	}
}

func TestCheckErrorsMatchOutsideHours(t *testing.T) {
	for _, err := range []error{ErrOffGrid, ErrOnBreak, ErrTimeOff} {
		if !errors.Is(err, ErrOutsideHours) {
			t.Errorf("errors.Is(%v, ErrOutsideHours) = false, want true", err)
		}
	}
	for _, err := range []error{ErrInPast, ErrTooSoon, ErrBeyondWindow, ErrServiceNotPerformed, ErrSlotTaken, ErrInvalidQuery} {
		if errors.Is(err, ErrOutsideHours) {
			t.Errorf("errors.Is(%v, ErrOutsideHours) = true, want false", err)
		}
	}
}

func TestCheckErrorNamesStart(t *testing.T) {
	now := instant(t, "2026-06-10T08:00:00+01:00")
	query := Query{Services: []Service{cut}, Now: now}

	_, err := Check([]DaySchedule{checkDay(t)}, query, instant(t, "2026-06-10T10:00:00+01:00"))

	want := "check slot 2026-06-10T10:00:00+01:00: slot is taken by a booking or a live hold"
	if err == nil || err.Error() != want {
		t.Errorf("Check error = %v, want %q", err, want)
	}
}

func TestCheckAnyStaffMatchesFind(t *testing.T) {
	day := twoBarbersDay(booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00"))
	day.Staff[0].Busy = []Busy{booked(t, "2026-06-10T16:00:00+01:00", "2026-06-10T17:00:00+01:00")}
	query := Query{Services: []Service{cut}, Now: longBefore}

	found := Find([]DaySchedule{day}, query)
	if len(found) == 0 {
		t.Fatal("Find returned no slots")
	}
	for _, want := range found {
		got, err := Check([]DaySchedule{day}, query, want.Start)
		if err != nil {
			t.Errorf("Check(%s) returned error: %v", want.Start.Format(time.RFC3339), err)
			continue
		}
		if got != want {
			t.Errorf("Check(%s) = %+v, want %+v", want.Start.Format(time.RFC3339), got, want)
		}
	}
}

func TestCheckSpringGap(t *testing.T) {
	day := shopDay(date(2026, time.March, 29), 60, window(hm(0, 0), hm(3, 0)))
	query := Query{Services: []Service{minutes(60)}, Now: longBefore}

	if _, err := Check([]DaySchedule{day}, query, instant(t, "2026-03-29T02:00:00+01:00")); err != nil {
		t.Errorf("Check(02:00+01:00) returned error: %v", err)
	}
	if _, err := Check([]DaySchedule{day}, query, instant(t, "2026-03-29T03:00:00+01:00")); !errors.Is(err, ErrOutsideHours) {
		t.Errorf("Check(03:00+01:00) error = %v, want %v", err, ErrOutsideHours)
	}
}

func TestAlternatives(t *testing.T) {
	day := withBusy(shopDay(date(2026, time.June, 10), 30, window(hm(9, 0), hm(12, 0))),
		booked(t, "2026-06-10T10:00:00+01:00", "2026-06-10T10:30:00+01:00"))
	query := Query{Services: []Service{minutes(30)}, Now: longBefore}

	tests := []struct {
		name  string
		start string
		n     int
		want  []string
	}{
		{
			name:  "nearest on both sides",
			start: "2026-06-10T10:00:00+01:00",
			n:     2,
			want:  []string{"2026-06-10T09:30:00+01:00", "2026-06-10T10:30:00+01:00"},
		},
		{
			name:  "tie goes to the earlier",
			start: "2026-06-10T10:00:00+01:00",
			n:     3,
			want:  []string{"2026-06-10T09:00:00+01:00", "2026-06-10T09:30:00+01:00", "2026-06-10T10:30:00+01:00"},
		},
		{
			name:  "nearer later slot wins",
			start: "2026-06-10T10:20:00+01:00",
			n:     1,
			want:  []string{"2026-06-10T10:30:00+01:00"},
		},
		{
			name:  "before the first slot",
			start: "2026-06-10T07:00:00+01:00",
			n:     2,
			want:  []string{"2026-06-10T09:00:00+01:00", "2026-06-10T09:30:00+01:00"},
		},
		{
			name:  "more than there are",
			start: "2026-06-10T10:00:00+01:00",
			n:     10,
			want: []string{
				"2026-06-10T09:00:00+01:00", "2026-06-10T09:30:00+01:00", "2026-06-10T10:30:00+01:00",
				"2026-06-10T11:00:00+01:00", "2026-06-10T11:30:00+01:00",
			},
		},
		{
			name:  "bookable start included",
			start: "2026-06-10T11:00:00+01:00",
			n:     1,
			want:  []string{"2026-06-10T11:00:00+01:00"},
		},
		{
			name:  "zero wanted",
			start: "2026-06-10T10:00:00+01:00",
			n:     0,
			want:  nil,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertStarts(t, Alternatives([]DaySchedule{day}, query, instant(t, tt.start), tt.n), tt.want)
		})
	}
}

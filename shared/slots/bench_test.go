package slots

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
)

// benchmarkWeek returns a London week of 12 staff members who work 09:00-18:00 with a break
// 13:00-13:30. About 60% of each working day is booked in 30-minute appointments.
func benchmarkWeek(step int) ([]DaySchedule, Query) {
	rng := rand.New(rand.NewPCG(7, 7))
	haircut := Service{ID: uuid.MustParse("c0000000-0000-4000-8000-0000000000b1"), Duration: 30 * time.Minute}
	rules := Rules{TimeZone: london, StepMinutes: step, NoticeMinutes: 60, WindowDays: 31}
	monday := date(2026, time.June, 8)

	staffIDs := make([]uuid.UUID, 12)
	for i := range staffIDs {
		staffIDs[i] = randomUUID(rng)
	}

	days := make([]DaySchedule, 7)
	for d := range days {
		day := monday.AddDays(d)
		days[d] = DaySchedule{
			Date:    day,
			Rules:   rules,
			Opening: DayHours{Windows: []WallWindow{window(hm(8, 30), hm(19, 0))}},
		}
		for _, id := range staffIDs {
			staff := StaffDay{
				StaffID:  id,
				Services: performs(haircut.ID),
				Hours: DayHours{
					Windows: []WallWindow{window(hm(9, 0), hm(18, 0))},
					Breaks:  []WallWindow{window(hm(13, 0), hm(13, 30))},
				},
			}
			for minute := hm(9, 0); minute < hm(18, 0); minute += 30 {
				if minute != hm(13, 0) && rng.IntN(10) < 6 {
					start := day.At(minute, london)
					staff.Busy = append(staff.Busy, Busy{Interval: Interval{Start: start, End: start.Add(30 * time.Minute)}})
				}
			}
			days[d].Staff = append(days[d].Staff, staff)
		}
	}

	now := time.Date(2026, time.June, 8, 7, 0, 0, 0, london)
	return days, Query{Services: []Service{haircut}, Now: now}
}

func benchmarkFind(b *testing.B, step int) {
	days, query := benchmarkWeek(step)
	slots := len(Find(days, query))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Find(days, query)
	}
	b.ReportMetric(float64(slots), "slots/op")
}

// BenchmarkFind7Days12Staff lists a week of 15-minute slots for any of 12 staff members.
func BenchmarkFind7Days12Staff(b *testing.B) { benchmarkFind(b, 15) }

// BenchmarkFind7Days12StaffStep5 is BenchmarkFind7Days12Staff with three times as many
// candidate starts, to show that allocations do not grow with them.
func BenchmarkFind7Days12StaffStep5(b *testing.B) { benchmarkFind(b, 5) }

// BenchmarkFind7DaysOneStaff lists a week of slots for one requested staff member.
func BenchmarkFind7DaysOneStaff(b *testing.B) {
	days, query := benchmarkWeek(15)
	query.StaffID = days[0].Staff[3].StaffID
	b.ReportAllocs()
	for b.Loop() {
		Find(days, query)
	}
}

// BenchmarkCheck re-checks one start for any staff member.
func BenchmarkCheck(b *testing.B) {
	days, query := benchmarkWeek(15)
	start := Find(days, query)[40].Start
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(days, query, start); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

func TestAnswerValidUntil(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	loc := &schedule.Location{Zone: london, MinNoticeMinutes: 60}
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, london)
	slot := func(hour int) slots.Slot {
		start := time.Date(2026, 6, 10, hour, 0, 0, 0, london)
		return slots.Slot{Start: start, End: start.Add(30 * time.Minute)}
	}
	hold := func(expires time.Time) []slots.DaySchedule {
		return []slots.DaySchedule{{Staff: []slots.StaffDay{{Busy: []slots.Busy{{HoldExpiresAt: expires}}}}}}
	}

	cases := []struct {
		name  string
		days  []slots.DaySchedule
		found []slots.Slot
		want  time.Time
	}{
		{"first slot enters the notice", nil, []slots.Slot{slot(11), slot(12)}, now},
		{"no slots lasts the TTL", nil, nil, now.Add(answerTTL)},
		{"a hold lapses first", hold(now.Add(20 * time.Second)), nil, now.Add(20 * time.Second)},
		{"a lapsed hold is ignored", hold(now.Add(-time.Second)), nil, now.Add(answerTTL)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := answerValidUntil(now, loc, tc.days, tc.found); !got.Equal(tc.want) {
				t.Errorf("valid until %s, want %s", got, tc.want)
			}
		})
	}

	late := time.Date(2026, 6, 10, 23, 59, 30, 0, london)
	if got := answerValidUntil(late, loc, nil, nil); !got.Equal(time.Date(2026, 6, 11, 0, 0, 0, 0, london)) {
		t.Errorf("valid until %s, want local midnight", got)
	}
}

func TestAnswersReuseOnlyWithinVersionAndSpan(t *testing.T) {
	a, err := newAnswers(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	now := time.Now()
	key := answerKey(uuid.New(), "date=2026-06-10")
	a.put(key, &answer{body: []byte("{}"), etag: `"x"`, version: 7, from: now, until: now.Add(time.Minute)})
	a.store.Wait()

	if _, ok := a.get(key, 7, now.Add(time.Second)); !ok {
		t.Error("answer not reused within its version and span")
	}
	if _, ok := a.get(key, 8, now.Add(time.Second)); ok {
		t.Error("answer reused after its days changed version")
	}
	if _, ok := a.get(key, 7, now.Add(-time.Second)); ok {
		t.Error("answer reused for a clock set before it was computed")
	}
	if _, ok := a.get(key, 7, now.Add(time.Minute)); ok {
		t.Error("answer reused at its expiry")
	}
}

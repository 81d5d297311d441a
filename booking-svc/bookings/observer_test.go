package bookings

import (
	"sync"
	"testing"
	"time"
)

// countingObserver records what the store reports.
type countingObserver struct {
	mu            sync.Mutex
	outcomes      map[Outcome]int
	notifications int
}

func (o *countingObserver) BookingOutcome(outcome Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes[outcome]++
}

func (o *countingObserver) NotificationsSent(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.notifications += n
}

func (o *countingObserver) Retrying(string, int, error) {}

// TestObserverCountsOutcomes walks a booking through its lifecycle, with a rejection of each
// kind, and checks each outcome is reported exactly once.
func TestObserverCountsOutcomes(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	observer := &countingObserver{outcomes: map[Outcome]int{}}
	s.store.Observer = observer

	held := s.hold(s.colour, s.alice, "10:00", 10*time.Minute)
	if _, err := s.store.Confirm(s.ctx, s.org, s.now, held.ID.String(), ConfirmInput{}); err == nil {
		t.Fatal("a hold that needs a deposit was confirmed without one")
	}
	deposit := ConfirmInput{Deposit: &Deposit{AmountMinor: 1500, Currency: "GBP", PaymentReference: "pi_1"}}
	if _, err := s.store.Confirm(s.ctx, s.org, s.now, held.ID.String(), deposit); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "10:15")); !isSlotTaken(err) {
		t.Fatalf("book a taken slot: err = %v, want the slot taken", err)
	}
	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "18:00")); err == nil {
		t.Fatal("a booking after the staff member's hours was accepted")
	}

	booked := s.book(s.cut, s.bob, "11:00")
	if _, err := s.store.Reschedule(s.ctx, s.org, s.now, booked.ID.String(), RescheduleInput{StartsAt: s.on("12:00")}); err != nil {
		t.Fatalf("reschedule: %v", err)
	}
	if _, err := s.store.Cancel(s.ctx, s.org, s.now, booked.ID.String(), CancelInput{Reason: "ill", CancelledBy: "client"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	lapsing := s.hold(s.cut, s.bob, "14:00", time.Minute)
	s.exec(`UPDATE organisations SET test_clock = $2 WHERE id = $1`, s.org, s.now.Add(2*time.Minute))
	if n, err := s.store.ExpireHolds(s.ctx); err != nil || n != 1 {
		t.Fatalf("expire holds = %d, %v; want 1 hold expired (%s)", n, err, lapsing.ID)
	}

	want := map[Outcome]int{
		OutcomeHeld: 2, OutcomeConfirmed: 1, OutcomeCreated: 1, OutcomeRescheduled: 1, OutcomeCancelled: 1,
		OutcomeExpired: 1, OutcomeConflict: 1, OutcomeRuleBroken: 2,
	}
	for _, outcome := range Outcomes {
		if observer.outcomes[outcome] != want[outcome] {
			t.Errorf("outcome %s reported %d times, want %d", outcome, observer.outcomes[outcome], want[outcome])
		}
	}
	// Each of the 7 committed writes notifies once per change of schedule; a reschedule
	// notifies for the old and the new interval.
	if observer.notifications != 8 {
		t.Errorf("notifications sent = %d, want 8", observer.notifications)
	}
}

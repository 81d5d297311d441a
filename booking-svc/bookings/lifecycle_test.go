package bookings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/setora/rest/shared/notify"
)

// TestConcurrentCreatesOneWins races twenty creates for one staff member and start, in several
// rounds, because a race can also end in a deadlock that the store must absorb.
func TestConcurrentCreatesOneWins(t *testing.T) {
	t.Parallel()
	s := newShop(t)

	const callers = 20
	starts := []string{"10:00", "11:00", "12:00", "13:00", "14:00"}
	for round, start := range starts {
		var wg sync.WaitGroup
		errs := make([]error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := s.input(s.cut, s.alice, start)
				in.Client = &ClientInput{Phone: fmt.Sprintf("+4477009%d%04d", round, i)}
				_, errs[i] = s.store.Create(s.ctx, s.org, s.now, in)
			}()
		}
		wg.Wait()

		won, taken := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case isSlotTaken(err):
				taken++
			default:
				t.Errorf("%s, caller %d: unexpected error %v", start, i, err)
			}
		}
		if won != 1 || taken != callers-1 {
			t.Errorf("%s: won, taken = %d, %d; want 1, %d", start, won, taken, callers-1)
		}
	}
	if n := s.count(`SELECT count(*) FROM bookings`); n != len(starts) {
		t.Errorf("bookings = %d, want one per start (%d)", n, len(starts))
	}
	if n := s.count(`SELECT count(*) FROM clients`); n != len(starts) {
		t.Errorf("clients = %d, want only the winners' (%d)", n, len(starts))
	}
}

// TestBufferEnforcedByConstraint books 10:00-10:45 with a 15-minute buffer after, then shows
// that 10:45 is refused by the engine and, inserted directly, by the exclusion constraint.
func TestBufferEnforcedByConstraint(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	first := s.book(s.fade, s.alice, "10:00")

	_, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "10:45"))
	if !isSlotTaken(err) {
		t.Fatalf("create at 10:45: err = %v, want a taken slot", err)
	}

	_, err = s.pool.Exec(s.ctx, `INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status,
			starts_at, ends_at, blocked)
		VALUES ($1, 'SET-ZZZZZZ', $2, $3, 'confirmed', $4, $5, tstzrange($4, $5, '[)'))`,
		s.org, s.loc, s.alice, s.on("10:45"), s.on("11:15"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != exclusionViolation || pgErr.ConstraintName != "bookings_no_overlap" {
		t.Fatalf("direct insert at 10:45: err = %v, want an exclusion violation of bookings_no_overlap", err)
	}

	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "11:00")); err != nil {
		t.Errorf("create at 11:00, where the buffer ends: %v", err)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE staff_id = $1`, s.alice); n != 2 {
		t.Errorf("bookings of the staff member = %d, want 2 (10:00 and 11:00)", n)
	}
	if !first.blocked().End.Equal(s.on("11:00")) {
		t.Errorf("blocked interval ends %v, want 11:00", first.blocked().End)
	}
}

func TestRescheduleOverlappingOwnInterval(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	b := s.book(s.long, s.alice, "11:00")

	moved, err := s.store.Reschedule(s.ctx, s.org, s.now, b.Reference, RescheduleInput{StartsAt: s.on("11:30")})
	if err != nil {
		t.Fatalf("reschedule to 11:30: %v", err)
	}
	if moved.ID != b.ID || moved.Reference != b.Reference {
		t.Errorf("id, reference = %s, %s; want %s, %s", moved.ID, moved.Reference, b.ID, b.Reference)
	}
	if !moved.StartsAt.Equal(s.on("11:30")) || !moved.EndsAt.Equal(s.on("12:30")) || moved.StaffID != s.alice {
		t.Errorf("moved to %v-%v with %s; want 11:30-12:30 with the same staff member", moved.StartsAt, moved.EndsAt, moved.StaffID)
	}
	stored, err := s.store.Get(s.ctx, s.org, s.now, b.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !stored.StartsAt.Equal(s.on("11:30")) || stored.Version != 2 {
		t.Errorf("stored start, version = %v, %d; want 11:30, 2", stored.StartsAt, stored.Version)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE id = $1 AND blocked = tstzrange($2, $3, '[)')`,
		b.ID, s.on("11:30"), s.on("12:30")); n != 1 {
		t.Error("the stored blocked interval is not 11:30-12:30")
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE booking_id = $1 AND type = 'booking.rescheduled' AND sequence = 2`, b.ID); n != 1 {
		t.Errorf("booking.rescheduled events = %d, want 1", n)
	}

	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "11:00")); err != nil {
		t.Errorf("book the freed 11:00 for 30 minutes: %v", err)
	}

	other := s.book(s.cut, s.alice, "14:00")
	_, err = s.store.Reschedule(s.ctx, s.org, s.now, b.ID.String(), RescheduleInput{StartsAt: s.on("13:30")})
	var taken *SlotTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("reschedule onto another booking: err = %v, want a taken slot", err)
	}
	if len(taken.Alternatives) == 0 {
		t.Error("a taken slot came with no alternatives")
	}
	unchanged, err := s.store.Get(s.ctx, s.org, s.now, b.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !unchanged.StartsAt.Equal(s.on("11:30")) || unchanged.Version != 2 {
		t.Errorf("after a refused reschedule: start %v, version %d; want 11:30, 2", unchanged.StartsAt, unchanged.Version)
	}
	if other.Status != StatusConfirmed {
		t.Errorf("other booking status = %s", other.Status)
	}
}

// A reschedule onto a taken slot offers alternatives, and the booking's own current slot is
// not one of them.
func TestRescheduleAlternativesSkipOwnSlot(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	mine := s.book(s.cut, s.alice, "15:00")
	s.book(s.cut, s.alice, "15:30")

	alice := s.alice
	_, err := s.store.Reschedule(s.ctx, s.org, s.now, mine.Reference, RescheduleInput{StartsAt: s.on("15:30"), StaffID: &alice})
	var taken *SlotTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("reschedule onto 15:30: err = %v, want a taken slot", err)
	}
	if len(taken.Alternatives) != alternativesWanted {
		t.Errorf("alternatives = %d, want %d", len(taken.Alternatives), alternativesWanted)
	}
	for _, slot := range taken.Alternatives {
		if slot.StaffID == s.alice && slot.Start.Equal(s.on("15:00")) {
			t.Errorf("alternatives %v offer the booking's own 15:00", taken.Alternatives)
		}
	}
}

func TestRescheduleToAnotherStaffMember(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	b := s.book(s.cut, s.alice, "10:00")

	bob := s.bob
	moved, err := s.store.Reschedule(s.ctx, s.org, s.now, b.ID.String(), RescheduleInput{StartsAt: s.on("10:00"), StaffID: &bob})
	if err != nil {
		t.Fatalf("move to the other staff member: %v", err)
	}
	if moved.StaffID != s.bob {
		t.Errorf("staff = %s, want the other staff member", moved.StaffID)
	}
	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "10:00")); err != nil {
		t.Errorf("book the first staff member's freed 10:00: %v", err)
	}

	_, err = s.store.Reschedule(s.ctx, s.org, s.now, b.ID.String(), RescheduleInput{StartsAt: s.on("20:00")})
	var rule *RuleError
	if !errors.As(err, &rule) {
		t.Errorf("reschedule outside working hours: err = %v, want a rule error", err)
	}
}

// TestHoldExpiryFreesSlotBeforeSweep lets a hold lapse without any sweep: the slot is bookable
// at once, and the lapsed hold cannot be confirmed.
func TestHoldExpiryFreesSlotBeforeSweep(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	held := s.hold(s.cut, s.alice, "10:00", 10*time.Minute)
	if held.Status != StatusHeld || !held.HoldExpiresAt.Equal(s.now.Add(10*time.Minute)) {
		t.Fatalf("hold = %s until %v", held.Status, held.HoldExpiresAt)
	}

	_, err := s.store.Create(s.ctx, s.org, s.now.Add(9*time.Minute), s.input(s.cut, s.alice, "10:00"))
	if !isSlotTaken(err) {
		t.Fatalf("create during the hold: err = %v, want a taken slot", err)
	}

	expiry := s.now.Add(10 * time.Minute)
	lapsed, err := s.store.Get(s.ctx, s.org, expiry, held.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if lapsed.Status != StatusExpired {
		t.Errorf("status read at the expiry = %s, want expired", lapsed.Status)
	}
	if _, err := s.store.Confirm(s.ctx, s.org, expiry, held.ID.String(), ConfirmInput{}); !errors.Is(err, ErrHoldExpired) {
		t.Errorf("confirm at the expiry, before any sweep: err = %v, want ErrHoldExpired", err)
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE status = 'held'`); n != 1 {
		t.Fatalf("held rows before the sweep = %d, want 1", n)
	}

	other, err := s.store.Create(s.ctx, s.org, expiry, s.input(s.cut, s.alice, "10:00"))
	if err != nil {
		t.Fatalf("create at the expiry: %v", err)
	}
	if other.ID == held.ID {
		t.Error("the new booking reused the hold")
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE booking_id = $1 AND type = 'booking.expired'`, held.ID); n != 1 {
		t.Errorf("booking.expired events = %d, want 1", n)
	}
	if _, err := s.store.Confirm(s.ctx, s.org, expiry, held.Reference, ConfirmInput{}); !errors.Is(err, ErrHoldExpired) {
		t.Errorf("confirm the recorded expired hold: err = %v, want ErrHoldExpired", err)
	}
}

func TestSweeperExpiresLapsedHolds(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	held := s.hold(s.cut, s.alice, "10:00", time.Minute)
	live := s.hold(s.cut, s.bob, "10:00", 30*time.Minute)
	s.exec(`UPDATE organisations SET test_clock = $2 WHERE id = $1`, s.org, s.now.Add(time.Minute))

	n, err := s.store.ExpireHolds(s.ctx)
	if err != nil || n != 1 {
		t.Fatalf("ExpireHolds = %d, %v; want 1, nil", n, err)
	}
	if got := s.count(`SELECT count(*) FROM bookings WHERE id = $1 AND status = 'expired'`, held.ID); got != 1 {
		t.Error("the lapsed hold was not marked expired")
	}
	if got := s.count(`SELECT count(*) FROM bookings WHERE id = $1 AND status = 'held'`, live.ID); got != 1 {
		t.Error("the live hold was expired")
	}
}

func TestConfirmRecordsDeposit(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	held := s.hold(s.colour, s.alice, "10:00", 10*time.Minute)
	deposit := func(amount int64, currency string) ConfirmInput {
		return ConfirmInput{Deposit: &Deposit{AmountMinor: amount, Currency: currency, PaymentReference: "pi_123"}}
	}

	rejected := []struct {
		name    string
		in      ConfirmInput
		problem DepositProblem
	}{
		{"missing", ConfirmInput{}, DepositMissing},
		{"short", deposit(1499, "GBP"), DepositShort},
		{"other currency", deposit(1500, "EUR"), DepositCurrencyMismatch},
		{"above the price", deposit(5001, "GBP"), DepositAbovePrice},
	}
	for _, tc := range rejected {
		_, err := s.store.Confirm(s.ctx, s.org, s.now, held.ID.String(), tc.in)
		var depositErr *DepositError
		if !errors.As(err, &depositErr) {
			t.Errorf("%s: err = %v, want a deposit error", tc.name, err)
			continue
		}
		if depositErr.Problem != tc.problem || depositErr.RequiredMinor != 1500 || depositErr.Currency != "GBP" {
			t.Errorf("%s: %+v, want problem %s with 1500 GBP required", tc.name, depositErr, tc.problem)
		}
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE id = $1 AND status = 'held' AND version = 1`, held.ID); n != 1 {
		t.Fatal("a rejected confirmation changed the hold")
	}

	confirmed, err := s.store.Confirm(s.ctx, s.org, s.now, held.Reference, deposit(1500, "GBP"))
	if err != nil {
		t.Fatalf("confirm with the required deposit: %v", err)
	}
	if confirmed.Status != StatusConfirmed || confirmed.HoldExpiresAt != nil || confirmed.ConfirmedAt == nil {
		t.Errorf("confirmed = %s, hold until %v, confirmed at %v", confirmed.Status, confirmed.HoldExpiresAt, confirmed.ConfirmedAt)
	}
	stored, err := s.store.Get(s.ctx, s.org, s.now.Add(time.Hour), held.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if stored.Deposit == nil || *stored.Deposit != (Deposit{AmountMinor: 1500, Currency: "GBP", PaymentReference: "pi_123"}) {
		t.Errorf("stored deposit = %+v", stored.Deposit)
	}
	if stored.Status != StatusConfirmed {
		t.Errorf("status after the hold's expiry time = %s, want confirmed", stored.Status)
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE booking_id = $1 AND type = 'booking.confirmed'`, held.ID); n != 1 {
		t.Errorf("booking.confirmed events = %d, want 1", n)
	}

	_, err = s.store.Confirm(s.ctx, s.org, s.now, held.ID.String(), deposit(1500, "GBP"))
	if !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("confirm twice: err = %v, want an invalid transition", err)
	}

	free := s.hold(s.cut, s.bob, "10:00", 10*time.Minute)
	if _, err := s.store.Confirm(s.ctx, s.org, s.now, free.ID.String(), ConfirmInput{}); err != nil {
		t.Errorf("confirm a hold that needs no deposit: %v", err)
	}
}

func TestCompleteAndNoShowAfterStart(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	first := s.book(s.cut, s.alice, "10:00")
	second := s.book(s.cut, s.alice, "11:00")

	if _, err := s.store.Complete(s.ctx, s.org, s.on("09:59"), first.ID.String()); !errors.Is(err, ErrNotStarted) {
		t.Errorf("complete before the start: err = %v, want ErrNotStarted", err)
	}
	done, err := s.store.Complete(s.ctx, s.org, s.on("10:00"), first.ID.String())
	if err != nil || done.Status != StatusCompleted {
		t.Fatalf("complete at the start: %v, %v", done, err)
	}
	missed, err := s.store.NoShow(s.ctx, s.org, s.on("12:00"), second.Reference)
	if err != nil || missed.Status != StatusNoShow {
		t.Fatalf("no-show after the start: %v, %v", missed, err)
	}
	if _, err := s.store.NoShow(s.ctx, s.org, s.on("12:00"), first.ID.String()); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("no-show of a completed booking: err = %v, want an invalid transition", err)
	}
	if _, err := s.store.Cancel(s.ctx, s.org, s.on("12:00"), second.ID.String(), CancelInput{}); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("cancel a no-show: err = %v, want an invalid transition", err)
	}
	for id, event := range map[uuid.UUID]string{first.ID: "booking.completed", second.ID: "booking.no_show"} {
		if n := s.count(`SELECT count(*) FROM outbox_events WHERE booking_id = $1 AND type = $2`, id, event); n != 1 {
			t.Errorf("%s events = %d, want 1", event, n)
		}
	}
	if _, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, s.alice, "10:00")); !isSlotTaken(err) {
		t.Errorf("a completed booking must keep its interval: err = %v", err)
	}
}

func TestAnyStaffTakesTheFreeOne(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.book(s.cut, s.alice, "10:00")

	b, err := s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, uuid.Nil, "10:00"))
	if err != nil {
		t.Fatalf("any staff at 10:00: %v", err)
	}
	if b.StaffID != s.bob {
		t.Errorf("assigned %s, want the only free staff member", b.StaffID)
	}

	_, err = s.store.Create(s.ctx, s.org, s.now, s.input(s.cut, uuid.Nil, "10:00"))
	var taken *SlotTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("any staff with nobody free: err = %v, want a taken slot", err)
	}
	if len(taken.Alternatives) != 3 {
		t.Fatalf("alternatives = %d, want 3", len(taken.Alternatives))
	}
	for _, alt := range taken.Alternatives {
		if alt.Start.Equal(s.on("10:00")) {
			t.Errorf("alternative %v is the taken start", alt.Start)
		}
	}
}

// TestListPagesWithCancelledExcluded lists three bookings at one start and two more, plus a
// cancelled one among them, two at a time with the cancelled status filtered out in SQL.
func TestListPagesWithCancelledExcluded(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	want := map[uuid.UUID]bool{}
	for _, b := range []*Booking{
		s.book(s.cut, s.alice, "10:00"),
		s.book(s.cut, s.bob, "10:00"),
		s.book(s.cut, s.alice, "11:00"),
		s.book(s.cut, s.bob, "12:00"),
	} {
		want[b.ID] = true
	}
	extra := uuid.New()
	s.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Extra')`, extra, s.org)
	s.exec(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id) VALUES ($1, $2, $3, $4)`,
		s.org, extra, s.cut, s.loc)
	s.exec(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
		SELECT $1, $2, d, 'work', 540, 1020 FROM generate_series(0, 6) d`, extra, s.loc)
	third := s.book(s.cut, extra, "10:00")
	want[third.ID] = true
	cancelled := s.book(s.cut, extra, "10:30")
	if _, err := s.store.Cancel(s.ctx, s.org, s.now, cancelled.ID.String(), CancelInput{Reason: "test", CancelledBy: "business"}); err != nil {
		t.Fatal(err)
	}

	filter := ListFilter{Statuses: []string{StatusConfirmed}}
	var sizes []int
	seen := map[uuid.UUID]bool{}
	var previous *Booking
	cursor := ""
	for page := 0; page < 10; page++ {
		got, err := s.store.List(s.ctx, s.org, s.now, filter, PageRequest{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", page+1, err)
		}
		sizes = append(sizes, len(got.Items))
		for _, b := range got.Items {
			if seen[b.ID] {
				t.Errorf("booking %s listed twice", b.ID)
			}
			seen[b.ID] = true
			if previous != nil && (b.StartsAt.Before(previous.StartsAt) ||
				(b.StartsAt.Equal(previous.StartsAt) && b.ID.String() < previous.ID.String())) {
				t.Errorf("booking %s is out of (starts_at, id) order", b.ID)
			}
			previous = b
		}
		if got.HasMore != (got.NextCursor != "") {
			t.Errorf("page %d: has_more %v with cursor %q", page+1, got.HasMore, got.NextCursor)
		}
		if !got.HasMore {
			break
		}
		cursor = got.NextCursor
	}
	if len(sizes) != 3 || sizes[0] != 2 || sizes[1] != 2 || sizes[2] != 1 {
		t.Errorf("page sizes = %v, want [2 2 1]", sizes)
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("booking %s was never listed", id)
		}
	}
	if seen[cancelled.ID] {
		t.Error("the cancelled booking was listed")
	}
}

func TestListSeesRowsAddedBetweenPages(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	early := s.book(s.cut, s.alice, "10:00")
	s.book(s.cut, s.alice, "11:00")
	s.book(s.cut, s.alice, "12:00")

	first, err := s.store.List(s.ctx, s.org, s.now, ListFilter{}, PageRequest{Limit: 2})
	if err != nil || len(first.Items) != 2 {
		t.Fatalf("first page: %v, %v", first.Items, err)
	}
	s.book(s.cut, s.bob, "09:00") // before the cursor: not on later pages
	late := s.book(s.cut, s.bob, "15:00")

	rest, err := s.store.List(s.ctx, s.org, s.now, ListFilter{}, PageRequest{Limit: 2, Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != 2 || !rest.Items[0].StartsAt.Equal(s.on("12:00")) || rest.Items[1].ID != late.ID || rest.HasMore {
		t.Errorf("second page = %d items, has_more %v; want 12:00 and the new 15:00, and no more", len(rest.Items), rest.HasMore)
	}
	if first.Items[0].ID != early.ID {
		t.Errorf("first item = %s, want the 10:00 booking", first.Items[0].ID)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	client := &ClientInput{Phone: "+447700900123"}
	in := s.input(s.cut, s.alice, "10:00")
	in.Client = client
	mine, err := s.store.Create(s.ctx, s.org, s.now, in)
	if err != nil {
		t.Fatal(err)
	}
	s.book(s.cut, s.bob, "10:00")
	held := s.hold(s.cut, s.bob, "12:00", 5*time.Minute)

	cases := []struct {
		name   string
		filter ListFilter
		now    time.Time
		want   int
	}{
		{"everything", ListFilter{}, s.now, 3},
		{"one staff member", ListFilter{StaffID: s.alice}, s.now, 1},
		{"one client", ListFilter{ClientID: *mine.ClientID}, s.now, 1},
		{"location", ListFilter{LocationSlug: "shop"}, s.now, 3},
		{"held", ListFilter{Statuses: []string{StatusHeld}}, s.now, 1},
		{"held after the hold lapsed", ListFilter{Statuses: []string{StatusHeld}}, s.now.Add(5 * time.Minute), 0},
		{"expired after the hold lapsed", ListFilter{Statuses: []string{StatusExpired}}, s.now.Add(5 * time.Minute), 1},
		{"from 10:01", ListFilter{StartsFrom: s.on("10:01")}, s.now, 1},
		{"before 10:01", ListFilter{StartsBefore: s.on("10:01")}, s.now, 2},
		{"half-open range", ListFilter{StartsFrom: s.on("10:00"), StartsBefore: s.on("12:00")}, s.now, 2},
	}
	for _, tc := range cases {
		got, err := s.store.List(s.ctx, s.org, tc.now, tc.filter, PageRequest{Limit: 10})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got.Items) != tc.want {
			t.Errorf("%s: %d bookings, want %d", tc.name, len(got.Items), tc.want)
		}
	}
	if got, _ := s.store.List(s.ctx, s.org, s.now.Add(5*time.Minute), ListFilter{StaffID: s.bob}, PageRequest{}); len(got.Items) != 2 ||
		got.Items[1].ID != held.ID || got.Items[1].Status != StatusExpired {
		t.Error("a lapsed hold is not listed as expired")
	}

	otherOrg := uuid.New()
	s.exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Other', 'test')`, otherOrg)
	if got, err := s.store.List(s.ctx, otherOrg, s.now, ListFilter{}, PageRequest{}); err != nil || len(got.Items) != 0 {
		t.Errorf("another organisation sees %d bookings (err %v)", len(got.Items), err)
	}
}

// A filter naming a location, staff member or client the organisation does not have is a 404,
// not an empty list. One that exists but has no bookings gets an empty list.
func TestListUnknownFilterTargets(t *testing.T) {
	s := newShop(t)
	s.book(s.cut, s.alice, "10:00")

	otherOrg, otherStaff := uuid.New(), uuid.New()
	s.exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Other', 'test')`, otherOrg)
	s.exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, 'Elsewhere')`, otherStaff, otherOrg)
	cases := []struct {
		name   string
		filter ListFilter
		want   error
	}{
		{"misspelt location", ListFilter{LocationSlug: "nowhere"}, ErrLocationNotFound},
		{"unknown staff member", ListFilter{StaffID: uuid.New()}, ErrStaffNotFound},
		{"another organisation's staff member", ListFilter{StaffID: otherStaff}, ErrStaffNotFound},
		{"unknown client", ListFilter{ClientID: uuid.New()}, ErrClientNotFound},
		{"staff member without bookings", ListFilter{StaffID: s.bob}, nil},
	}
	for _, tc := range cases {
		got, err := s.store.List(s.ctx, s.org, s.now, tc.filter, PageRequest{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if err == nil && len(got.Items) != 0 {
			t.Errorf("%s: %d bookings, want none", tc.name, len(got.Items))
		}
	}
}

func TestListRejectsForeignCursor(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	for _, clock := range []string{"10:00", "11:00", "12:00"} {
		s.book(s.cut, s.alice, clock)
	}
	first, err := s.store.List(s.ctx, s.org, s.now, ListFilter{}, PageRequest{Limit: 1})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %v", err)
	}
	for name, cursor := range map[string]string{
		"not base64":    "%%%",
		"garbage":       "bm90IGEgY3Vyc29y",
		"empty payload": "Lg",
	} {
		if _, err := s.store.List(s.ctx, s.org, s.now, ListFilter{}, PageRequest{Cursor: cursor}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", name, err)
		}
	}
	if _, err := s.store.List(s.ctx, s.org, s.now, ListFilter{StaffID: s.alice}, PageRequest{Cursor: first.NextCursor}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("cursor with other filters: err = %v, want ErrInvalidCursor", err)
	}
	if _, err := s.store.ListClients(s.ctx, s.org, ClientFilter{}, PageRequest{Cursor: first.NextCursor}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("booking cursor on the client list: err = %v, want ErrInvalidCursor", err)
	}
}

// failCommits makes every later commit of the shop's store fail at COMMIT itself: a deferred
// constraint trigger on bookings raises when the transaction has set test.fail_commit.
func (s *shop) failCommits() {
	s.t.Helper()
	s.exec(`CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF current_setting('test.fail_commit', true) = 'on' THEN
				RAISE EXCEPTION 'commit refused by the test';
			END IF;
			RETURN NULL;
		END $$`)
	s.exec(`CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT OR UPDATE ON bookings
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`)
	s.store.beforeCommit = func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT set_config('test.fail_commit', 'on', true)`)
		return err
	}
}

// notificationsBefore sends a marker notification and returns the schedule changes conn
// received before it. PostgreSQL delivers notifications in commit order, so these are exactly
// the ones that committed transactions sent since the last call.
func (s *shop) notificationsBefore(conn *pgx.Conn) []notify.Change {
	s.t.Helper()
	s.exec(`SELECT pg_notify($1, 'marker')`, notify.Channel)
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	var changes []notify.Change
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			s.t.Fatalf("wait for the marker notification: %v", err)
		}
		if n.Payload == "marker" {
			return changes
		}
		change, err := notify.Parse(n.Payload)
		if err != nil {
			s.t.Fatalf("notification %q: %v", n.Payload, err)
		}
		changes = append(changes, change)
	}
}

func (s *shop) listen() *pgx.Conn {
	s.t.Helper()
	conn, err := pgx.ConnectConfig(s.ctx, s.pool.Config().ConnConfig)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(s.ctx, "LISTEN "+notify.Channel); err != nil {
		s.t.Fatal(err)
	}
	return conn
}

func TestFailedCommitLeavesNothing(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	conn := s.listen()
	s.failCommits()

	in := s.input(s.cut, s.alice, "10:00")
	in.Client = &ClientInput{Name: "Alex", Phone: "+447700900123"}
	b, err := s.store.Create(s.ctx, s.org, s.now, in)
	if err == nil || b != nil {
		t.Fatalf("create with a failing commit = %v, %v; want an error", b, err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Message != "commit refused by the test" {
		t.Errorf("error = %v, want the commit's own failure", err)
	}
	for table, sql := range map[string]string{
		"bookings":         `SELECT count(*) FROM bookings`,
		"booking_services": `SELECT count(*) FROM booking_services`,
		"outbox_events":    `SELECT count(*) FROM outbox_events`,
		"clients":          `SELECT count(*) FROM clients`,
	} {
		if n := s.count(sql); n != 0 {
			t.Errorf("%s rows after the failed commit = %d, want 0", table, n)
		}
	}
	if got := s.notificationsBefore(conn); len(got) != 0 {
		t.Errorf("notifications after the failed commit = %+v, want none", got)
	}
}

func TestFailedRescheduleCommitChangesNothing(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	b := s.book(s.cut, s.alice, "10:00")
	conn := s.listen()
	s.failCommits()

	if _, err := s.store.Reschedule(s.ctx, s.org, s.now, b.ID.String(), RescheduleInput{StartsAt: s.on("11:00")}); err == nil {
		t.Fatal("reschedule with a failing commit succeeded")
	}
	if n := s.count(`SELECT count(*) FROM bookings WHERE id = $1 AND starts_at = $2 AND version = 1`, b.ID, s.on("10:00")); n != 1 {
		t.Error("the booking changed although its commit failed")
	}
	if n := s.count(`SELECT count(*) FROM outbox_events WHERE type = 'booking.rescheduled'`); n != 0 {
		t.Errorf("rescheduled events = %d, want 0", n)
	}
	if got := s.notificationsBefore(conn); len(got) != 0 {
		t.Errorf("notifications after the failed commit = %+v, want none", got)
	}
}

func TestEveryTransitionNotifies(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	conn := s.listen()
	var held *Booking
	steps := []struct {
		name string
		run  func() error
		want int
	}{
		{"hold", func() error {
			held = s.hold(s.cut, s.alice, "10:00", 10*time.Minute)
			return nil
		}, 1},
		{"confirm", func() error {
			_, err := s.store.Confirm(s.ctx, s.org, s.now, held.ID.String(), ConfirmInput{})
			return err
		}, 1},
		// One notification for the old interval and one for the new.
		{"reschedule", func() error {
			_, err := s.store.Reschedule(s.ctx, s.org, s.now, held.ID.String(), RescheduleInput{StartsAt: s.on("11:00")})
			return err
		}, 2},
		{"complete", func() error {
			_, err := s.store.Complete(s.ctx, s.org, s.on("11:30"), held.ID.String())
			return err
		}, 1},
		{"cancel", func() error {
			b := s.book(s.cut, s.bob, "15:00")
			_ = s.notificationsBefore(conn)
			_, err := s.store.Cancel(s.ctx, s.org, s.now, b.ID.String(), CancelInput{})
			return err
		}, 1},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		changes := s.notificationsBefore(conn)
		if len(changes) != step.want {
			t.Errorf("%s sent %d notifications, want %d", step.name, len(changes), step.want)
		}
		for _, change := range changes {
			if change.Kind != notify.KindSchedule || change.OrganisationID != s.org || len(change.Dates) == 0 {
				t.Errorf("%s notification = %+v", step.name, change)
			}
		}
	}
}

func TestStateMachine(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	expires := start.Add(-time.Hour)
	before, after := start.Add(-2*time.Hour), start.Add(time.Minute)
	cases := []struct {
		status string
		action Action
		now    time.Time
		want   string
		err    error
	}{
		{StatusHeld, ActionConfirm, before, StatusConfirmed, nil},
		{StatusHeld, ActionCancel, before, StatusCancelled, nil},
		{StatusHeld, ActionReschedule, before, StatusHeld, nil},
		{StatusHeld, ActionComplete, before, "", ErrInvalidTransition},
		{StatusHeld, ActionConfirm, expires, "", ErrHoldExpired},
		{StatusHeld, ActionCancel, expires, "", ErrHoldExpired},
		{StatusExpired, ActionConfirm, before, "", ErrHoldExpired},
		{StatusConfirmed, ActionConfirm, before, "", ErrInvalidTransition},
		{StatusConfirmed, ActionCancel, before, StatusCancelled, nil},
		{StatusConfirmed, ActionReschedule, after, StatusConfirmed, nil},
		{StatusConfirmed, ActionComplete, before, "", ErrNotStarted},
		{StatusConfirmed, ActionComplete, after, StatusCompleted, nil},
		{StatusConfirmed, ActionNoShow, start, StatusNoShow, nil},
		{StatusCancelled, ActionReschedule, before, "", ErrInvalidTransition},
		{StatusCompleted, ActionNoShow, after, "", ErrInvalidTransition},
		{StatusNoShow, ActionComplete, after, "", ErrInvalidTransition},
	}
	for _, tc := range cases {
		b := &Booking{Status: tc.status, StartsAt: start}
		if tc.status == StatusHeld {
			b.HoldExpiresAt = &expires
		}
		got, err := nextStatus(b, tc.action, tc.now)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s + %s at %v = %q, %v; want %q, %v", tc.status, tc.action, tc.now, got, err, tc.want, tc.err)
		}
	}
}

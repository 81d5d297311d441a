package bookings

import (
	"errors"
	"strings"
)

// Outcome is the result of a booking write, the value of the outcome label on
// setora_bookings_total.
type Outcome string

// Outcomes of committed writes, one per outbox event the write recorded.
const (
	// OutcomeCreated is a booking confirmed when it was made.
	OutcomeCreated     Outcome = "created"
	OutcomeHeld        Outcome = "held"
	OutcomeConfirmed   Outcome = "confirmed"
	OutcomeCancelled   Outcome = "cancelled"
	OutcomeRescheduled Outcome = "rescheduled"
	OutcomeCompleted   Outcome = "completed"
	OutcomeNoShow      Outcome = "no_show"
	OutcomeExpired     Outcome = "expired"
)

// Outcomes of rejected writes.
const (
	// OutcomeConflict is a create or reschedule whose slot was taken (a 409).
	OutcomeConflict Outcome = "conflict"
	// OutcomeRuleBroken is a write that broke a booking rule: a slot engine rule, a deposit
	// rule, or attendance recorded before the start (a 422).
	OutcomeRuleBroken Outcome = "rule_broken"
)

// Outcomes lists every outcome the store reports, so that counters can start at zero.
var Outcomes = []Outcome{OutcomeCreated, OutcomeHeld, OutcomeConfirmed, OutcomeCancelled, OutcomeRescheduled,
	OutcomeCompleted, OutcomeNoShow, OutcomeExpired, OutcomeConflict, OutcomeRuleBroken}

// Observer receives what the store did, for metrics and logs. Its methods must be safe for
// concurrent use and return quickly, because they run on the request path.
type Observer interface {
	// BookingOutcome is called once for each booking change a commit recorded, and once for
	// each public call rejected with OutcomeConflict or OutcomeRuleBroken.
	BookingOutcome(outcome Outcome)
	// NotificationsSent is called after each commit that queued change notifications, with
	// their number. PostgreSQL delivers them at commit.
	NotificationsSent(n int)
	// Retrying is called before an operation runs again; attempt counts from 2 and cause is
	// why the previous attempt failed.
	Retrying(operation string, attempt int, cause error)
}

type noObserver struct{}

func (noObserver) BookingOutcome(Outcome)      {}
func (noObserver) NotificationsSent(int)       {}
func (noObserver) Retrying(string, int, error) {}

// observer returns s.Observer, or one that ignores everything when it is nil.
func (s *Store) observer() Observer {
	if s.Observer == nil {
		return noObserver{}
	}
	return s.Observer
}

// outcomeOfEvent maps an outbox event type to its outcome. Event types are constants of this
// package, so the outcomes stay a small fixed set.
func outcomeOfEvent(eventType, status string) Outcome {
	if eventType == "booking.created" {
		if status == StatusHeld {
			return OutcomeHeld
		}
		return OutcomeCreated
	}
	return Outcome(strings.TrimPrefix(eventType, "booking."))
}

// observeCommit reports a committed write's booking changes and notifications.
func (s *Store) observeCommit(w *writeTx) {
	o := s.observer()
	for _, outcome := range w.outcomes {
		o.BookingOutcome(outcome)
	}
	if len(w.notices) > 0 {
		o.NotificationsSent(len(w.notices))
	}
}

// observeRuleBroken reports a write that broke a booking rule. A taken slot is reported by the
// callers that retry it, once they give up, so that a retried attempt is not counted.
func (s *Store) observeRuleBroken(err error) {
	var rule *RuleError
	var deposit *DepositError
	if errors.As(err, &rule) || errors.As(err, &deposit) || errors.Is(err, ErrNotStarted) {
		s.observer().BookingOutcome(OutcomeRuleBroken)
	}
}

// observeConflict reports a create or reschedule that failed because its slot was taken.
func (s *Store) observeConflict(err error) {
	var taken *SlotTakenError
	if errors.As(err, &taken) {
		s.observer().BookingOutcome(OutcomeConflict)
	}
}

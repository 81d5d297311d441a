package bookings

import "time"

// Action is a change that a caller asks of an existing booking.
type Action string

// Actions on a booking; each has its own endpoint.
const (
	ActionConfirm    Action = "confirm"
	ActionCancel     Action = "cancel"
	ActionReschedule Action = "reschedule"
	ActionComplete   Action = "complete"
	ActionNoShow     Action = "no_show"
)

// transitions is the booking state machine: for each status, the actions it allows and the
// status each leads to. A status that is missing, or an action missing under a status, is not
// allowed. cancelled, expired, completed and no_show are final.
//
// The one change that is not an action is expiry: a held booking becomes expired when its
// hold_expires_at passes. It stops blocking its slot at that instant; the sweeper and the next
// write of the organisation record the status (see expireHolds).
var transitions = map[string]map[Action]string{
	StatusHeld: {
		ActionConfirm:    StatusConfirmed,
		ActionCancel:     StatusCancelled,
		ActionReschedule: StatusHeld,
	},
	StatusConfirmed: {
		ActionCancel:     StatusCancelled,
		ActionReschedule: StatusConfirmed,
		ActionComplete:   StatusCompleted,
		ActionNoShow:     StatusNoShow,
	},
}

// nextStatus returns the status that action moves b to at now, or the error that rejects it.
// A hold past its expiry, recorded as expired or not, is ErrHoldExpired. A move the state
// machine lacks is a *TransitionError, and complete or no_show before the booking's start is
// ErrNotStarted.
func nextStatus(b *Booking, action Action, now time.Time) (string, error) {
	if b.Status == StatusExpired || b.lapsed(now) {
		return "", ErrHoldExpired
	}
	to, ok := transitions[b.Status][action]
	if !ok {
		return "", &TransitionError{From: b.Status, Action: action}
	}
	if (action == ActionComplete || action == ActionNoShow) && now.Before(b.StartsAt) {
		return "", ErrNotStarted
	}
	return to, nil
}

// lapsed reports whether b is a hold whose expiry has passed at now.
func (b *Booking) lapsed(now time.Time) bool {
	return b.Status == StatusHeld && b.HoldExpiresAt != nil && !now.Before(*b.HoldExpiresAt)
}

// settle shows a lapsed hold as expired, as it is from its expiry on, even before the
// sweeper records it.
func (b *Booking) settle(now time.Time) {
	if b.lapsed(now) {
		b.Status = StatusExpired
	}
}

// pastTense words an action for error messages.
func (a Action) pastTense() string {
	switch a {
	case ActionConfirm:
		return "confirmed"
	case ActionCancel:
		return "cancelled"
	case ActionReschedule:
		return "rescheduled"
	case ActionComplete:
		return "marked completed"
	case ActionNoShow:
		return "marked as a no-show"
	default:
		return string(a)
	}
}

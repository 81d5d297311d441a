// Package bookings holds booking-svc's booking and client lifecycle. Each booking write runs in
// one PostgreSQL transaction that re-checks the slot with the slot engine where the slot
// changes, changes rows, writes an outbox event and queues a change notification for the
// availability caches.
package bookings

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/idempotency"

	"github.com/setora/rest/shared/slots"
)

// Statuses of a booking.
const (
	StatusHeld      = "held"
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
	StatusCompleted = "completed"
	StatusNoShow    = "no_show"
)

// Hold lifetimes.
const (
	DefaultHoldTTL = 10 * time.Minute
	MaxHoldTTL     = 30 * time.Minute
)

// Booking is a booking as the API returns it.
type Booking struct {
	ID             uuid.UUID
	Reference      string
	OrganisationID uuid.UUID
	LocationID     uuid.UUID
	LocationSlug   string
	TimeZone       string
	StaffID        uuid.UUID
	ClientID       *uuid.UUID
	Status         string
	StartsAt       time.Time
	EndsAt         time.Time
	HoldExpiresAt  *time.Time
	Services       []BookedService
	Notes          string
	Source         string
	CancelReason   *string
	CancelledBy    *string
	CancelledAt    *time.Time
	ConfirmedAt    *time.Time
	Deposit        *Deposit
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// BookedService is one service of a booking with the values that applied when it was booked.
type BookedService struct {
	ServiceID           uuid.UUID
	Name                string
	DurationMinutes     int
	BufferBeforeMinutes int
	BufferAfterMinutes  int
	PriceMinor          int64
	DepositMinor        int64
	Currency            string
}

// Deposit is a payment the caller took and reported; Setora records it and takes no money.
type Deposit struct {
	AmountMinor      int64
	Currency         string
	PaymentReference string
}

// ClientInput names the client of a new booking: an existing id, or details to match or create.
type ClientInput struct {
	ID    *uuid.UUID
	Name  string
	Phone string
	Email string
}

// CreateInput is a validated request to create a booking.
type CreateInput struct {
	LocationSlug string
	ServiceIDs   []uuid.UUID
	StartsAt     time.Time
	StaffID      uuid.UUID // uuid.Nil for any staff member
	Client       *ClientInput
	Notes        string
	Source       string
	Hold         bool
	HoldTTL      time.Duration
	// Key, when set, is stored in the booking's transaction with the response body that
	// Response renders for the booking, so that a retry always finds both or neither.
	Key      *idempotency.Deferred
	Response func(*Booking) ([]byte, error)
}

// CancelInput is a validated request to cancel.
type CancelInput struct {
	Reason      string
	CancelledBy string
}

// ConfirmInput is a validated request to confirm a hold. Deposit is nil when the caller took
// no payment.
type ConfirmInput struct {
	Deposit *Deposit
}

// RescheduleInput is a validated request to move a booking. StaffID nil keeps the booking's
// staff member; a pointer to uuid.Nil means any staff member who performs every service.
type RescheduleInput struct {
	StartsAt time.Time
	StaffID  *uuid.UUID
}

// Errors the store returns; the API maps each to a status and code.
var (
	ErrNotFound          = errors.New("booking not found")
	ErrLocationNotFound  = errors.New("location not found")
	ErrClientNotFound    = errors.New("client not found")
	ErrStaffNotFound     = errors.New("staff member not found")
	ErrInvalidTransition = errors.New("status transition not allowed")
	// ErrHoldExpired means the booking is a hold whose expiry has passed, whether or not the
	// sweeper has marked it expired yet.
	ErrHoldExpired = errors.New("hold has expired")
	// ErrNotStarted means a booking was to be marked completed or no_show before its start.
	ErrNotStarted = errors.New("booking has not started yet")
	// ErrClientErased means the client's personal data was erased, so it can no longer change.
	ErrClientErased = errors.New("client has been erased")
	// ErrInvalidCursor means a pagination cursor that this API did not issue for the request.
	ErrInvalidCursor = errors.New("invalid pagination cursor")
)

// DepositProblem names why a deposit was rejected.
type DepositProblem string

// Reasons a deposit is rejected at confirmation.
const (
	DepositMissing          DepositProblem = "missing"
	DepositShort            DepositProblem = "short"
	DepositCurrencyMismatch DepositProblem = "currency_mismatch"
	DepositAbovePrice       DepositProblem = "above_price"
)

// DepositError rejects a confirmation whose deposit does not cover what the services require.
// Amounts are in minor units of Currency.
type DepositError struct {
	Problem       DepositProblem
	RequiredMinor int64
	PriceMinor    int64
	Currency      string
}

func (e *DepositError) Error() string {
	return fmt.Sprintf("deposit rejected (%s): %d %s required", e.Problem, e.RequiredMinor, e.Currency)
}

// ClientExistsError means another client of the organisation already has the phone number or
// e-mail address; ID is that client. Field is "phone" or "email".
type ClientExistsError struct {
	ID    uuid.UUID
	Field string
}

func (e *ClientExistsError) Error() string {
	return fmt.Sprintf("client %s already has this %s", e.ID, e.Field)
}

// ServiceNotFoundError names a requested service the organisation does not offer.
type ServiceNotFoundError struct{ ID uuid.UUID }

func (e *ServiceNotFoundError) Error() string { return fmt.Sprintf("service %s not found", e.ID) }

// SlotTakenError means the slot is no longer free; Alternatives are the nearest bookable ones.
type SlotTakenError struct {
	Alternatives []slots.Slot
	TimeZone     *time.Location
}

func (e *SlotTakenError) Error() string { return "slot unavailable" }

// RuleError means the request breaks a booking rule; Rule is one of the slot engine's errors.
type RuleError struct{ Rule error }

func (e *RuleError) Error() string { return "booking rule broken: " + e.Rule.Error() }
func (e *RuleError) Unwrap() error { return e.Rule }

// TransitionError means the booking's status does not allow the requested action.
type TransitionError struct {
	From   string
	Action Action
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a booking with status %s cannot be %s", e.From, e.Action.pastTense())
}
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

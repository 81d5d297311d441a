package bookings

import (
	"time"

	"github.com/google/uuid"
)

// offsetTime writes RFC 3339 with the offset as ±hh:mm, never Z, so local times read as local.
const offsetTime = "2006-01-02T15:04:05-07:00"

// View is a booking's JSON form, used by the API and in webhook events alike.
type View struct {
	ID            uuid.UUID     `json:"id"`
	Reference     string        `json:"reference"`
	Status        string        `json:"status"`
	LocationID    uuid.UUID     `json:"location_id"`
	LocationSlug  string        `json:"location_slug"`
	Timezone      string        `json:"timezone"`
	StaffID       uuid.UUID     `json:"staff_id"`
	ClientID      *uuid.UUID    `json:"client_id"`
	StartsAt      string        `json:"starts_at"`
	EndsAt        string        `json:"ends_at"`
	HoldExpiresAt *string       `json:"hold_expires_at"`
	Services      []ServiceView `json:"services"`
	Duration      DurationView  `json:"duration"`
	PriceMinor    int64         `json:"price_minor"`
	DepositMinor  int64         `json:"deposit_required_minor"`
	Currency      string        `json:"currency"`
	Notes         string        `json:"notes"`
	Source        string        `json:"source"`
	Deposit       *DepositView  `json:"deposit"`
	Cancellation  *CancelView   `json:"cancellation"`
	ConfirmedAt   *string       `json:"confirmed_at"`
	CreatedAt     string        `json:"created_at"`
	UpdatedAt     string        `json:"updated_at"`
}

// ServiceView is one booked service.
type ServiceView struct {
	ServiceID       uuid.UUID `json:"service_id"`
	Name            string    `json:"name"`
	DurationMinutes int       `json:"duration_minutes"`
	PriceMinor      int64     `json:"price_minor"`
	Currency        string    `json:"currency"`
}

// DurationView matches the availability answer's duration object.
type DurationView struct {
	Minutes int    `json:"minutes"`
	Display string `json:"display"`
}

// DepositView is a recorded deposit.
type DepositView struct {
	AmountMinor      int64  `json:"amount_minor"`
	Currency         string `json:"currency"`
	PaymentReference string `json:"payment_reference"`
}

// CancelView records who cancelled and why.
type CancelView struct {
	Reason      string `json:"reason"`
	CancelledBy string `json:"cancelled_by"`
	CancelledAt string `json:"cancelled_at"`
}

// View renders the booking with every time in its location's zone.
func (b *Booking) View(display func(minutes int) string) View {
	zone, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		zone = time.UTC
	}
	at := func(t time.Time) string { return t.In(zone).Format(offsetTime) }
	atPtr := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		s := at(*t)
		return &s
	}

	v := View{
		ID: b.ID, Reference: b.Reference, Status: b.Status, LocationID: b.LocationID, LocationSlug: b.LocationSlug,
		Timezone: b.TimeZone, StaffID: b.StaffID, ClientID: b.ClientID, StartsAt: at(b.StartsAt), EndsAt: at(b.EndsAt),
		HoldExpiresAt: atPtr(b.HoldExpiresAt), Notes: b.Notes, Source: b.Source, ConfirmedAt: atPtr(b.ConfirmedAt),
		CreatedAt: at(b.CreatedAt), UpdatedAt: at(b.UpdatedAt), Services: make([]ServiceView, 0, len(b.Services)),
	}
	minutes := 0
	for _, s := range b.Services {
		v.Services = append(v.Services, ServiceView{ServiceID: s.ServiceID, Name: s.Name, DurationMinutes: s.DurationMinutes,
			PriceMinor: s.PriceMinor, Currency: s.Currency})
		minutes += s.DurationMinutes
		v.PriceMinor += s.PriceMinor
		v.DepositMinor += s.DepositMinor
		v.Currency = s.Currency
	}
	v.Duration = DurationView{Minutes: minutes, Display: display(minutes)}
	if b.Deposit != nil {
		v.Deposit = &DepositView{AmountMinor: b.Deposit.AmountMinor, Currency: b.Deposit.Currency, PaymentReference: b.Deposit.PaymentReference}
	}
	if b.CancelledAt != nil {
		v.Cancellation = &CancelView{CancelledAt: at(*b.CancelledAt)}
		if b.CancelReason != nil {
			v.Cancellation.Reason = *b.CancelReason
		}
		if b.CancelledBy != nil {
			v.Cancellation.CancelledBy = *b.CancelledBy
		}
	}
	return v
}

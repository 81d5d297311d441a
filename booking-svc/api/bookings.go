// Package api maps booking-svc's HTTP routes to the booking store and its errors to the
// documented error shape.
package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/slots"
)

// Limits on free-text fields.
const (
	maxNotesLength  = 2000
	maxSourceLength = 64
	maxNameLength   = 200
	maxServices     = 5
)

// Handlers serves the booking routes.
type Handlers struct {
	Store *bookings.Store
}

type clientRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

type createRequest struct {
	LocationSlug string         `json:"location_slug"`
	ServiceIDs   []string       `json:"service_ids"`
	StartsAt     string         `json:"starts_at"`
	StaffID      string         `json:"staff_id"`
	ClientID     string         `json:"client_id"`
	Client       *clientRequest `json:"client"`
	Notes        string         `json:"notes"`
	Source       string         `json:"source"`
	Status       string         `json:"status"`
	// HoldMinutes sets a hold's lifetime; 10 by default, at most 30.
	HoldMinutes *int `json:"hold_minutes"`
}

// CreateBooking handles POST /v1/bookings.
func (h *Handlers) CreateBooking(c *fiber.Ctx) error {
	var req createRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	in, err := req.validate()
	if err != nil {
		return err
	}
	p := auth.From(c)
	b, err := h.Store.Create(c.UserContext(), p.OrganisationID, p.Now(), in)
	if err != nil {
		return bookingError(err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

func (r *createRequest) validate() (bookings.CreateInput, error) {
	in := bookings.CreateInput{LocationSlug: r.LocationSlug, Notes: r.Notes, Source: r.Source}
	if r.LocationSlug == "" {
		return in, apierr.Invalid("location_slug", "location_slug is required; use the slug from GET /v1/locations, for example \"soho\"")
	}
	if len(r.ServiceIDs) == 0 || len(r.ServiceIDs) > maxServices {
		return in, apierr.Invalid("service_ids", "service_ids must list between 1 and %d service ids, in the order they are performed", maxServices)
	}
	seen := map[uuid.UUID]bool{}
	for _, raw := range r.ServiceIDs {
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return in, apierr.Invalid("service_ids", "service id %q is not a UUID", raw)
		}
		if seen[id] {
			return in, apierr.Invalid("service_ids", "service id %s is listed twice; list each service once", id)
		}
		seen[id] = true
		in.ServiceIDs = append(in.ServiceIDs, id)
	}

	start, err := ParseTimestamp(r.StartsAt)
	if err != nil {
		return in, apierr.Invalid("starts_at", "starts_at %q must be an RFC 3339 time with an offset, for example 2026-05-12T09:00:00+01:00", r.StartsAt)
	}
	in.StartsAt = start

	switch r.StaffID {
	case "", "any":
	default:
		id, err := uuid.Parse(r.StaffID)
		if err != nil || len(r.StaffID) != 36 {
			return in, apierr.Invalid("staff_id", "staff_id %q must be a staff member's UUID or \"any\"", r.StaffID)
		}
		in.StaffID = id
	}

	client, err := r.client()
	if err != nil {
		return in, err
	}
	in.Client = client

	if utf8.RuneCountInString(r.Notes) > maxNotesLength {
		return in, apierr.Invalid("notes", "notes may be at most %d characters", maxNotesLength)
	}
	if in.Source == "" {
		in.Source = "api"
	}
	if len(in.Source) > maxSourceLength {
		return in, apierr.Invalid("source", "source may be at most %d characters, for example \"ai_receptionist\"", maxSourceLength)
	}

	switch r.Status {
	case "", bookings.StatusConfirmed:
		if r.HoldMinutes != nil {
			return in, apierr.Invalid("hold_minutes", "hold_minutes applies only with \"status\": \"held\"")
		}
	case bookings.StatusHeld:
		in.Hold = true
		in.HoldTTL = bookings.DefaultHoldTTL
		if r.HoldMinutes != nil {
			ttl := time.Duration(*r.HoldMinutes) * time.Minute
			if ttl < time.Minute || ttl > bookings.MaxHoldTTL {
				return in, apierr.Invalid("hold_minutes", "hold_minutes must be between 1 and %d", int(bookings.MaxHoldTTL.Minutes()))
			}
			in.HoldTTL = ttl
		}
	default:
		return in, apierr.Invalid("status", "status %q is not allowed here; use \"confirmed\" (the default) or \"held\"", r.Status)
	}
	return in, nil
}

func (r *createRequest) client() (*bookings.ClientInput, error) {
	if r.ClientID != "" && r.Client != nil {
		return nil, apierr.Invalid("client", "send either client_id or client, not both")
	}
	if r.ClientID != "" {
		id, err := uuid.Parse(r.ClientID)
		if err != nil || len(r.ClientID) != 36 {
			return nil, apierr.Invalid("client_id", "client_id %q is not a UUID", r.ClientID)
		}
		return &bookings.ClientInput{ID: &id}, nil
	}
	if r.Client == nil {
		return nil, nil
	}

	in := &bookings.ClientInput{Name: strings.TrimSpace(r.Client.Name)}
	if utf8.RuneCountInString(in.Name) > maxNameLength {
		return nil, apierr.Invalid("client.name", "client.name may be at most %d characters", maxNameLength)
	}
	if r.Client.Phone == "" && r.Client.Email == "" {
		return nil, apierr.Invalid("client", "a client needs a phone number or an e-mail address so they can be found again")
	}
	if r.Client.Phone != "" {
		phone, err := bookings.NormalisePhone(r.Client.Phone)
		if err != nil {
			return nil, apierr.Invalid("client.phone", "client.phone is not a valid phone number; give it in international form such as +447700900123, or as a UK number")
		}
		in.Phone = phone
	}
	if r.Client.Email != "" {
		email, err := bookings.NormaliseEmail(r.Client.Email)
		if err != nil {
			return nil, apierr.Invalid("client.email", "client.email is not a valid e-mail address")
		}
		in.Email = email
	}
	return in, nil
}

// ParseTimestamp reads an RFC 3339 time that carries an offset or Z.
func ParseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339, s)
}

// GetBooking handles GET /v1/bookings/:id.
func (h *Handlers) GetBooking(c *fiber.Ctx) error {
	p := auth.From(c)
	b, err := h.Store.Get(c.UserContext(), p.OrganisationID, c.Params("id"))
	if err != nil {
		return bookingError(err)
	}
	return c.JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

type cancelRequest struct {
	Reason      string `json:"reason"`
	CancelledBy string `json:"cancelled_by"`
}

// CancelBooking handles POST /v1/bookings/:id/cancel. The body is optional.
func (h *Handlers) CancelBooking(c *fiber.Ctx) error {
	var req cancelRequest
	if len(c.Body()) > 0 {
		if err := httpapi.DecodeJSON(c, &req); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(req.Reason) > maxNotesLength {
		return apierr.Invalid("reason", "reason may be at most %d characters", maxNotesLength)
	}
	switch req.CancelledBy {
	case "":
		req.CancelledBy = "business"
	case "client", "business", "system":
	default:
		return apierr.Invalid("cancelled_by", "cancelled_by %q must be \"client\", \"business\" or \"system\"", req.CancelledBy)
	}
	p := auth.From(c)
	b, err := h.Store.Cancel(c.UserContext(), p.OrganisationID, p.Now(), c.Params("id"),
		bookings.CancelInput{Reason: req.Reason, CancelledBy: req.CancelledBy})
	if err != nil {
		return bookingError(err)
	}
	return c.JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

// AlternativeView is one bookable slot offered with a 409.
type AlternativeView struct {
	StartsAt string    `json:"starts_at"`
	EndsAt   string    `json:"ends_at"`
	StaffID  uuid.UUID `json:"staff_id"`
}

// bookingError maps the store's errors to the documented shape. Anything unknown becomes a 500
// through the shared error handler, which logs it.
func bookingError(err error) error {
	var taken *bookings.SlotTakenError
	var rule *bookings.RuleError
	var missingService *bookings.ServiceNotFoundError
	var transition *bookings.TransitionError
	switch {
	case errors.As(err, &taken):
		e := apierr.New(http.StatusConflict, "slot_unavailable", "starts_at",
			"that slot has just been taken; offer one of the alternatives or ask for availability again")
		alts := make([]AlternativeView, 0, len(taken.Alternatives))
		for _, s := range taken.Alternatives {
			zone := taken.TimeZone
			if zone == nil {
				zone = time.UTC
			}
			alts = append(alts, AlternativeView{StartsAt: s.Start.In(zone).Format(offsetTime), EndsAt: s.End.In(zone).Format(offsetTime), StaffID: s.StaffID})
		}
		e.Alternatives = alts
		return e
	case errors.As(err, &rule):
		return ruleError(rule.Rule)
	case errors.As(err, &missingService):
		return apierr.New(http.StatusNotFound, "service_not_found", "service_ids",
			"no active service with id %s; list services with GET /v1/services", missingService.ID)
	case errors.As(err, &transition):
		return apierr.New(http.StatusConflict, "invalid_status_transition", "status",
			"a %s booking cannot become %s", transition.From, transition.To)
	case errors.Is(err, bookings.ErrNotFound):
		return apierr.New(http.StatusNotFound, "booking_not_found", "id",
			"no booking with that id or reference; check it, or list bookings with GET /v1/bookings")
	case errors.Is(err, bookings.ErrLocationNotFound):
		return apierr.New(http.StatusNotFound, "location_not_found", "location_slug",
			"no location with that slug; list your locations with GET /v1/locations")
	case errors.Is(err, bookings.ErrClientNotFound):
		return apierr.New(http.StatusNotFound, "client_not_found", "client_id",
			"no client with that id; find clients with GET /v1/clients?phone=...")
	case errors.Is(err, bookings.ErrStaffNotFound):
		return apierr.New(http.StatusNotFound, "staff_not_found", "staff_id",
			"no active staff member with that id; list staff with GET /v1/staff")
	default:
		return err
	}
}

const offsetTime = "2006-01-02T15:04:05-07:00"

// ruleError turns a slot-engine rule into a 422 whose code names the rule.
func ruleError(rule error) error {
	unprocessable := func(code, format string) error {
		return apierr.New(http.StatusUnprocessableEntity, code, "starts_at", "%s", format)
	}
	switch {
	case errors.Is(rule, slots.ErrInPast):
		return unprocessable("start_in_past", "starts_at is in the past; ask for availability and pick a future slot")
	case errors.Is(rule, slots.ErrTooSoon):
		return unprocessable("insufficient_notice", "starts_at is sooner than the location's minimum notice; pick a later slot")
	case errors.Is(rule, slots.ErrBeyondWindow):
		return unprocessable("beyond_booking_window", "starts_at is beyond the location's booking window; pick an earlier slot")
	case errors.Is(rule, slots.ErrServiceNotPerformed):
		return apierr.New(http.StatusUnprocessableEntity, "service_not_performed", "staff_id",
			"the staff member does not perform every requested service at this location; choose another or use \"any\"")
	default:
		return unprocessable("outside_working_hours", "starts_at is not a bookable slot: it falls outside working or opening hours, in a break or time off, or off the slot grid; ask for availability and pick a listed slot")
	}
}

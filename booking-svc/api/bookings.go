// Package api maps booking-svc's HTTP routes to the booking store and its errors to the
// documented error shape.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/idempotency"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/slots"
	"github.com/setora/rest/shared/timestamp"
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
	// With an Idempotency-Key the response body is rendered inside the transaction and stored
	// with the booking, and the same bytes go to the client.
	var body []byte
	if key := idempotency.FromContext(c.UserContext()); key != nil {
		in.Key = key
		in.Response = func(b *bookings.Booking) ([]byte, error) {
			var err error
			body, err = json.Marshal(fiber.Map{"data": b.View(slots.DisplayDuration)})
			return body, err
		}
	}
	b, err := h.Store.Create(c.UserContext(), p.OrganisationID, p.Now(), in)
	var missing *bookings.ServiceNotFoundError
	if errors.As(err, &missing) {
		return serviceNotFound(in.ServiceIDs, missing.ID)
	}
	if err != nil {
		return bookingError(err)
	}
	if body != nil {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(http.StatusCreated).Send(body)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

func (r *createRequest) validate() (bookings.CreateInput, error) {
	in := bookings.CreateInput{LocationSlug: r.LocationSlug, Notes: r.Notes, Source: r.Source}
	if r.LocationSlug == "" {
		return in, apierr.Invalid("location_slug", "location_slug is required; use the slug from GET /v1/locations, for example \"soho\"")
	}
	if len(r.ServiceIDs) == 0 {
		return in, apierr.Invalid("service_ids", "service_ids is required: 1 to %d service ids, in the order they are performed", maxServices)
	}
	if len(r.ServiceIDs) > maxServices {
		return in, apierr.Invalid("service_ids", "service_ids must list between 1 and %d service ids, in the order they are performed", maxServices)
	}
	seen := map[uuid.UUID]bool{}
	for i, raw := range r.ServiceIDs {
		param := fmt.Sprintf("service_ids[%d]", i)
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return in, apierr.Invalid(param, "%s %q is not a UUID", param, raw)
		}
		if seen[id] {
			return in, apierr.Invalid(param, "%s repeats service %s; list each service once", param, id)
		}
		seen[id] = true
		in.ServiceIDs = append(in.ServiceIDs, id)
	}

	start, err := timestamp.Parse("starts_at", r.StartsAt)
	if err != nil {
		return in, apierr.Invalid("starts_at", "%s", err)
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
	if strings.TrimSpace(r.Client.Phone) == "" && strings.TrimSpace(r.Client.Email) == "" {
		return nil, apierr.Invalid("client.phone", "a client needs a phone number or an e-mail address so they can be found again; send client.phone or client.email")
	}
	var err error
	if in.Phone, err = normalisePhone("client.phone", r.Client.Phone); err != nil {
		return nil, err
	}
	if in.Email, err = normaliseEmail("client.email", r.Client.Email); err != nil {
		return nil, err
	}
	return in, nil
}

// GetBooking handles GET /v1/bookings/:id.
func (h *Handlers) GetBooking(c *fiber.Ctx) error {
	p := auth.From(c)
	b, err := h.Store.Get(c.UserContext(), p.OrganisationID, p.Now(), c.Params("id"))
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

type depositRequest struct {
	AmountMinor      *int64 `json:"amount_minor"`
	Currency         string `json:"currency"`
	PaymentReference string `json:"payment_reference"`
}

type confirmRequest struct {
	Deposit *depositRequest `json:"deposit"`
}

// maxPaymentReferenceLength bounds the caller's payment reference.
const maxPaymentReferenceLength = 255

// ConfirmBooking handles POST /v1/bookings/:id/confirm. The body is optional and carries the
// deposit the caller took.
func (h *Handlers) ConfirmBooking(c *fiber.Ctx) error {
	var req confirmRequest
	if len(c.Body()) > 0 {
		if err := httpapi.DecodeJSON(c, &req); err != nil {
			return err
		}
	}
	in, err := req.validate()
	if err != nil {
		return err
	}
	p := auth.From(c)
	b, err := h.Store.Confirm(c.UserContext(), p.OrganisationID, p.Now(), c.Params("id"), in)
	if err != nil {
		return bookingError(err)
	}
	return c.JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

func (r *confirmRequest) validate() (bookings.ConfirmInput, error) {
	var in bookings.ConfirmInput
	if r.Deposit == nil {
		return in, nil
	}
	d := r.Deposit
	if d.AmountMinor == nil || *d.AmountMinor <= 0 {
		return in, apierr.Invalid("deposit.amount_minor", "deposit.amount_minor must be a positive whole number of minor units, for example 1000 for £10.00")
	}
	if d.Currency == "" {
		return in, apierr.Invalid("deposit.currency", "deposit.currency is required with a deposit: an ISO 4217 code in capitals, for example \"GBP\"")
	}
	if !currencyCode(d.Currency) {
		return in, apierr.Invalid("deposit.currency", "deposit.currency %q must be an ISO 4217 code in capitals, for example \"GBP\"", d.Currency)
	}
	ref := strings.TrimSpace(d.PaymentReference)
	if ref == "" || utf8.RuneCountInString(ref) > maxPaymentReferenceLength {
		return in, apierr.Invalid("deposit.payment_reference", "deposit.payment_reference is required with a deposit: your payment provider's id for the payment, at most %d characters", maxPaymentReferenceLength)
	}
	in.Deposit = &bookings.Deposit{AmountMinor: *d.AmountMinor, Currency: d.Currency, PaymentReference: ref}
	return in, nil
}

func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

type rescheduleRequest struct {
	StartsAt string  `json:"starts_at"`
	StaffID  *string `json:"staff_id"`
}

// RescheduleBooking handles POST /v1/bookings/:id/reschedule.
func (h *Handlers) RescheduleBooking(c *fiber.Ctx) error {
	var req rescheduleRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	start, err := timestamp.Parse("starts_at", req.StartsAt)
	if err != nil {
		return apierr.Invalid("starts_at", "%s", err)
	}
	in := bookings.RescheduleInput{StartsAt: start}
	if req.StaffID != nil {
		id := uuid.Nil
		if *req.StaffID != "any" {
			id, err = uuid.Parse(*req.StaffID)
			if err != nil || len(*req.StaffID) != 36 {
				return apierr.Invalid("staff_id", "staff_id %q must be a staff member's UUID or \"any\"; leave it out to keep the booking's staff member", *req.StaffID)
			}
		}
		in.StaffID = &id
	}
	p := auth.From(c)
	b, err := h.Store.Reschedule(c.UserContext(), p.OrganisationID, p.Now(), c.Params("id"), in)
	if err != nil {
		return bookingError(err)
	}
	return c.JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

// CompleteBooking handles POST /v1/bookings/:id/complete.
func (h *Handlers) CompleteBooking(c *fiber.Ctx) error {
	return h.markAttendance(c, h.Store.Complete)
}

// NoShowBooking handles POST /v1/bookings/:id/no_show.
func (h *Handlers) NoShowBooking(c *fiber.Ctx) error {
	return h.markAttendance(c, h.Store.NoShow)
}

type attendanceFunc func(ctx context.Context, orgID uuid.UUID, now time.Time, idOrRef string) (*bookings.Booking, error)

// markAttendance takes no fields; a body, if sent, must be an empty JSON object.
func (h *Handlers) markAttendance(c *fiber.Ctx, mark attendanceFunc) error {
	if len(c.Body()) > 0 {
		var empty struct{}
		if err := httpapi.DecodeJSON(c, &empty); err != nil {
			return err
		}
	}
	p := auth.From(c)
	b, err := mark(c.UserContext(), p.OrganisationID, p.Now(), c.Params("id"))
	if err != nil {
		return bookingError(err)
	}
	return c.JSON(fiber.Map{"data": b.View(slots.DisplayDuration)})
}

// PaginationView is the pagination object of every list response.
type PaginationView struct {
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

func paginationOf[T any](page bookings.Page[T]) PaginationView {
	v := PaginationView{HasMore: page.HasMore}
	if page.NextCursor != "" {
		v.NextCursor = &page.NextCursor
	}
	return v
}

// ListBookings handles GET /v1/bookings.
func (h *Handlers) ListBookings(c *fiber.Ctx) error {
	if err := allowOnly(c, "location_slug", "staff_id", "client_id", "status", "starts_from", "starts_before", "limit", "cursor"); err != nil {
		return err
	}
	filter, err := bookingFilter(c)
	if err != nil {
		return err
	}
	return h.listBookings(c, filter)
}

// listBookings sends one page of the bookings that match filter, reading limit and cursor from
// the query string.
func (h *Handlers) listBookings(c *fiber.Ctx, filter bookings.ListFilter) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	p := auth.From(c)
	list, err := h.Store.List(c.UserContext(), p.OrganisationID, p.Now(), filter, page)
	if err != nil {
		return bookingError(err)
	}
	views := make([]bookings.View, len(list.Items))
	for i, b := range list.Items {
		views[i] = b.View(slots.DisplayDuration)
	}
	return c.JSON(fiber.Map{"data": views, "pagination": paginationOf(list)})
}

// bookingStatuses are the statuses a list may be filtered by.
var bookingStatuses = []string{bookings.StatusHeld, bookings.StatusConfirmed, bookings.StatusCancelled,
	bookings.StatusExpired, bookings.StatusCompleted, bookings.StatusNoShow}

func bookingFilter(c *fiber.Ctx) (bookings.ListFilter, error) {
	f := bookings.ListFilter{LocationSlug: c.Query("location_slug")}
	var err error
	if f.StaffID, err = queryUUID(c, "staff_id"); err != nil {
		return f, err
	}
	if f.ClientID, err = queryUUID(c, "client_id"); err != nil {
		return f, err
	}
	if raw := c.Query("status"); raw != "" {
		for _, status := range strings.Split(raw, ",") {
			if !slices.Contains(bookingStatuses, status) {
				return f, apierr.Invalid("status", "status %q is not a booking status; use one or more of %s, separated by commas",
					status, strings.Join(bookingStatuses, ", "))
			}
			f.Statuses = append(f.Statuses, status)
		}
	}
	if f.StartsFrom, err = queryTime(c, "starts_from"); err != nil {
		return f, err
	}
	if f.StartsBefore, err = queryTime(c, "starts_before"); err != nil {
		return f, err
	}
	if !f.StartsFrom.IsZero() && !f.StartsBefore.IsZero() && !f.StartsFrom.Before(f.StartsBefore) {
		return f, apierr.Invalid("starts_before", "starts_before must be later than starts_from")
	}
	return f, nil
}

// allowOnly rejects query parameters other than names, so a misspelt filter is an error rather
// than silently ignored.
func allowOnly(c *fiber.Ctx, names ...string) error {
	var unknown string
	c.Context().QueryArgs().VisitAll(func(key, _ []byte) {
		if unknown == "" && !slices.Contains(names, string(key)) {
			unknown = string(key)
		}
	})
	if unknown != "" {
		return apierr.Invalid(unknown, "query parameter %q is not supported here; use %s", unknown, strings.Join(names, ", "))
	}
	return nil
}

func queryUUID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	raw := c.Query(name)
	if raw == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, apierr.Invalid(name, "%s %q is not a UUID", name, raw)
	}
	return id, nil
}

func queryTime(c *fiber.Ctx, name string) (time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := timestamp.Parse(name, raw)
	if err != nil {
		return time.Time{}, apierr.Invalid(name, "%s (write + as %%2B in a URL)", err)
	}
	return t, nil
}

// pageRequest reads limit (1 to 100, 20 by default) and cursor.
func pageRequest(c *fiber.Ctx) (bookings.PageRequest, error) {
	page := bookings.PageRequest{Limit: bookings.DefaultPageSize, Cursor: c.Query("cursor")}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > bookings.MaxPageSize {
			return page, apierr.Invalid("limit", "limit %q must be a whole number from 1 to %d", raw, bookings.MaxPageSize)
		}
		page.Limit = n
	}
	return page, nil
}

// AlternativeView is one bookable slot offered with a 409.
type AlternativeView struct {
	StartsAt string    `json:"starts_at"`
	EndsAt   string    `json:"ends_at"`
	StaffID  uuid.UUID `json:"staff_id"`
}

// serviceNotFound builds the 404 for the missing one of ids. Its param is service_ids[i], like the
// 400 for a malformed id, and the ids of a request are distinct, so i is unambiguous.
func serviceNotFound(ids []uuid.UUID, missing uuid.UUID) *apierr.Error {
	param := fmt.Sprintf("service_ids[%d]", slices.Index(ids, missing))
	return apierr.New(http.StatusNotFound, "service_not_found", param,
		"%s %s is not an active service of this organisation; list services with GET /v1/services", param, missing)
}

// bookingError maps the store's errors to the documented shape. Anything unknown becomes a 500
// through the shared error handler, which logs it.
func bookingError(err error) error {
	var taken *bookings.SlotTakenError
	var rule *bookings.RuleError
	var missingService *bookings.ServiceNotFoundError
	var transition *bookings.TransitionError
	var deposit *bookings.DepositError
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
			"%s; GET the booking to see its status", transition.Error())
	case errors.Is(err, bookings.ErrHoldExpired):
		return apierr.New(http.StatusConflict, "hold_expired", "id",
			"the hold has expired and its slot may have been taken; ask for availability and create a new booking")
	case errors.Is(err, bookings.ErrNotStarted):
		return apierr.New(http.StatusUnprocessableEntity, "booking_not_started", "id",
			"the booking has not started yet; mark it completed or no_show from its start time on")
	case errors.As(err, &deposit):
		return depositError(deposit)
	case errors.Is(err, bookings.ErrInvalidCursor):
		return apierr.Invalid("cursor", "cursor is not one this list issued with these filters; "+
			"pass next_cursor from the previous page unchanged, with the same filters, or leave it out to start again")
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

// depositError turns a rejected deposit into a 422 whose code names the problem. Amounts in
// messages are in minor units, as the API takes them.
func depositError(e *bookings.DepositError) error {
	switch e.Problem {
	case bookings.DepositMissing:
		return apierr.New(http.StatusUnprocessableEntity, "deposit_required", "deposit",
			"these services require a deposit of %d (minor units of %s); take it and confirm again with deposit.amount_minor, currency and payment_reference",
			e.RequiredMinor, e.Currency)
	case bookings.DepositShort:
		return apierr.New(http.StatusUnprocessableEntity, "deposit_insufficient", "deposit.amount_minor",
			"the deposit is less than the %d (minor units of %s) these services require; the hold is unchanged", e.RequiredMinor, e.Currency)
	case bookings.DepositCurrencyMismatch:
		return apierr.New(http.StatusUnprocessableEntity, "deposit_currency_mismatch", "deposit.currency",
			"the deposit must be in %s, the currency of the services", e.Currency)
	default:
		return apierr.New(http.StatusUnprocessableEntity, "deposit_above_price", "deposit.amount_minor",
			"the deposit is more than the price of %d (minor units of %s); record at most the price", e.PriceMinor, e.Currency)
	}
}

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
			"no staff member asked for performs every requested service at this location (with \"any\", nobody working then does); see who performs what here with GET /v1/staff?location_slug=...")
	case errors.Is(rule, slots.ErrOffGrid):
		return unprocessable("off_slot_grid", "starts_at is inside working hours but not on the location's slot grid; ask for availability and pick a listed start")
	case errors.Is(rule, slots.ErrOnBreak):
		return unprocessable("during_break", "starts_at, or the time around it, falls in a staff break; ask for availability and pick a listed slot")
	case errors.Is(rule, slots.ErrTimeOff):
		return unprocessable("during_time_off", "the staff member is on time off then; ask for availability and pick a listed slot")
	default:
		return unprocessable("outside_working_hours", "starts_at is not a bookable slot: it falls outside working or opening hours; ask for availability and pick a listed slot")
	}
}

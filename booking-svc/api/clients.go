package api

import (
	"encoding/json"
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
)

// maxEmailLength is the longest e-mail address accepted, as SMTP limits a path to 254 octets.
const maxEmailLength = 254

// ClientHandlers serves the client routes.
type ClientHandlers struct {
	Store *bookings.Store
}

// ClientView is a client's JSON form. An erased client has null personal fields and an
// erased_at time.
type ClientView struct {
	ID        uuid.UUID `json:"id"`
	Name      *string   `json:"name"`
	Phone     *string   `json:"phone"`
	Email     *string   `json:"email"`
	Notes     *string   `json:"notes"`
	ErasedAt  *string   `json:"erased_at"`
	CreatedAt string    `json:"created_at"`
	UpdatedAt string    `json:"updated_at"`
}

func clientView(c *bookings.Client) ClientView {
	at := func(t time.Time) string { return t.UTC().Format(offsetTime) }
	v := ClientView{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email, Notes: c.Notes,
		CreatedAt: at(c.CreatedAt), UpdatedAt: at(c.UpdatedAt)}
	if c.ErasedAt != nil {
		erased := at(*c.ErasedAt)
		v.ErasedAt = &erased
	}
	return v
}

type createClientRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
	Notes string `json:"notes"`
}

// CreateClient handles POST /v1/clients.
func (h *ClientHandlers) CreateClient(c *fiber.Ctx) error {
	var req createClientRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	in, err := req.validate()
	if err != nil {
		return err
	}
	client, err := h.Store.CreateClient(c.UserContext(), auth.From(c).OrganisationID, in)
	if err != nil {
		return clientError(err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"data": clientView(client)})
}

func (r *createClientRequest) validate() (bookings.NewClient, error) {
	in := bookings.NewClient{Name: strings.TrimSpace(r.Name), Notes: r.Notes}
	if err := checkName("name", in.Name); err != nil {
		return in, err
	}
	if err := checkNotes(in.Notes); err != nil {
		return in, err
	}
	if strings.TrimSpace(r.Phone) == "" && strings.TrimSpace(r.Email) == "" {
		return in, apierr.Invalid("phone", "a client needs a phone number or an e-mail address so they can be found again")
	}
	var err error
	if in.Phone, err = normalisePhone("phone", r.Phone); err != nil {
		return in, err
	}
	if in.Email, err = normaliseEmail("email", r.Email); err != nil {
		return in, err
	}
	return in, nil
}

func checkName(param, name string) error {
	if utf8.RuneCountInString(name) > maxNameLength {
		return apierr.Invalid(param, "%s may be at most %d characters", param, maxNameLength)
	}
	return nil
}

func checkNotes(notes string) error {
	if utf8.RuneCountInString(notes) > maxNotesLength {
		return apierr.Invalid("notes", "notes may be at most %d characters", maxNotesLength)
	}
	return nil
}

// normalisePhone returns the number in E.164, or "" for a blank one. The message never repeats
// the number, which is personal data.
func normalisePhone(param, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	phone, err := bookings.NormalisePhone(raw)
	if err != nil {
		return "", apierr.Invalid(param, "%s is not a valid phone number; give it in international form such as +447700900123, or as a UK number", param)
	}
	return phone, nil
}

// normaliseEmail returns the trimmed address, or "" for a blank one. The message never repeats
// the address, which is personal data.
func normaliseEmail(param, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	email, err := bookings.NormaliseEmail(raw)
	if err != nil || len(email) > maxEmailLength {
		return "", apierr.Invalid(param, "%s is not a valid e-mail address of at most %d characters", param, maxEmailLength)
	}
	return email, nil
}

// GetClient handles GET /v1/clients/:id.
func (h *ClientHandlers) GetClient(c *fiber.Ctx) error {
	id, err := clientID(c)
	if err != nil {
		return err
	}
	client, err := h.Store.GetClient(c.UserContext(), auth.From(c).OrganisationID, id)
	if err != nil {
		return clientError(err)
	}
	return c.JSON(fiber.Map{"data": clientView(client)})
}

// updateClientRequest keeps each field raw so that an absent field (unchanged) differs from
// null (cleared).
type updateClientRequest struct {
	Name  json.RawMessage `json:"name"`
	Phone json.RawMessage `json:"phone"`
	Email json.RawMessage `json:"email"`
	Notes json.RawMessage `json:"notes"`
}

// UpdateClient handles PATCH /v1/clients/:id with merge-patch rules, whether the body comes as
// application/merge-patch+json or application/json: a field left out stays as it is, null
// clears it, and a string replaces it. Every field of a client may be cleared.
func (h *ClientHandlers) UpdateClient(c *fiber.Ctx) error {
	id, err := clientID(c)
	if err != nil {
		return err
	}
	var req updateClientRequest
	if _, err := httpapi.DecodePatch(c, &req); err != nil {
		return err
	}
	patch, err := req.validate()
	if err != nil {
		return err
	}
	client, err := h.Store.UpdateClient(c.UserContext(), auth.From(c).OrganisationID, id, patch)
	if err != nil {
		return clientError(err)
	}
	return c.JSON(fiber.Map{"data": clientView(client)})
}

func (r *updateClientRequest) validate() (bookings.ClientPatch, error) {
	var patch bookings.ClientPatch
	var err error
	if patch.Name, err = optionalField("name", r.Name, func(s string) (string, error) {
		s = strings.TrimSpace(s)
		return s, checkName("name", s)
	}); err != nil {
		return patch, err
	}
	if patch.Phone, err = optionalField("phone", r.Phone, func(s string) (string, error) { return normalisePhone("phone", s) }); err != nil {
		return patch, err
	}
	if patch.Email, err = optionalField("email", r.Email, func(s string) (string, error) { return normaliseEmail("email", s) }); err != nil {
		return patch, err
	}
	if patch.Notes, err = optionalField("notes", r.Notes, func(s string) (string, error) { return s, checkNotes(s) }); err != nil {
		return patch, err
	}
	return patch, nil
}

// optionalField reads one merge-patch field: absent leaves it unset, null or a blank string
// clears it, and any other string is checked and normalised by clean.
func optionalField(param string, raw json.RawMessage, clean func(string) (string, error)) (bookings.Optional, error) {
	if raw == nil {
		return bookings.Optional{}, nil
	}
	if string(raw) == "null" {
		return bookings.Optional{Set: true}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return bookings.Optional{}, apierr.Invalid(param, "field %q must be a string, or null to clear it", param)
	}
	value, err := clean(s)
	if err != nil {
		return bookings.Optional{}, err
	}
	if value == "" {
		return bookings.Optional{Set: true}, nil
	}
	return bookings.Optional{Set: true, Value: &value}, nil
}

// EraseClient handles DELETE /v1/clients/:id: it erases the client's personal data and keeps
// their bookings. Repeating it returns the erased client again.
func (h *ClientHandlers) EraseClient(c *fiber.Ctx) error {
	id, err := clientID(c)
	if err != nil {
		return err
	}
	p := auth.From(c)
	client, err := h.Store.EraseClient(c.UserContext(), p.OrganisationID, p.Now(), id)
	if err != nil {
		return clientError(err)
	}
	return c.JSON(fiber.Map{"data": clientView(client)})
}

// ListClients handles GET /v1/clients, optionally filtered by phone or e-mail.
func (h *ClientHandlers) ListClients(c *fiber.Ctx) error {
	if err := allowOnly(c, "phone", "email", "limit", "cursor"); err != nil {
		return err
	}
	var f bookings.ClientFilter
	var err error
	if f.Phone, err = normalisePhone("phone", c.Query("phone")); err != nil {
		return err
	}
	if f.Email, err = normaliseEmail("email", c.Query("email")); err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	list, err := h.Store.ListClients(c.UserContext(), auth.From(c).OrganisationID, f, page)
	if err != nil {
		return clientError(err)
	}
	views := make([]ClientView, len(list.Items))
	for i, client := range list.Items {
		views[i] = clientView(client)
	}
	return c.JSON(fiber.Map{"data": views, "pagination": paginationOf(list)})
}

// ListClientBookings handles GET /v1/clients/:id/bookings, the client's bookings in the same
// order and pages as GET /v1/bookings. It works for erased clients too, whose bookings stay.
func (h *ClientHandlers) ListClientBookings(c *fiber.Ctx) error {
	if err := allowOnly(c, "status", "starts_from", "starts_before", "limit", "cursor"); err != nil {
		return err
	}
	id, err := clientID(c)
	if err != nil {
		return err
	}
	if _, err := h.Store.GetClient(c.UserContext(), auth.From(c).OrganisationID, id); err != nil {
		return clientError(err)
	}
	filter, err := bookingFilter(c)
	if err != nil {
		return err
	}
	filter.ClientID = id
	bookingHandlers := Handlers{Store: h.Store}
	return bookingHandlers.listBookings(c, filter)
}

// clientID reads the client id from the path; anything but a UUID names no client.
func clientID(c *fiber.Ctx) (uuid.UUID, error) {
	raw := c.Params("id")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, clientError(bookings.ErrClientNotFound)
	}
	return id, nil
}

// clientError maps the client store's errors to the documented shape. The messages name
// clients by id only, never by their personal data.
func clientError(err error) error {
	var exists *bookings.ClientExistsError
	switch {
	case errors.As(err, &exists):
		return apierr.New(http.StatusConflict, "client_exists", exists.Field,
			"client %s already has this %s; use that client, or change its details with PATCH /v1/clients/%s",
			exists.ID, fieldWord(exists.Field), exists.ID)
	case errors.Is(err, bookings.ErrClientNotFound):
		return apierr.New(http.StatusNotFound, "client_not_found", "id",
			"no client with that id; find clients with GET /v1/clients?phone=... or ?email=...")
	case errors.Is(err, bookings.ErrClientErased):
		return apierr.New(http.StatusConflict, "client_erased", "id",
			"this client's personal data has been erased, so the client cannot be changed; create a new client instead")
	case errors.Is(err, bookings.ErrClientContactRequired):
		return apierr.New(http.StatusUnprocessableEntity, "client_contact_required", "phone",
			"a client needs a phone number or an e-mail address; keep one of them")
	case errors.Is(err, bookings.ErrInvalidCursor):
		return bookingError(err)
	default:
		return err
	}
}

func fieldWord(field string) string {
	if field == "email" {
		return "e-mail address"
	}
	return "phone number"
}

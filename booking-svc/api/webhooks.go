package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/timestamp"
)

func mountWebhooks(v1 fiber.Router, deps Deps) {
	h := &WebhookHandlers{Store: newWebhookStore(deps)}
	read, write := auth.Require(auth.ScopeWebhooksRead), auth.Require(auth.ScopeWebhooksWrite)
	v1.Post("/webhook_endpoints", write, h.CreateEndpoint)
	v1.Get("/webhook_endpoints", read, h.ListEndpoints)
	v1.Get("/webhook_endpoints/:id", read, h.GetEndpoint)
	v1.Patch("/webhook_endpoints/:id", write, h.UpdateEndpoint)
	v1.Delete("/webhook_endpoints/:id", write, h.DeleteEndpoint)
	v1.Post("/webhook_endpoints/:id/rotate_secret", write, h.RotateSecret)
	v1.Post("/webhook_endpoints/:id/redeliver", write, h.Redeliver)
	v1.Get("/webhook_endpoints/:id/deliveries", read, h.ListDeliveries)
}

// newWebhookStore builds the store the webhook and event routes share. Its only failure is an
// invalid job queue configuration, which is fixed in code, so it panics at start-up.
func newWebhookStore(deps Deps) *webhooks.Store {
	store, err := webhooks.NewStore(deps.Pool, nil)
	if err != nil {
		panic(fmt.Sprintf("webhook store: %v", err))
	}
	return store
}

// WebhookHandlers serves the webhook endpoint routes.
type WebhookHandlers struct {
	Store *webhooks.Store
}

// EndpointView is a webhook endpoint's JSON form.
type EndpointView struct {
	ID           uuid.UUID `json:"id"`
	URL          string    `json:"url"`
	Description  string    `json:"description"`
	EventTypes   []string  `json:"event_types"`
	Status       string    `json:"status"`
	FailingSince *string   `json:"failing_since"`
	// PreviousSecretExpiresAt is set while the secret replaced by a rotation still signs.
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
	CreatedAt               string  `json:"created_at"`
	UpdatedAt               string  `json:"updated_at"`
	// Secret appears only in the responses to create and rotate_secret.
	Secret string `json:"secret,omitempty"`
}

// utcTime writes an instant that belongs to no location in UTC, as +00:00.
func utcTime(t time.Time) string { return t.UTC().Format(offsetTime) }

func utcTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := utcTime(*t)
	return &s
}

func endpointView(e *webhooks.Endpoint) EndpointView {
	return EndpointView{
		ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Status: e.Status,
		FailingSince: utcTimePtr(e.FailingSince), PreviousSecretExpiresAt: utcTimePtr(e.PreviousSecretExpiresAt),
		CreatedAt: utcTime(e.CreatedAt), UpdatedAt: utcTime(e.UpdatedAt), Secret: e.Secret,
	}
}

type endpointCreateRequest struct {
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description"`
}

// CreateEndpoint handles POST /v1/webhook_endpoints.
func (h *WebhookHandlers) CreateEndpoint(c *fiber.Ctx) error {
	var req endpointCreateRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkDescription(req.Description); err != nil {
		return err
	}
	p := auth.From(c)
	e, err := h.Store.CreateEndpoint(c.UserContext(), p.OrganisationID, p.Mode, webhooks.EndpointInput{
		URL: strings.TrimSpace(req.URL), EventTypes: req.EventTypes, Description: req.Description,
	})
	if err != nil {
		return webhookError(err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"data": endpointView(e)})
}

func checkDescription(description string) error {
	if utf8.RuneCountInString(description) > webhooks.MaxDescriptionLength {
		return apierr.Invalid("description", "description may be at most %d characters", webhooks.MaxDescriptionLength)
	}
	return nil
}

// ListEndpoints handles GET /v1/webhook_endpoints.
func (h *WebhookHandlers) ListEndpoints(c *fiber.Ctx) error {
	if err := allowQuery(c, "limit", "cursor"); err != nil {
		return err
	}
	const list, filters = "webhook_endpoints", ""
	page, err := listPage(c, list, filters)
	if err != nil {
		return err
	}
	p := auth.From(c)
	endpoints, next, err := h.Store.ListEndpoints(c.UserContext(), p.OrganisationID, page)
	if err != nil {
		return webhookError(err)
	}
	views := make([]EndpointView, len(endpoints))
	for i, e := range endpoints {
		views[i] = endpointView(e)
	}
	return c.JSON(fiber.Map{"data": views, "pagination": listPagination(next, list, filters)})
}

// GetEndpoint handles GET /v1/webhook_endpoints/:id.
func (h *WebhookHandlers) GetEndpoint(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	p := auth.From(c)
	e, err := h.Store.GetEndpoint(c.UserContext(), p.OrganisationID, id)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": endpointView(e)})
}

type endpointUpdateRequest struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Description *string   `json:"description"`
	Status      *string   `json:"status"`
}

// UpdateEndpoint handles PATCH /v1/webhook_endpoints/:id with merge-patch rules: fields left
// out keep their values, and null clears the description. Null on url, event_types or status
// is a 400, because an endpoint always has them.
func (h *WebhookHandlers) UpdateEndpoint(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	var req endpointUpdateRequest
	patch, err := httpapi.DecodePatch(c, &req)
	if err != nil {
		return err
	}
	if err := patch.RejectNulls("description"); err != nil {
		return err
	}
	if patch.Null("description") {
		cleared := ""
		req.Description = &cleared
	}

	in := webhooks.EndpointUpdate{Description: req.Description, Status: req.Status}
	if req.Description != nil {
		if err := checkDescription(*req.Description); err != nil {
			return err
		}
	}
	if req.URL != nil {
		url := strings.TrimSpace(*req.URL)
		in.URL = &url
	}
	if req.EventTypes != nil {
		in.EventTypes = *req.EventTypes
		if in.EventTypes == nil {
			in.EventTypes = []string{}
		}
	}

	p := auth.From(c)
	e, err := h.Store.UpdateEndpoint(c.UserContext(), p.OrganisationID, p.Mode, id, in)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": endpointView(e)})
}

// DeleteEndpoint handles DELETE /v1/webhook_endpoints/:id.
func (h *WebhookHandlers) DeleteEndpoint(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	p := auth.From(c)
	if err := h.Store.DeleteEndpoint(c.UserContext(), p.OrganisationID, id); err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": fiber.Map{"id": id, "deleted": true}})
}

type rotateRequest struct {
	// OverlapMinutes is how long the old secret keeps signing; 1440 (24 hours) when absent.
	OverlapMinutes *int `json:"overlap_minutes"`
}

// RotateSecret handles POST /v1/webhook_endpoints/:id/rotate_secret. The body is optional.
func (h *WebhookHandlers) RotateSecret(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	var req rotateRequest
	if len(c.Body()) > 0 {
		if err := httpapi.DecodeJSON(c, &req); err != nil {
			return err
		}
	}
	overlap := webhooks.DefaultSecretOverlap
	if req.OverlapMinutes != nil {
		overlap = time.Duration(*req.OverlapMinutes) * time.Minute
	}
	p := auth.From(c)
	e, err := h.Store.RotateSecret(c.UserContext(), p.OrganisationID, id, overlap)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": endpointView(e)})
}

type redeliverRequest struct {
	EventID         string `json:"event_id"`
	From            string `json:"from"`
	To              string `json:"to"`
	OnlyUndelivered bool   `json:"only_undelivered"`
}

// RedeliverView is the response to a redelivery request.
type RedeliverView struct {
	EndpointID uuid.UUID `json:"endpoint_id"`
	Queued     int       `json:"queued"`
}

// Redeliver handles POST /v1/webhook_endpoints/:id/redeliver: either one event_id, or a from
// (and optionally to, now by default) time range.
func (h *WebhookHandlers) Redeliver(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	var req redeliverRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	p := auth.From(c)
	in, err := req.validate(time.Now())
	if err != nil {
		return err
	}
	queued, err := h.Store.Redeliver(c.UserContext(), p.OrganisationID, id, in)
	if err != nil {
		return webhookError(err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"data": RedeliverView{EndpointID: id, Queued: queued}})
}

func (r *redeliverRequest) validate(now time.Time) (webhooks.RedeliverInput, error) {
	var in webhooks.RedeliverInput
	switch {
	case r.EventID != "" && (r.From != "" || r.To != "" || r.OnlyUndelivered):
		return in, apierr.Invalid("event_id", "send either event_id, or from (with an optional to and only_undelivered), not both")
	case r.EventID != "":
		id, err := uuid.Parse(r.EventID)
		if err != nil || len(r.EventID) != 36 {
			return in, apierr.Invalid("event_id", "event_id %q is not a UUID", r.EventID)
		}
		in.EventID = &id
		return in, nil
	case r.From == "":
		return in, apierr.Invalid("from", "send event_id for one event, or from (and optionally to) for the events created in a time range")
	}
	from, err := timestamp.Parse("from", r.From)
	if err != nil {
		return in, apierr.Invalid("from", "%s", err)
	}
	to := now
	if r.To != "" {
		if to, err = timestamp.Parse("to", r.To); err != nil {
			return in, apierr.Invalid("to", "%s", err)
		}
	}
	if !from.Before(to) {
		return in, apierr.Invalid("to", "to must be later than from")
	}
	in.From, in.To, in.OnlyUndelivered = from, to, r.OnlyUndelivered
	return in, nil
}

// DeliveryView is one attempt of an endpoint's delivery log.
type DeliveryView struct {
	ID         uuid.UUID `json:"id"`
	EventID    uuid.UUID `json:"event_id"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	Redelivery bool      `json:"redelivery"`
	Outcome    string    `json:"outcome"`
	StatusCode *int      `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error"`
	CreatedAt  string    `json:"created_at"`
}

// ListDeliveries handles GET /v1/webhook_endpoints/:id/deliveries.
func (h *WebhookHandlers) ListDeliveries(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	if err := allowQuery(c, "event_id", "limit", "cursor"); err != nil {
		return err
	}

	var filter webhooks.DeliveryFilter
	filters := ""
	if raw := c.Query("event_id"); raw != "" {
		eventID, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return apierr.Invalid("event_id", "event_id %q is not a UUID", raw)
		}
		filter.EventID, filters = &eventID, eventID.String()
	}
	list := "webhook_deliveries:" + id.String()
	page, err := listPage(c, list, filters)
	if err != nil {
		return err
	}

	p := auth.From(c)
	deliveries, next, err := h.Store.ListDeliveries(c.UserContext(), p.OrganisationID, id, filter, page)
	if err != nil {
		return webhookError(err)
	}

	views := make([]DeliveryView, len(deliveries))
	for i, d := range deliveries {
		views[i] = DeliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Attempt: d.Attempt,
			Redelivery: d.Redelivery, Outcome: d.Outcome, StatusCode: d.StatusCode, LatencyMS: d.Latency.Milliseconds(),
			Error: d.Error, CreatedAt: utcTime(d.CreatedAt)}
	}
	return c.JSON(fiber.Map{"data": views, "pagination": listPagination(next, list, filters)})
}

func endpointID(c *fiber.Ctx) (uuid.UUID, error) {
	raw := c.Params("id")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, apierr.New(http.StatusNotFound, "webhook_endpoint_not_found", "id",
			"no webhook endpoint with id %q; list endpoints with GET /v1/webhook_endpoints", raw)
	}
	return id, nil
}

// ListPaginationView is the pagination object of a list response.
type ListPaginationView struct {
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

func listPagination(next *webhooks.Cursor, list, filters string) ListPaginationView {
	if next == nil {
		return ListPaginationView{}
	}
	cursor := next.Encode(list, filters)
	return ListPaginationView{NextCursor: &cursor, HasMore: true}
}

// listPage reads limit (1 to 100, 20 by default) and a cursor issued for the same list and
// filters.
func listPage(c *fiber.Ctx, list, filters string) (webhooks.Page, error) {
	page := webhooks.Page{Limit: webhooks.DefaultPageLimit}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > webhooks.MaxPageLimit {
			return page, apierr.Invalid("limit", "limit %q must be a whole number from 1 to %d", raw, webhooks.MaxPageLimit)
		}
		page.Limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		cursor, err := webhooks.DecodeCursor(list, filters, raw)
		if err != nil {
			return page, apierr.Invalid("cursor", "cursor is not one this list returned with these filters; start again without a cursor")
		}
		page.After = cursor
	}
	return page, nil
}

// allowQuery rejects query parameters other than names.
func allowQuery(c *fiber.Ctx, names ...string) error {
	var unknown string
	c.Context().QueryArgs().VisitAll(func(key, _ []byte) {
		if unknown != "" {
			return
		}
		k := string(key)
		for _, name := range names {
			if k == name {
				return
			}
		}
		unknown = k
	})
	if unknown != "" {
		return apierr.Invalid(unknown, "query parameter %q is not supported here; use %s", unknown, strings.Join(names, ", "))
	}
	return nil
}

// webhookError maps the webhook store's errors to the documented shape.
func webhookError(err error) error {
	var invalid *webhooks.InvalidError
	switch {
	case errors.As(err, &invalid):
		return apierr.Invalid(invalid.Field, "%s", invalid.Message)
	case errors.Is(err, webhooks.ErrEndpointNotFound):
		return apierr.New(http.StatusNotFound, "webhook_endpoint_not_found", "id",
			"no webhook endpoint with that id; list endpoints with GET /v1/webhook_endpoints")
	case errors.Is(err, webhooks.ErrEventNotFound):
		return apierr.New(http.StatusNotFound, "event_not_found", "event_id",
			"no event with that id; list events with GET /v1/events")
	case errors.Is(err, webhooks.ErrTooManyEndpoints):
		return apierr.New(http.StatusUnprocessableEntity, "webhook_endpoint_limit_reached", "",
			"an organisation may have at most %d webhook endpoints; delete one you no longer use", webhooks.MaxEndpointsPerOrganisation)
	case errors.Is(err, webhooks.ErrEndpointDisabled):
		return apierr.New(http.StatusConflict, "webhook_endpoint_disabled", "id",
			"the webhook endpoint is disabled; set its status to \"enabled\" with PATCH before redelivering")
	case errors.Is(err, webhooks.ErrTooManyRedelivery):
		return apierr.New(http.StatusUnprocessableEntity, "redelivery_too_large", "from",
			"the range holds more than %d events; redeliver a shorter range at a time", webhooks.MaxRedeliveryEvents)
	default:
		return err
	}
}

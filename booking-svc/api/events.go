package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
)

func mountEvents(v1 fiber.Router, deps Deps) {
	h := &EventHandlers{Store: newWebhookStore(deps)}
	read := auth.Require(auth.ScopeWebhooksRead)
	v1.Get("/events", read, h.ListEvents)
	v1.Get("/events/:id", read, h.GetEvent)
}

// EventHandlers serves the event routes. Events are the bodies that webhooks deliver.
type EventHandlers struct {
	Store *webhooks.Store
}

// ListEvents handles GET /v1/events, newest first, filtered by type and booking_id (an id or a
// reference).
func (h *EventHandlers) ListEvents(c *fiber.Ctx) error {
	if err := allowQuery(c, "type", "booking_id", "limit", "cursor"); err != nil {
		return err
	}
	filter := webhooks.EventFilter{Type: c.Query("type"), Booking: c.Query("booking_id")}
	if filter.Type != "" && !slices.Contains(webhooks.EventTypes, filter.Type) {
		return apierr.Invalid("type", "type %q is not an event type; use one of %s", filter.Type, strings.Join(webhooks.EventTypes, ", "))
	}
	if filter.Booking != "" {
		if _, err := uuid.Parse(filter.Booking); err != nil && !bookings.IsReference(strings.ToUpper(filter.Booking)) {
			return apierr.Invalid("booking_id", "booking_id %q is neither a booking id nor a reference such as SET-7KQ2MX", filter.Booking)
		}
	}
	const list = "events"
	filters := filter.Type + "\x00" + strings.ToUpper(filter.Booking)
	page, err := listPage(c, list, filters)
	if err != nil {
		return err
	}
	p := auth.From(c)
	events, next, err := h.Store.ListEvents(c.UserContext(), p.OrganisationID, filter, page)
	if err != nil {
		return err
	}
	if events == nil {
		events = []*webhooks.Event{}
	}
	return c.JSON(fiber.Map{"data": events, "pagination": listPagination(next, list, filters)})
}

// GetEvent handles GET /v1/events/:id. The data is the body that webhooks deliver.
func (h *EventHandlers) GetEvent(c *fiber.Ctx) error {
	raw := c.Params("id")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return apierr.New(http.StatusNotFound, "event_not_found", "id", "no event with id %q; list events with GET /v1/events", raw)
	}
	p := auth.From(c)
	event, err := h.Store.GetEvent(c.UserContext(), p.OrganisationID, id)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": event})
}

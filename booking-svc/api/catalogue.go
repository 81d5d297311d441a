package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/catalogue"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/slots"
	"github.com/setora/rest/shared/timestamp"
)

// StrandedHeader counts the future bookings that a catalogue change left outside the hours it
// set; the answer's stranded_bookings lists them.
const StrandedHeader = "Setora-Stranded-Bookings"

// maxStrandedListed caps the stranded bookings listed in one response; the header has the count.
const maxStrandedListed = 100

func mountCatalogue(v1 fiber.Router, deps Deps) {
	h := &catalogueHandlers{store: catalogue.NewStore(deps.Pool, deps.Echo)}
	read, write := auth.Require(auth.ScopeCatalogRead), auth.Require(auth.ScopeCatalogWrite)

	v1.Get("/locations", read, h.listLocations)
	v1.Post("/locations", write, h.createLocation)
	v1.Get("/locations/:slug", read, h.getLocation)
	v1.Patch("/locations/:slug", write, h.updateLocation)
	v1.Get("/locations/:slug/closures", read, h.listClosures)
	v1.Put("/locations/:slug/closures/:date", write, h.putClosure)
	v1.Delete("/locations/:slug/closures/:date", write, h.deleteClosure)

	v1.Get("/services", read, h.listServices)
	v1.Post("/services", write, h.createService)
	v1.Get("/services/:id", read, h.getService)
	v1.Patch("/services/:id", write, h.updateService)

	v1.Get("/staff", read, h.listStaff)
	v1.Post("/staff", write, h.createStaff)
	v1.Get("/staff/:id", read, h.getStaff)
	v1.Patch("/staff/:id", write, h.updateStaff)
	v1.Put("/staff/:id/locations/:slug/services", write, h.putStaffServices)
	v1.Put("/staff/:id/locations/:slug/weekly_hours", write, h.putWeeklyHours)
	v1.Get("/staff/:id/locations/:slug/special_hours", read, h.listSpecialHours)
	v1.Put("/staff/:id/locations/:slug/special_hours/:date", write, h.putSpecialHours)
	v1.Delete("/staff/:id/locations/:slug/special_hours/:date", write, h.deleteSpecialHours)
	v1.Get("/staff/:id/time-off", read, h.listTimeOff)
	v1.Post("/staff/:id/time-off", write, h.createTimeOff)
	v1.Delete("/staff/:id/time-off/:time_off_id", write, h.deleteTimeOff)
}

type catalogueHandlers struct {
	store *catalogue.Store
}

// listBody is the list shape shared by every list of the API.
type listBody[T any] struct {
	Data       []T            `json:"data"`
	Pagination paginationBody `json:"pagination"`
}

type paginationBody struct {
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

func sendList[T, V any](c *fiber.Ctx, page catalogue.Page[T], view func(T) V) error {
	body := listBody[V]{Data: make([]V, 0, len(page.Items)), Pagination: paginationBody{HasMore: page.HasMore}}
	for _, item := range page.Items {
		body.Data = append(body.Data, view(item))
	}
	if page.NextCursor != "" {
		body.Pagination.NextCursor = &page.NextCursor
	}
	return c.JSON(body)
}

// changeBody is the response to a catalogue write: the changed resource, and the future bookings
// the change left outside the hours, when there are any.
type changeBody struct {
	Data             any                  `json:"data"`
	StrandedBookings []catalogue.Stranded `json:"stranded_bookings,omitempty"`
}

func sendChange(c *fiber.Ctx, status int, data any, stranded []catalogue.Stranded) error {
	if len(stranded) > 0 {
		c.Set(StrandedHeader, strconv.Itoa(len(stranded)))
	}
	return c.Status(status).JSON(changeBody{Data: data, StrandedBookings: stranded[:min(len(stranded), maxStrandedListed)]})
}

func sendOne(c *fiber.Ctx, status int, data any) error {
	return c.Status(status).JSON(fiber.Map{"data": data})
}

// queryParams rejects query parameters other than names, so a misspelt filter is never
// silently ignored.
func queryParams(c *fiber.Ctx, names ...string) error {
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

func cataloguePage(c *fiber.Ctx) (catalogue.PageRequest, error) {
	page := catalogue.PageRequest{Limit: catalogue.DefaultPageSize, Cursor: c.Query("cursor")}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > catalogue.MaxPageSize {
			return page, apierr.Invalid("limit", "limit %q must be a whole number from 1 to %d", raw, catalogue.MaxPageSize)
		}
		page.Limit = n
	}
	return page, nil
}

func pathUUID(c *fiber.Ctx, name, what string) (uuid.UUID, error) {
	raw := c.Params(name)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, apierr.New(http.StatusNotFound, what+"_not_found", name, "no %s with id %q; ids are UUIDs", strings.ReplaceAll(what, "_", " "), raw)
	}
	return id, nil
}

func pathDate(c *fiber.Ctx) (slots.Date, error) {
	d, err := catalogue.ParseDate("date", c.Params("date"))
	if err != nil {
		return d, catalogueError(err)
	}
	return d, nil
}

func queryDate(c *fiber.Ctx, name string) (*slots.Date, error) {
	raw := c.Query(name)
	if raw == "" {
		return nil, nil
	}
	d, err := catalogue.ParseDate(name, raw)
	if err != nil {
		return nil, catalogueError(err)
	}
	return &d, nil
}

func queryBool(c *fiber.Ctx, name string) (*bool, error) {
	switch c.Query(name) {
	case "":
		return nil, nil
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	default:
		return nil, apierr.Invalid(name, "%s %q must be true or false", name, c.Query(name))
	}
}

// catalogueError maps the store's errors to the documented shape. Anything unknown becomes a
// 500 through the shared error handler, which logs it.
func catalogueError(err error) error {
	var invalid *catalogue.ValidationError
	var missingService *catalogue.MissingServiceError
	switch {
	case errors.As(err, &invalid):
		return apierr.Invalid(invalid.Param, "%s", invalid.Message)
	case errors.Is(err, catalogue.ErrInvalidCursor):
		return apierr.Invalid("cursor", "cursor is not one this list issued with these filters; "+
			"pass next_cursor from the previous page unchanged, with the same filters, or leave it out to start again")
	case errors.Is(err, catalogue.ErrLocationNotFound):
		return apierr.New(http.StatusNotFound, "location_not_found", "slug",
			"no location with that slug; list your locations with GET /v1/locations")
	case errors.As(err, &missingService):
		param := fmt.Sprintf("service_ids[%d]", missingService.Index)
		return apierr.New(http.StatusNotFound, "service_not_found", param,
			"%s %s is not a service of this organisation; list services with GET /v1/services", param, missingService.ID)
	case errors.Is(err, catalogue.ErrServiceNotFound):
		return apierr.New(http.StatusNotFound, "service_not_found", "service_ids",
			"no service with that id; list services with GET /v1/services")
	case errors.Is(err, catalogue.ErrStaffNotFound):
		return apierr.New(http.StatusNotFound, "staff_not_found", "id",
			"no staff member with that id; list staff with GET /v1/staff")
	case errors.Is(err, catalogue.ErrTimeOffNotFound):
		return apierr.New(http.StatusNotFound, "time_off_not_found", "time_off_id",
			"no time off with that id for this staff member; list it with GET /v1/staff/{id}/time-off")
	case errors.Is(err, catalogue.ErrClosureNotFound):
		return apierr.New(http.StatusNotFound, "closure_not_found", "date",
			"the location is not closed on that date; list closures with GET /v1/locations/{slug}/closures")
	case errors.Is(err, catalogue.ErrSpecialNotFound):
		return apierr.New(http.StatusNotFound, "special_hours_not_found", "date",
			"no special hours on that date; the weekly hours apply")
	case errors.Is(err, catalogue.ErrSlugTaken):
		return apierr.New(http.StatusConflict, "location_slug_taken", "slug",
			"another location of your organisation already has that slug; choose another")
	default:
		return err
	}
}

func (h *catalogueHandlers) listLocations(c *fiber.Ctx) error {
	if err := queryParams(c, "limit", "cursor"); err != nil {
		return err
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	page, err := h.store.Locations(c.UserContext(), auth.From(c).OrganisationID, req)
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.Location).View)
}

func (h *catalogueHandlers) getLocation(c *fiber.Ctx) error {
	loc, err := h.store.Location(c.UserContext(), auth.From(c).OrganisationID, c.Params("slug"))
	if err != nil {
		return catalogueError(err)
	}
	return sendOne(c, http.StatusOK, loc.View())
}

func (h *catalogueHandlers) createLocation(c *fiber.Ctx) error {
	var in catalogue.LocationInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	loc, err := h.store.CreateLocation(c.UserContext(), auth.From(c).OrganisationID, in)
	if err != nil {
		return catalogueError(err)
	}
	return sendOne(c, http.StatusCreated, loc.View())
}

// updateLocation, updateService and updateStaff take a merge patch. No field of these resources
// can be cleared, because each always has a value, so null is a 400 naming the field.
func (h *catalogueHandlers) updateLocation(c *fiber.Ctx) error {
	var in catalogue.LocationInput
	if err := decodeCataloguePatch(c, &in); err != nil {
		return err
	}
	p := auth.From(c)
	loc, stranded, err := h.store.UpdateLocation(c.UserContext(), p.OrganisationID, p.Now(), c.Params("slug"), in)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, loc.View(), stranded)
}

func decodeCataloguePatch(c *fiber.Ctx, dst any) error {
	patch, err := httpapi.DecodePatch(c, dst)
	if err != nil {
		return err
	}
	return patch.RejectNulls()
}

func (h *catalogueHandlers) listClosures(c *fiber.Ctx) error {
	if err := queryParams(c, "from", "limit", "cursor"); err != nil {
		return err
	}
	from, err := queryDate(c, "from")
	if err != nil {
		return err
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	page, err := h.store.Closures(c.UserContext(), auth.From(c).OrganisationID, c.Params("slug"), from, req)
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.Closure).View)
}

type closureRequest struct {
	Reason string `json:"reason"`
}

// putClosure takes an optional body with a reason.
func (h *catalogueHandlers) putClosure(c *fiber.Ctx) error {
	date, err := pathDate(c)
	if err != nil {
		return err
	}
	var in closureRequest
	if len(c.Body()) > 0 {
		if err := httpapi.DecodeJSON(c, &in); err != nil {
			return err
		}
	}
	p := auth.From(c)
	closure, stranded, err := h.store.PutClosure(c.UserContext(), p.OrganisationID, p.Now(), c.Params("slug"), date, in.Reason)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, closure.View(), stranded)
}

func (h *catalogueHandlers) deleteClosure(c *fiber.Ctx) error {
	date, err := pathDate(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteClosure(c.UserContext(), auth.From(c).OrganisationID, c.Params("slug"), date); err != nil {
		return catalogueError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *catalogueHandlers) listServices(c *fiber.Ctx) error {
	if err := queryParams(c, "location_slug", "active", "limit", "cursor"); err != nil {
		return err
	}
	active, err := queryBool(c, "active")
	if err != nil {
		return err
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	filter := catalogue.ServiceFilter{LocationSlug: c.Query("location_slug"), Active: active}
	page, err := h.store.Services(c.UserContext(), auth.From(c).OrganisationID, filter, req)
	if errors.Is(err, catalogue.ErrLocationNotFound) {
		return apierr.New(http.StatusNotFound, "location_not_found", "location_slug",
			"no location with slug %q; list your locations with GET /v1/locations", filter.LocationSlug)
	}
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.Service).View)
}

func (h *catalogueHandlers) getService(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "service")
	if err != nil {
		return err
	}
	sv, err := h.store.Service(c.UserContext(), auth.From(c).OrganisationID, id)
	if err != nil {
		return serviceError(err)
	}
	return sendOne(c, http.StatusOK, sv.View())
}

// serviceError names the path parameter for a service that is not found.
func serviceError(err error) error {
	if errors.Is(err, catalogue.ErrServiceNotFound) {
		return apierr.New(http.StatusNotFound, "service_not_found", "id",
			"no service with that id; list services with GET /v1/services")
	}
	return catalogueError(err)
}

func (h *catalogueHandlers) createService(c *fiber.Ctx) error {
	var in catalogue.ServiceInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	sv, err := h.store.CreateService(c.UserContext(), auth.From(c).OrganisationID, in)
	if err != nil {
		return catalogueError(err)
	}
	return sendOne(c, http.StatusCreated, sv.View())
}

func (h *catalogueHandlers) updateService(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "service")
	if err != nil {
		return err
	}
	var in catalogue.ServiceInput
	if err := decodeCataloguePatch(c, &in); err != nil {
		return err
	}
	p := auth.From(c)
	sv, stranded, err := h.store.UpdateService(c.UserContext(), p.OrganisationID, p.Now(), id, in)
	if err != nil {
		return serviceError(err)
	}
	return sendChange(c, http.StatusOK, sv.View(), stranded)
}

func (h *catalogueHandlers) listStaff(c *fiber.Ctx) error {
	if err := queryParams(c, "location_slug", "service_id", "active", "limit", "cursor"); err != nil {
		return err
	}
	active, err := queryBool(c, "active")
	if err != nil {
		return err
	}
	filter := catalogue.StaffFilter{LocationSlug: c.Query("location_slug"), Active: active}
	if raw := c.Query("service_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return apierr.Invalid("service_id", "service_id %q is not a UUID", raw)
		}
		filter.ServiceID = id
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	page, err := h.store.StaffList(c.UserContext(), auth.From(c).OrganisationID, filter, req)
	if errors.Is(err, catalogue.ErrLocationNotFound) {
		return apierr.New(http.StatusNotFound, "location_not_found", "location_slug",
			"no location with slug %q; list your locations with GET /v1/locations", filter.LocationSlug)
	}
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.Staff).View)
}

func (h *catalogueHandlers) getStaff(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	st, err := h.store.StaffMember(c.UserContext(), auth.From(c).OrganisationID, id)
	if err != nil {
		return catalogueError(err)
	}
	return sendOne(c, http.StatusOK, st.View())
}

func (h *catalogueHandlers) createStaff(c *fiber.Ctx) error {
	var in catalogue.StaffInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	st, err := h.store.CreateStaff(c.UserContext(), auth.From(c).OrganisationID, in)
	if err != nil {
		return catalogueError(err)
	}
	return sendOne(c, http.StatusCreated, st.View())
}

func (h *catalogueHandlers) updateStaff(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	var in catalogue.StaffInput
	if err := decodeCataloguePatch(c, &in); err != nil {
		return err
	}
	p := auth.From(c)
	st, stranded, err := h.store.UpdateStaff(c.UserContext(), p.OrganisationID, p.Now(), id, in)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, st.View(), stranded)
}

type staffServicesRequest struct {
	ServiceIDs []string `json:"service_ids"`
}

func (h *catalogueHandlers) putStaffServices(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	var in staffServicesRequest
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.ServiceIDs == nil {
		return apierr.Invalid("service_ids", "service_ids is required: the ids of every service this staff member performs here, or [] for none")
	}
	ids := make([]uuid.UUID, 0, len(in.ServiceIDs))
	for i, raw := range in.ServiceIDs {
		param := fmt.Sprintf("service_ids[%d]", i)
		sid, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			return apierr.Invalid(param, "%s %q is not a UUID", param, raw)
		}
		if slices.Contains(ids, sid) {
			return apierr.Invalid(param, "%s repeats service %s; list each service once", param, sid)
		}
		ids = append(ids, sid)
	}
	p := auth.From(c)
	st, stranded, err := h.store.SetStaffServices(c.UserContext(), p.OrganisationID, p.Now(), id, c.Params("slug"), ids)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, st.View(), stranded)
}

type weeklyHoursRequest struct {
	WeeklyHours []catalogue.WeeklyWindow `json:"weekly_hours"`
}

func (h *catalogueHandlers) putWeeklyHours(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	var in weeklyHoursRequest
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.WeeklyHours == nil {
		return apierr.Invalid("weekly_hours", "weekly_hours is required: the working windows of the week, or [] for none")
	}
	p := auth.From(c)
	st, stranded, err := h.store.SetWeeklyHours(c.UserContext(), p.OrganisationID, p.Now(), id, c.Params("slug"), in.WeeklyHours)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, st.View(), stranded)
}

func (h *catalogueHandlers) listSpecialHours(c *fiber.Ctx) error {
	if err := queryParams(c, "from", "limit", "cursor"); err != nil {
		return err
	}
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	from, err := queryDate(c, "from")
	if err != nil {
		return err
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	page, err := h.store.SpecialHours(c.UserContext(), auth.From(c).OrganisationID, id, c.Params("slug"), from, req)
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.SpecialDay).View)
}

type specialHoursRequest struct {
	Hours []catalogue.Window `json:"hours"`
}

func (h *catalogueHandlers) putSpecialHours(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	date, err := pathDate(c)
	if err != nil {
		return err
	}
	var in specialHoursRequest
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Hours == nil {
		return apierr.Invalid("hours", "hours is required: the working windows of that date, or [] for a day off")
	}
	p := auth.From(c)
	day, stranded, err := h.store.PutSpecialHours(c.UserContext(), p.OrganisationID, p.Now(), id, c.Params("slug"), date, in.Hours)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusOK, day.View(), stranded)
}

func (h *catalogueHandlers) deleteSpecialHours(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	date, err := pathDate(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteSpecialHours(c.UserContext(), auth.From(c).OrganisationID, id, c.Params("slug"), date); err != nil {
		return catalogueError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *catalogueHandlers) listTimeOff(c *fiber.Ctx) error {
	if err := queryParams(c, "ends_after", "limit", "cursor"); err != nil {
		return err
	}
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	var from time.Time
	if raw := c.Query("ends_after"); raw != "" {
		if from, err = timestamp.Parse("ends_after", raw); err != nil {
			return apierr.Invalid("ends_after", "%s (write + as %%2B in a URL)", err)
		}
	}
	req, err := cataloguePage(c)
	if err != nil {
		return err
	}
	page, err := h.store.TimeOffList(c.UserContext(), auth.From(c).OrganisationID, id, from, req)
	if err != nil {
		return catalogueError(err)
	}
	return sendList(c, page, (*catalogue.TimeOff).View)
}

func (h *catalogueHandlers) createTimeOff(c *fiber.Ctx) error {
	id, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	var in catalogue.TimeOffInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	p := auth.From(c)
	t, stranded, err := h.store.CreateTimeOff(c.UserContext(), p.OrganisationID, p.Now(), id, in)
	if err != nil {
		return catalogueError(err)
	}
	return sendChange(c, http.StatusCreated, t.View(), stranded)
}

func (h *catalogueHandlers) deleteTimeOff(c *fiber.Ctx) error {
	staffID, err := pathUUID(c, "id", "staff")
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "time_off_id", "time_off")
	if err != nil {
		return err
	}
	if err := h.store.DeleteTimeOff(c.UserContext(), auth.From(c).OrganisationID, staffID, id); err != nil {
		return catalogueError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

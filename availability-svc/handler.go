package main

import (
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slotquery"
	"github.com/setora/rest/shared/slots"
)

// offsetTime is RFC 3339 that always writes the offset as ±hh:mm, so a zero offset in London
// reads +00:00 rather than Z.
const offsetTime = "2006-01-02T15:04:05-07:00"

// cacheControl lets a poller's own cache reuse an answer briefly; the ETag makes revalidation
// cheap after that.
const cacheControl = "private, max-age=5"

type availabilityHandler struct {
	catalogue *cache.Catalogue
	days      cache.Reader
	db        schedule.Querier
	metrics   *serviceMetrics
	log       *slog.Logger
}

func (h *availabilityHandler) get(c *fiber.Ctx) error {
	p := auth.From(c)
	q, err := slotquery.ParseQuery(string(c.Request().URI().QueryArgs().QueryString()))
	if err != nil {
		var pe *slotquery.ParamError
		if errors.As(err, &pe) {
			return apierr.Invalid(pe.Param, "%s", pe.Message)
		}
		return apierr.Invalid("", "%s", err.Error())
	}

	ctx := c.UserContext()
	slug := c.Params("slug")
	loc, err := h.catalogue.LocationBySlug(ctx, p.OrganisationID, slug)
	if errors.Is(err, schedule.ErrNotFound) {
		return apierr.New(http.StatusNotFound, "location_not_found", "slug",
			"no location with slug %q; list your locations with GET /v1/locations", slug)
	}
	if err != nil {
		return h.unavailable(c, err)
	}

	services, err := h.catalogue.Services(ctx, p.OrganisationID, q.ServiceIDs)
	var missing *schedule.MissingServiceError
	if errors.As(err, &missing) {
		return apierr.New(http.StatusNotFound, "service_not_found", "service_ids",
			"no active service with id %s; list services with GET /v1/services", missing.ID)
	}
	if err != nil {
		return h.unavailable(c, err)
	}

	dates := make([]slots.Date, q.Days)
	for i := range dates {
		dates[i] = q.Date.AddDays(i)
	}
	res, err := h.days.Read(ctx, loc, dates)
	if err != nil {
		return h.unavailable(c, err)
	}

	if q.StaffID != uuid.Nil && !staffScheduled(res.Days, q.StaffID) {
		if err := h.checkStaff(c, p.OrganisationID, q.StaffID); err != nil {
			return err
		}
	}

	engineServices := make([]slots.Service, len(services))
	total := 0
	for i := range services {
		engineServices[i] = services[i].Engine()
		total += services[i].DurationMinutes
	}
	found := slots.Find(res.Days, slots.Query{Services: engineServices, StaffID: q.StaffID, Now: p.Now()})

	zone := loc.Zone
	zoneName := loc.TimeZone
	if q.TimeZone != nil {
		zone, zoneName = q.TimeZone, q.TimeZone.String()
	}
	body := renderAvailability(loc.Slug, zoneName, zone, q.ServiceIDs, total, found)

	etag := etagOf(body)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderVary, "Authorization")
	if res.Stale {
		c.Set(StaleHeader, "true")
	}
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && etagMatches(match, etag) {
		h.metrics.notModified.Inc()
		return c.SendStatus(http.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(body)
}

// StaleHeader is set to "true" on an answer that was served from cache while its freshness
// could not be confirmed (PostgreSQL unreachable).
const StaleHeader = "Setora-Stale"

func staffScheduled(days []slots.DaySchedule, staffID uuid.UUID) bool {
	for i := range days {
		for j := range days[i].Staff {
			if days[i].Staff[j].StaffID == staffID {
				return true
			}
		}
	}
	return false
}

// checkStaff returns 404 when the staff member is not in the organisation. A staff member who
// exists but does not work in the range simply has no slots.
func (h *availabilityHandler) checkStaff(c *fiber.Ctx, orgID, staffID uuid.UUID) error {
	var exists bool
	err := h.db.QueryRow(c.UserContext(), `SELECT EXISTS (SELECT 1 FROM staff WHERE organisation_id = $1 AND id = $2)`,
		orgID, staffID).Scan(&exists)
	if err != nil {
		return h.unavailable(c, err)
	}
	if !exists {
		return apierr.New(http.StatusNotFound, "staff_not_found", "staff_id",
			"no staff member with id %s; list staff with GET /v1/staff", staffID)
	}
	return nil
}

// unavailable logs a failed read and answers 503: nothing the client sent causes it.
func (h *availabilityHandler) unavailable(c *fiber.Ctx, err error) error {
	h.log.Error("availability read failed", "error", err.Error(), "request_id", httpapi.RequestID(c))
	return apierr.Unavailable(2, "availability could not be read because the database is unreachable; retry shortly")
}

// renderAvailability writes the documented JSON by hand: it is the hottest path of the service
// and the shape is fixed.
func renderAvailability(slug, zoneName string, zone *time.Location, serviceIDs []uuid.UUID, minutes int, found []slots.Slot) []byte {
	buf := make([]byte, 0, 192+len(found)*128)
	buf = append(buf, `{"data":{"location_slug":`...)
	buf = strconv.AppendQuote(buf, slug)
	buf = append(buf, `,"timezone":`...)
	buf = strconv.AppendQuote(buf, zoneName)
	buf = append(buf, `,"service_ids":[`...)
	for i, id := range serviceIDs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, id.String()...)
		buf = append(buf, '"')
	}
	buf = append(buf, `],"duration":{"minutes":`...)
	buf = strconv.AppendInt(buf, int64(minutes), 10)
	buf = append(buf, `,"display":`...)
	buf = strconv.AppendQuote(buf, slots.DisplayDuration(minutes))
	buf = append(buf, `},"slots":[`...)
	for i, s := range found {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"starts_at":"`...)
		buf = s.Start.In(zone).AppendFormat(buf, offsetTime)
		buf = append(buf, `","ends_at":"`...)
		buf = s.End.In(zone).AppendFormat(buf, offsetTime)
		buf = append(buf, `","staff_id":"`...)
		buf = append(buf, s.StaffID.String()...)
		buf = append(buf, `"}`...)
	}
	buf = append(buf, "]}}"...)
	return buf
}

func etagOf(body []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(body)
	return `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
}

// etagMatches applies If-None-Match's weak comparison to a list of tags or "*".
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == etag || tag == "W/"+etag {
			return true
		}
	}
	return false
}

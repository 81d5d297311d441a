package main

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
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
	// answers, when set, keeps rendered answers; it is used only when days is a versioner.
	answers *answers
	db      schedule.Querier
	metrics *serviceMetrics
	log     *slog.Logger
}

func (h *availabilityHandler) get(c *fiber.Ctx) error {
	p := auth.From(c)
	rawQuery := string(c.Request().URI().QueryArgs().QueryString())
	q, err := slotquery.ParseQuery(rawQuery)
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
		param := slotquery.ServiceParam(slices.Index(q.ServiceIDs, missing.ID))
		return apierr.New(http.StatusNotFound, "service_not_found", param,
			"%s %s is not an active service of this organisation; list services with GET /v1/services", param, missing.ID)
	}
	if err != nil {
		return h.unavailable(c, err)
	}

	dates := make([]slots.Date, q.Days)
	for i := range dates {
		dates[i] = q.Date.AddDays(i)
	}
	now := p.Now()
	key := answerKey(loc.ID, rawQuery)
	version, cacheable := uint64(0), false
	if v, ok := h.days.(versioner); ok && h.answers != nil {
		version, cacheable = v.Version(loc.ID, dates)
	}
	if cacheable {
		if ans, ok := h.answers.get(key, version, now); ok {
			return h.send(c, ans.body, ans.etag, false)
		}
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
	found := slots.Find(res.Days, slots.Query{Services: engineServices, StaffID: q.StaffID, Now: now})

	zone := loc.Zone
	zoneName := loc.TimeZone
	if q.TimeZone != nil {
		zone, zoneName = q.TimeZone, q.TimeZone.String()
	}
	body := renderAvailability(loc.Slug, zoneName, zone, q.ServiceIDs, total, found)

	etag := etagOf(body)
	if cacheable && !res.Stale {
		h.answers.put(key, &answer{body: body, etag: etag, version: version, from: now,
			until: answerValidUntil(now, loc, res.Days, found)})
	}
	return h.send(c, body, etag, res.Stale)
}

// send writes the response, or 304 when the caller already has its ETag.
func (h *availabilityHandler) send(c *fiber.Ctx, body []byte, etag string, stale bool) error {
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderVary, "Authorization")
	if stale {
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
	buf := make([]byte, 0, 256+len(found)*144)
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
		buf = appendUUID(buf, id)
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
		buf = appendTime(buf, s.Start.In(zone))
		buf = append(buf, `","ends_at":"`...)
		buf = appendTime(buf, s.End.In(zone))
		buf = append(buf, `","staff_id":"`...)
		buf = appendUUID(buf, s.StaffID)
		buf = append(buf, `"}`...)
	}
	buf = append(buf, "]}}"...)
	return buf
}

func etagOf(body []byte) string {
	return `"` + strconv.FormatUint(xxhash.Sum64(body), 36) + `"`
}

// appendTime writes t as RFC 3339 to the second with its offset as ±hh:mm, the same text as
// t.Format(offsetTime) without parsing the layout for every slot.
func appendTime(buf []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	_, offset := t.Zone()

	buf = appendDigits(buf, year, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(month), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, day, 2)
	buf = append(buf, 'T')
	buf = appendDigits(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, minute, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, second, 2)

	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	offset /= 60 // minutes; offsets with seconds, used before 1972 in a few zones, are cut
	buf = append(buf, sign)
	buf = appendDigits(buf, offset/60, 2)
	buf = append(buf, ':')
	return appendDigits(buf, offset%60, 2)
}

// appendDigits writes n zero-padded to width digits; n must be non-negative.
func appendDigits(buf []byte, n, width int) []byte {
	var digits [8]byte
	i := len(digits)
	for n > 0 || width > 0 {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(buf, digits[i:]...)
}

// appendUUID writes id in its canonical 36-character form without allocating.
func appendUUID(buf []byte, id uuid.UUID) []byte {
	var text [36]byte
	hex.Encode(text[0:8], id[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], id[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], id[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], id[8:10])
	text[23] = '-'
	hex.Encode(text[24:], id[10:16])
	return append(buf, text[:]...)
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

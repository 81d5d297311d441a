// Package slotquery parses and validates the query parameters of an availability request:
// service_ids, date, days, staff_id and timezone. Its only I/O is time.LoadLocation reading zone
// data to check a timezone parameter.
//
// NOTE: time.LoadLocation needs zone data at run time. A binary that runs where
// /usr/share/zoneinfo is missing (a distroless or scratch image) must import time/tzdata, or
// every timezone parameter except UTC is rejected as unknown.
package slotquery

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/setora/rest/shared/slots"
)

// Limits on the parameters.
const (
	MaxServices = slots.MaxServices // service_ids accepts 1 to MaxServices ids
	MaxDays     = 31                // days accepts 1 to MaxDays
	DefaultDays = 1                 // days when the parameter is absent
)

// Parameter names.
const (
	ParamServiceIDs = "service_ids"
	ParamDate       = "date"
	ParamDays       = "days"
	ParamStaffID    = "staff_id"
	ParamTimeZone   = "timezone"
)

// ServiceParam names the service id at index i of service_ids, counting across commas and
// repeated parameters from 0, so that errors about one id point at it as body fields do.
func ServiceParam(i int) string {
	return fmt.Sprintf("%s[%d]", ParamServiceIDs, i)
}

var knownParams = []string{ParamServiceIDs, ParamDate, ParamDays, ParamStaffID, ParamTimeZone}

// Request is a validated availability request.
type Request struct {
	ServiceIDs []uuid.UUID    // 1 to MaxServices distinct ids, in the order given
	Date       slots.Date     // first local date to list
	Days       int            // number of dates to list, 1 to MaxDays
	StaffID    uuid.UUID      // the staff member requested, or uuid.Nil for any
	TimeZone   *time.Location // the zone requested, or nil when timezone is absent
}

// ParamError is a rejected query parameter. Message is meant for the client. It names the
// parameter and the value and describes what to send instead. Param is empty when a parameter
// name itself is not valid URL encoding.
type ParamError struct {
	Param   string
	Message string
}

func (e *ParamError) Error() string {
	return e.Message
}

func paramError(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// ParseQuery decodes a raw URL query string, such as fasthttp's QueryArgs().QueryString(), and
// parses it like Parse. Pairs are separated by '&' only, and '+' decodes to a space. Every
// error is a *ParamError.
func ParseQuery(raw string) (Request, error) {
	values := url.Values{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return Request{}, paramError("", "query parameter name %q is not valid URL encoding; percent-encode it", rawKey)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return Request{}, paramError(key, "%s value %q is not valid URL encoding; percent-encode it", key, rawValue)
		}
		values[key] = append(values[key], value)
	}
	return Parse(values)
}

// Parse validates decoded query parameters. It rejects unknown parameters, and single-valued
// parameters given more than once. service_ids may be comma-separated, repeated, or both. Every
// error is a *ParamError for the first problem found, checking unknown parameters first and then
// the parameters in the order service_ids, date, days, staff_id, timezone.
func Parse(values url.Values) (Request, error) {
	if err := checkKnown(values); err != nil {
		return Request{}, err
	}

	var request Request
	var err error
	if request.ServiceIDs, err = parseServiceIDs(values[ParamServiceIDs]); err != nil {
		return Request{}, err
	}
	if request.Date, err = parseDate(values[ParamDate]); err != nil {
		return Request{}, err
	}
	if request.Days, err = parseDays(values[ParamDays]); err != nil {
		return Request{}, err
	}
	if request.StaffID, err = parseStaffID(values[ParamStaffID]); err != nil {
		return Request{}, err
	}
	if request.TimeZone, err = parseTimeZone(values[ParamTimeZone]); err != nil {
		return Request{}, err
	}
	return request, nil
}

// checkKnown rejects the first unknown parameter in alphabetical order, so the error does not
// depend on map order.
func checkKnown(values url.Values) error {
	var unknown []string
	for key := range values {
		if !slices.Contains(knownParams, key) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return paramError(unknown[0], "unknown query parameter %q; use only %s", unknown[0], strings.Join(knownParams, ", "))
}

// singleValue returns the parameter's only value, or an error when it is given more than once.
// present is false when the parameter is absent.
func singleValue(param string, values []string) (value string, present bool, err error) {
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
		return values[0], true, nil
	default:
		return "", false, paramError(param, "%s is given %d times; give it once", param, len(values))
	}
}

func parseServiceIDs(values []string) ([]uuid.UUID, error) {
	if len(values) == 0 {
		return nil, paramError(ParamServiceIDs, "%s is missing; give 1 to %d service UUIDs separated by commas", ParamServiceIDs, MaxServices)
	}

	var ids []uuid.UUID
	for _, value := range values {
		for item := range strings.SplitSeq(value, ",") {
			if item == "" {
				return nil, paramError(ParamServiceIDs, "%s %q contains an empty item; separate service UUIDs with single commas", ParamServiceIDs, value)
			}
			if len(ids) == MaxServices {
				return nil, paramError(ParamServiceIDs, "%s has more than %d items; give 1 to %d service UUIDs", ParamServiceIDs, MaxServices, MaxServices)
			}
			id, err := parseUUID(ServiceParam(len(ids)), item)
			if err != nil {
				return nil, err
			}
			if slices.Contains(ids, id) {
				return nil, paramError(ServiceParam(len(ids)), "%s lists %s more than once; give each service once", ParamServiceIDs, id)
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// parseUUID accepts only the canonical 36-character hyphenated form, in either case, and
// rejects the nil UUID.
func parseUUID(param, value string) (uuid.UUID, error) {
	id, err := uuid.Parse(value)
	if err != nil || len(value) != 36 {
		return uuid.Nil, paramError(param, "%s %q is not a valid UUID; use the form 123e4567-e89b-12d3-a456-426614174000", param, value)
	}
	if id == uuid.Nil {
		return uuid.Nil, paramError(param, "%s %q is the nil UUID; give a real id", param, value)
	}
	return id, nil
}

func parseDate(values []string) (slots.Date, error) {
	value, present, err := singleValue(ParamDate, values)
	if err != nil {
		return slots.Date{}, err
	}
	if !present {
		return slots.Date{}, paramError(ParamDate, "%s is missing; give the first local date as YYYY-MM-DD", ParamDate)
	}
	date, err := slots.ParseDate(value)
	if err != nil {
		// ParseDate's message already names the value and the expected form.
		return slots.Date{}, &ParamError{Param: ParamDate, Message: err.Error()}
	}
	return date, nil
}

func parseDays(values []string) (int, error) {
	value, present, err := singleValue(ParamDays, values)
	if err != nil {
		return 0, err
	}
	if !present {
		return DefaultDays, nil
	}

	digits := strings.TrimPrefix(value, "-")
	if !isDigits(digits) {
		return 0, paramError(ParamDays, "%s %q is not a whole number written in digits; give a whole number from 1 to %d", ParamDays, value, MaxDays)
	}
	days, err := strconv.Atoi(value)
	if err != nil || days < 1 || days > MaxDays {
		// With only digits and an optional minus sign, Atoi can fail only on overflow.
		return 0, paramError(ParamDays, "%s %q is out of range; give a whole number from 1 to %d", ParamDays, value, MaxDays)
	}
	return days, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseStaffID(values []string) (uuid.UUID, error) {
	value, present, err := singleValue(ParamStaffID, values)
	if err != nil || !present {
		return uuid.Nil, err
	}
	return parseUUID(ParamStaffID, value)
}

// parseTimeZone accepts canonical IANA zone names such as Europe/London, UTC or Etc/GMT+5. Names
// must load with time.LoadLocation and contain only ASCII letters, digits and _ + - /, with no
// empty path segment. That rejects "", "Local", offsets such as "GMT-05:00" and file paths. It
// also rejects the names that exist only as files in a system zoneinfo directory: localtime,
// posixrules and the posix/ and right/ trees.
func parseTimeZone(values []string) (*time.Location, error) {
	value, present, err := singleValue(ParamTimeZone, values)
	if err != nil || !present {
		return nil, err
	}
	if value == "" {
		return nil, paramError(ParamTimeZone, "%s is empty; give an IANA time zone name such as Europe/London, or leave it out", ParamTimeZone)
	}
	if !isZoneName(value) {
		return nil, paramError(ParamTimeZone, "%s %q is not an IANA time zone name; use a name such as Europe/London", ParamTimeZone, value)
	}
	tz, err := time.LoadLocation(value)
	if err != nil {
		return nil, paramError(ParamTimeZone, "%s %q is not a known IANA time zone; use a name such as Europe/London", ParamTimeZone, value)
	}
	return tz, nil
}

func isZoneName(name string) bool {
	switch {
	case name == "Local" || name == "localtime" || name == "posixrules":
		return false
	case strings.HasPrefix(name, "posix/") || strings.HasPrefix(name, "right/"):
		return false
	}
	for segment := range strings.SplitSeq(name, "/") {
		if segment == "" {
			return false // a leading, trailing or doubled slash
		}
		for _, c := range segment {
			isAllowed := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-'
			if !isAllowed {
				return false
			}
		}
	}
	return true
}

// Package apierr defines the one error shape every endpoint answers with and maps domain errors
// to it.
package apierr

import (
	"fmt"
	"net/http"
)

// Error is an API error as clients see it. Status is the HTTP status; the other fields are
// serialised under "error".
type Error struct {
	Status  int    `json:"-"`
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	// RequestID is filled in by the error handler.
	RequestID string `json:"request_id"`
	// Alternatives lists bookable slots offered with a 409 slot_unavailable.
	Alternatives any `json:"alternatives,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header when positive.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Param, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Body is the JSON document that carries an Error.
type Body struct {
	Error *Error `json:"error"`
}

// typeFor names the error family of a status so clients can branch without knowing every code.
func typeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusConflict:
		return "conflict_error"
	case status == http.StatusUnprocessableEntity:
		return "unprocessable_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

// New builds an error with the type that fits its status.
func New(status int, code, param, format string, args ...any) *Error {
	return &Error{Status: status, Type: typeFor(status), Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 for a malformed parameter or field.
func Invalid(param, format string, args ...any) *Error {
	return New(http.StatusBadRequest, "invalid_parameter", param, format, args...)
}

// NotFound is a 404 that never reveals whether the resource exists in another organisation.
func NotFound(param, format string, args ...any) *Error {
	return New(http.StatusNotFound, "resource_not_found", param, format, args...)
}

// Internal is the 500 answer for a fault of ours; its message gives nothing away.
func Internal() *Error {
	return New(http.StatusInternalServerError, "internal_error", "",
		"the request failed on our side; retry it, and quote the request id if it keeps failing")
}

// Unavailable is a 503 for a dependency that is down.
func Unavailable(retryAfter int, format string, args ...any) *Error {
	e := New(http.StatusServiceUnavailable, "service_unavailable", "", format, args...)
	e.RetryAfter = retryAfter
	return e
}

// Package httpapi holds the Fiber setup both services share: request ids, the error handler,
// the request log line and strict JSON decoding.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/shared/apierr"
)

// MaxBodyBytes caps every request body; a larger one is answered with 413.
const MaxBodyBytes = 64 << 10

// MaxReadBytes is how much of a body the server reads before giving up on the connection; it
// matches the Ingress's proxy-body-size. A body between MaxBodyBytes and MaxReadBytes is read
// in full and then rejected, so a proxy that forwarded it reads the 413. Rejecting it from the
// Content-Length alone closes the connection while the proxy may still be writing the body.
const MaxReadBytes = 1 << 20

const requestIDKey = "request_id"

// NewApp returns a Fiber app with the shared error handler and body limit. instrument runs
// after the request id is set and around the panic recovery and the request log line, so that
// a server span and the request metrics see every request with its final status.
func NewApp(service string, log *slog.Logger, instrument ...fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               service,
		DisableStartupMessage: true,
		BodyLimit:             MaxReadBytes,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          15 * time.Second,
		IdleTimeout:           90 * time.Second,
		ErrorHandler:          ErrorHandler(log),
	})
	app.Use(requestID)
	for _, h := range instrument {
		app.Use(h)
	}
	app.Use(recoverPanic(log), accessLog(log), limitBody)
	return app
}

// limitBody rejects a body over MaxBodyBytes before it reaches a handler.
func limitBody(c *fiber.Ctx) error {
	if len(c.Request().Body()) > MaxBodyBytes {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// RequestID returns the id of the request being served.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

// requestID accepts a caller's X-Request-Id when it is short and printable, else makes one.
func requestID(c *fiber.Ctx) error {
	id := c.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Locals(requestIDKey, id)
	c.Set("X-Request-Id", id)
	return c.Next()
}

func newRequestID() string {
	return "req_" + strings.ReplaceAll(uuid.NewString(), "-", "")
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func recoverPanic(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panicked", "panic", fmt.Sprint(r), "request_id", RequestID(c))
				err = apierr.Internal()
			}
		}()
		return c.Next()
	}
}

// accessLog writes one line per request with the route template, never the raw path, because
// paths carry identifiers and query strings may carry personal data.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			if handlerErr := c.App().ErrorHandler(c, err); handlerErr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{
			"method", c.Method(),
			"route", c.Route().Path,
			"status", status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"request_id", RequestID(c),
		}
		if prefix, ok := c.Locals("key_prefix").(string); ok {
			attrs = append(attrs, "key_prefix", prefix)
		}
		log.Log(c.UserContext(), level, "request", attrs...)
		return nil
	}
}

// ErrorHandler writes every error in the documented shape. Errors that are not *apierr.Error
// become a 500 whose details stay in the log.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var apiErr *apierr.Error
		var fiberErr *fiber.Error
		switch {
		case errors.As(err, &apiErr):
		case errors.As(err, &fiberErr):
			apiErr = fromFiber(c, fiberErr)
		default:
			log.ErrorContext(c.UserContext(), "request failed", "error", err.Error(), "route", c.Route().Path,
				"request_id", RequestID(c))
			apiErr = apierr.Internal()
		}

		body := *apiErr
		body.RequestID = RequestID(c)
		if body.RequestID == "" {
			// Errors raised before the middleware ran, such as a body over the limit, still get
			// an id to quote.
			body.RequestID = newRequestID()
			c.Set("X-Request-Id", body.RequestID)
		}
		if body.RetryAfter > 0 {
			c.Set("Retry-After", strconv.Itoa(body.RetryAfter))
		}
		return c.Status(body.Status).JSON(apierr.Body{Error: &body})
	}
}

func fromFiber(c *fiber.Ctx, e *fiber.Error) *apierr.Error {
	switch e.Code {
	case http.StatusNotFound:
		return apierr.New(http.StatusNotFound, "route_not_found", "",
			"no route matches %s %s; see /v1/openapi.json for the routes", c.Method(), c.Path())
	case http.StatusMethodNotAllowed:
		return apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "",
			"%s is not allowed on this route", c.Method())
	case http.StatusRequestEntityTooLarge:
		return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "",
			"the request body is larger than %d bytes", MaxBodyBytes)
	case http.StatusBadRequest:
		return apierr.New(http.StatusBadRequest, "malformed_request", "", "the request could not be parsed: %s", e.Message)
	default:
		if e.Code >= 500 {
			return apierr.Internal()
		}
		return apierr.New(e.Code, "request_error", "", "%s", e.Message)
	}
}

// DecodeJSON reads the body into dst, rejecting a non-JSON content type (415), unknown fields
// and trailing data (400). An error about a member names it by its full path, such as
// client.mobile or service_ids[1].
func DecodeJSON(c *fiber.Ctx, dst any) error {
	if mediaType(c) != fiber.MIMEApplicationJSON {
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "",
			"send the body as JSON with Content-Type: application/json")
	}
	return decodeBody(c.Body(), dst)
}

// mediaType returns the request's media type in lower case, without parameters.
func mediaType(c *fiber.Ctx) string {
	return strings.ToLower(strings.TrimSpace(strings.SplitN(c.Get(fiber.HeaderContentType), ";", 2)[0]))
}

func decodeBody(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, body, reflect.TypeOf(dst))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apierr.New(http.StatusBadRequest, "malformed_json", "", "the body must hold exactly one JSON object")
	}
	return nil
}

// decodeError maps a decoding error to the documented shape. body and dst, the type decoded
// into, locate the member at fault.
func decodeError(err error, body []byte, dst reflect.Type) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return apierr.New(http.StatusBadRequest, "malformed_json", "", "the request body is empty; send a JSON object")
	case errors.As(err, &syntaxErr):
		return apierr.New(http.StatusBadRequest, "malformed_json", "", "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return apierr.New(http.StatusBadRequest, "malformed_json", "", "the body must be a JSON object, not a JSON %s", typeErr.Value)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		kind, _, _ := strings.Cut(typeErr.Value, " ")
		if path, ok := typeErrorPath(body, dst, field, kind); ok {
			field = path
		}
		return apierr.Invalid(field, "field %q must be %s", field, jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &timeErr):
		return apierr.Invalid("", "a timestamp is not RFC 3339 with an offset (for example 2026-05-12T09:00:00+01:00): %q", timeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if path, ok := unknownFieldPath(body, dst, field); ok {
			field = path
		}
		return apierr.New(http.StatusBadRequest, "unknown_field", field, "field %q is not part of this request; remove it", field)
	default:
		var apiErr *apierr.Error
		if errors.As(err, &apiErr) {
			return apiErr
		}
		return apierr.New(http.StatusBadRequest, "malformed_json", "", "the body could not be read as this request: %s", err.Error())
	}
}

// jsonType names the JSON value a Go kind accepts, with its article.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	default:
		return "a number"
	}
}

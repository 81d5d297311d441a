package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// urlAttributes are the span attributes that may hold a request's query string: the first two
// are the ones otelfiber v2 sets, the others their newer semantic-convention names.
var urlAttributes = map[attribute.Key]bool{
	"http.target": true,
	"http.url":    true,
	"url.full":    true,
	"url.query":   true,
}

// redactQueryStrings drops the query string from the URL attributes a span starts with,
// because a query may carry a client's phone number or e-mail address (a client search, for
// example). It changes the span before any exporter receives it.
type redactQueryStrings struct{}

func (redactQueryStrings) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	var redacted []attribute.KeyValue
	for _, kv := range s.Attributes() {
		if !urlAttributes[kv.Key] {
			continue
		}
		value := kv.Value.AsString()
		if kv.Key == "url.query" {
			if value != "" {
				redacted = append(redacted, kv.Key.String(""))
			}
			continue
		}
		if i := strings.IndexByte(value, '?'); i >= 0 {
			redacted = append(redacted, kv.Key.String(value[:i]))
		}
	}
	// A key set again replaces its earlier value.
	s.SetAttributes(redacted...)
}

func (redactQueryStrings) OnEnd(sdktrace.ReadOnlySpan)      {}
func (redactQueryStrings) Shutdown(context.Context) error   { return nil }
func (redactQueryStrings) ForceFlush(context.Context) error { return nil }

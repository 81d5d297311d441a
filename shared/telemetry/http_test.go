package telemetry_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/httpapi"
	"github.com/setora/rest/shared/telemetry"
)

// newTestApp builds an app the way both services do, with one route of each outcome.
func newTestApp(t *testing.T, tracing *telemetry.Tracing, reg prometheus.Registerer, logs io.Writer) *fiber.App {
	t.Helper()
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	app := httpapi.NewApp("test-svc", log, telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(reg, "test-svc"))...)
	v1 := app.Group("/v1")
	v1.Get("/bookings/:id", func(c *fiber.Ctx) error { return c.SendString("ok") })
	v1.Post("/bookings", func(c *fiber.Ctx) error {
		return apierr.New(http.StatusConflict, "slot_unavailable", "", "that slot has just been taken")
	})
	v1.Get("/panics", func(c *fiber.Ctx) error { panic("handler bug") })
	return app
}

func send(t *testing.T, app *fiber.App, method, target string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp
}

// requestCounts returns setora_http_requests_total by "method route status_class".
func requestCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "setora_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := labels(m)
			if l["service"] != "test-svc" {
				t.Errorf("service label = %q, want test-svc", l["service"])
			}
			counts[l["method"]+" "+l["route"]+" "+l["status_class"]] = m.GetCounter().GetValue()
		}
	}
	return counts
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetLabel() {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

func TestHTTPMetricsByRouteTemplate(t *testing.T) {
	reg := prometheus.NewRegistry()
	app := newTestApp(t, &telemetry.Tracing{}, reg, io.Discard)

	send(t, app, "GET", "/v1/bookings/SET-7KQ2MX?phone=%2B447700900123")
	send(t, app, "GET", "/v1/bookings/SET-AAAAAA")
	send(t, app, "POST", "/v1/bookings")
	send(t, app, "GET", "/v1/panics")
	send(t, app, "GET", "/v1/no-such-route")

	counts := requestCounts(t, reg)
	want := map[string]float64{
		"GET /v1/bookings/:id 2xx": 2,
		"POST /v1/bookings 4xx":    1,
		"GET /v1/panics 5xx":       1,
	}
	for series, n := range want {
		if counts[series] != n {
			t.Errorf("requests %q = %v, want %v (all: %v)", series, counts[series], n, counts)
		}
	}
	for series := range counts {
		if strings.Contains(series, "SET-") || strings.Contains(series, "447700900123") {
			t.Errorf("a series carries the raw path or query: %q", series)
		}
	}
	// An unrouted request is labelled with the prefix of the middleware that answered it.
	var unrouted float64
	for series, n := range counts {
		if strings.HasSuffix(series, " 4xx") && !strings.Contains(series, "/bookings") {
			unrouted += n
		}
	}
	if unrouted != 1 {
		t.Errorf("unrouted 404s counted %v times, want 1 (all: %v)", unrouted, counts)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "setora_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if got := len(m.GetHistogram().GetBucket()); got != len(telemetry.LatencyBuckets) {
				t.Errorf("histogram has %d buckets, want %d", got, len(telemetry.LatencyBuckets))
			}
		}
	}
}

func TestServerSpansContinueTraceContext(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tracing := telemetry.NewTracing(recorder)
	var logs bytes.Buffer
	app := newTestApp(t, tracing, prometheus.NewRegistry(), &logs)

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	resp := send(t, app, "GET", "/v1/bookings/SET-7KQ2MX?email=alex%40private-mail.test", "traceparent", caller)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}

	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("recorded %d spans, want 1", len(spans))
	}
	span := spans[0]
	if span.Name() != "/v1/bookings/:id" {
		t.Errorf("span name = %q, want the route template", span.Name())
	}
	if span.SpanKind() != trace.SpanKindServer {
		t.Errorf("span kind = %v, want server", span.SpanKind())
	}
	if got := span.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id = %s, want the caller's", got)
	}
	if got := span.Parent().SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("parent span id = %s, want the caller's", got)
	}
	attrs := map[string]string{}
	for _, kv := range span.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["http.route"] != "/v1/bookings/:id" {
		t.Errorf("http.route = %q", attrs["http.route"])
	}
	if attrs["http.target"] != "/v1/bookings/SET-7KQ2MX" {
		t.Errorf("http.target = %q, want the path without its query", attrs["http.target"])
	}
	for key, value := range attrs {
		if strings.Contains(value, "private-mail") {
			t.Errorf("attribute %s keeps the query string: %q", key, value)
		}
	}
	if _, ok := attrs["http.client_ip"]; ok {
		t.Error("the span records the client's address")
	}

	var line struct {
		Msg     string `json:"msg"`
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("request log line %q: %v", logs.String(), err)
	}
	if line.Msg != "request" || line.TraceID != span.SpanContext().TraceID().String() || line.SpanID != span.SpanContext().SpanID().String() {
		t.Errorf("request log line = %+v, want trace_id %s and span_id %s", line, span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
}

func TestServerSpansOffPassesThrough(t *testing.T) {
	var logs bytes.Buffer
	app := newTestApp(t, &telemetry.Tracing{}, prometheus.NewRegistry(), &logs)
	resp := send(t, app, "GET", "/v1/bookings/SET-7KQ2MX", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if strings.Contains(logs.String(), "trace_id") {
		t.Errorf("with tracing off the request line names a trace: %s", logs.String())
	}
}

// BenchmarkInstrumentation compares a request through an app without instrumentation, with
// RED metrics and tracing off (the default), and with spans batched for an exporter that drops
// them, which is the production pipeline without the network.
func BenchmarkInstrumentation(b *testing.B) {
	handler := func(c *fiber.Ctx) error { return c.SendString("ok") }
	cases := []struct {
		name       string
		instrument func() []fiber.Handler
	}{
		{"none", func() []fiber.Handler { return nil }},
		{"metrics_tracing_off", func() []fiber.Handler {
			return telemetry.Middleware(&telemetry.Tracing{}, telemetry.NewHTTPMetrics(prometheus.NewRegistry(), "bench"))
		}},
		{"metrics_tracing_on", func() []fiber.Handler {
			tracing := telemetry.NewTracing(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter()))
			return telemetry.Middleware(tracing, telemetry.NewHTTPMetrics(prometheus.NewRegistry(), "bench"))
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			app := httpapi.NewApp("bench", slog.New(slog.NewJSONHandler(io.Discard, nil)), tc.instrument()...)
			app.Get("/v1/bookings/:id", handler)
			h := app.Handler()
			ctx := newRequestCtx("/v1/bookings/SET-7KQ2MX")
			b.ReportAllocs()
			for b.Loop() {
				h(ctx)
				ctx.Response.Reset()
				ctx.ResetUserValues()
			}
		})
	}
}

package telemetry

import (
	"time"

	"github.com/gofiber/contrib/otelfiber/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the upper bounds, in seconds, of the request duration histogram. The
// availability SLO counts responses within 250 ms as good, so 0.25 must be a bound. The bounds
// below it separate responses from a warm cache from ones read from PostgreSQL, which cost
// about 1.2 and 3.5 ms of processing in BenchmarkAvailabilityHTTP (docs/benchmarks.md). The
// ones above it resolve booking writes, which wait up to a second for every availability
// replica to acknowledge their change, and requests that run into the 15-second server
// timeouts.
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// HTTPMetrics are one service's RED series: requests and their duration by method, route
// template and status class. The route is Fiber's template, such as /v1/bookings/:id, never
// the raw path, so the number of series is bounded by the routes. A request that no route
// handled (a 404, or a 401 from the key check that runs before routing) carries the prefix of
// the middleware that answered it, such as /v1.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers setora_http_requests_total and
// setora_http_request_duration_seconds, labelled service=service, on reg.
func NewHTTPMetrics(reg prometheus.Registerer, service string) *HTTPMetrics {
	labels := []string{"method", "route", "status_class"}
	constLabels := prometheus.Labels{"service": service}
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "setora_http_requests_total", ConstLabels: constLabels,
			Help: "HTTP requests answered, by method, route template and status class (2xx, 4xx, ...).",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "setora_http_request_duration_seconds", ConstLabels: constLabels, Buckets: LatencyBuckets,
			Help: "Time from receiving a request to having its answer ready, by method, route template and status class.",
		}, labels),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Middleware observes every request once its response is final. An error from later handlers is
// written through the app's error handler first, so that its status is the one counted.
func (m *HTTPMetrics) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if handlerErr := c.App().ErrorHandler(c, err); handlerErr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start).Seconds()
		method, route, class := methodLabel(c.Method()), c.Route().Path, statusClass(c.Response().StatusCode())
		m.requests.WithLabelValues(method, route, class).Inc()
		m.duration.WithLabelValues(method, route, class).Observe(elapsed)
		return nil
	}
}

// methodLabel returns a constant string for the standard methods, and OTHER for any other, so
// that a client cannot add series and no label keeps a reference to fasthttp's reused buffers.
func methodLabel(method string) string {
	switch method {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodOptions:
		return fiber.MethodOptions
	default:
		return "OTHER"
	}
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return statusClasses[status/100-1]
}

// ServerSpans returns middleware that starts a server span for every request, continuing the
// W3C trace context the caller sent, and names it by the route template once routing is done.
// The client's address is not recorded, and query strings are removed from the URL attributes
// (see redactQueryStrings). With tracing off it only calls the next handler, so requests pay
// nothing for it.
func (t *Tracing) ServerSpans() fiber.Handler {
	if !t.Enabled() {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return otelfiber.Middleware(
		otelfiber.WithTracerProvider(t.provider),
		otelfiber.WithPropagators(Propagator),
		otelfiber.WithCollectClientIP(false),
	)
}

// Middleware returns the handlers that httpapi.NewApp runs around every request: the server
// span outermost, so that the request's log line and metrics fall inside it, then the RED
// metrics.
func Middleware(tracing *Tracing, metrics *HTTPMetrics) []fiber.Handler {
	return []fiber.Handler{tracing.ServerSpans(), metrics.Middleware()}
}

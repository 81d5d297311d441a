package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A client as an integrator sends them; none of these may reach a log line or a span.
const (
	clientName  = "Morwenna Observability-Testperson"
	clientPhone = "07700 900456"
	clientE164  = "+447700900456"
	clientEmail = "morwenna.testperson@private-mail.test"
)

// callerTraceID is the trace the test's own request belongs to, sent as a W3C traceparent.
const callerTraceID = "5b8efff798038103d269b633813fc60c"

// TestObservabilityAfterBooking books a slot through the gateway with tracing sent to each
// process's output (OTEL_TRACES_EXPORTER=console), then checks each service's scrape for the
// series a booking changes, the trace from the booking request to the eviction in the
// availability replica, and every log line and span for the client's details and the key.
func TestObservabilityAfterBooking(t *testing.T) {
	s := startStack(t, "OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=100")
	s.setClock("2026-05-11T12:00:00+01:00")
	bookingBefore := scrape(t, s.bookAdminURL)
	availabilityBefore := scrape(t, s.availAdminURL)

	booking := map[string]any{
		"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": "2026-05-12T11:00:00+01:00",
		"staff_id": marcus, "client": map[string]any{"name": clientName, "phone": clientPhone, "email": clientEmail},
	}
	traceparent := "00-" + callerTraceID + "-86f3a2b1c0d9e8f7-01"
	if r := s.call("POST", "/v1/bookings", booking, "Idempotency-Key", "obs-first", "traceparent", traceparent); r.Status != http.StatusCreated {
		t.Fatalf("booking status = %d, body %s", r.Status, r.Raw)
	}
	if r := s.call("POST", "/v1/bookings", booking, "Idempotency-Key", "obs-first"); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: status %d, replayed %q", r.Status, r.Header.Get("Idempotent-Replayed"))
	}
	if r := s.call("POST", "/v1/bookings", booking, "Idempotency-Key", "obs-second"); r.Status != http.StatusConflict {
		t.Fatalf("second booking of the slot: status = %d, want 409", r.Status)
	}
	if r := s.call("GET", "/v1/clients?phone=%2B447700900456", nil); r.Status != http.StatusOK {
		t.Fatalf("client search: status = %d, body %s", r.Status, r.Raw)
	}
	got := slotsOf(t, s.call("GET", "/v1/locations/soho/availability?service_ids="+classicCut+"&date=2026-05-12&staff_id="+marcus, nil))
	if hasStart(got, "2026-05-12T11:00:00+01:00", marcus) {
		t.Fatal("the booked slot is still offered")
	}

	bookingAfter := scrape(t, s.bookAdminURL)
	availabilityAfter := scrape(t, s.availAdminURL)

	t.Run("booking-svc scrape", func(t *testing.T) {
		increased := []struct {
			name   string
			labels map[string]string
			by     float64
		}{
			{"setora_bookings_total", map[string]string{"outcome": "created"}, 1},
			{"setora_bookings_total", map[string]string{"outcome": "idempotent_replay"}, 1},
			{"setora_bookings_total", map[string]string{"outcome": "conflict"}, 1},
			{"setora_http_requests_total", map[string]string{"service": "booking-svc", "method": "POST", "route": "/v1/bookings", "status_class": "2xx"}, 1},
			{"setora_http_requests_total", map[string]string{"service": "booking-svc", "method": "POST", "route": "/v1/bookings", "status_class": "4xx"}, 1},
			{"setora_http_request_duration_seconds", map[string]string{"service": "booking-svc", "route": "/v1/bookings", "status_class": "2xx"}, 1},
			{"setora_http_requests_total", map[string]string{"service": "booking-svc", "method": "GET", "route": "/v1/clients", "status_class": "2xx"}, 1},
			{"setora_booking_notifications_sent_total", nil, 1},
		}
		for _, c := range increased {
			if d := sampleValue(bookingAfter, c.name, c.labels) - sampleValue(bookingBefore, c.name, c.labels); d != c.by {
				t.Errorf("%s%v rose by %v, want %v", c.name, c.labels, d, c.by)
			}
		}
		unchanged := []map[string]string{{"outcome": "held"}, {"outcome": "rule_broken"}, {"outcome": "key_reused"}}
		for _, labels := range unchanged {
			if d := sampleValue(bookingAfter, "setora_bookings_total", labels) - sampleValue(bookingBefore, "setora_bookings_total", labels); d != 0 {
				t.Errorf("setora_bookings_total%v rose by %v, want 0", labels, d)
			}
		}
		assertCommonSeries(t, bookingAfter, "booking-svc")
		for series := range bookingAfter {
			if strings.Contains(series, "SET-") {
				t.Errorf("a series carries a booking reference: %s", series)
			}
		}
	})

	t.Run("availability-svc scrape", func(t *testing.T) {
		increased := []struct {
			name   string
			labels map[string]string
		}{
			{"setora_availability_notifications_total", nil},
			{"setora_availability_invalidation_lag_seconds", nil},
			{"setora_availability_cache_invalidations_total", nil},
			{"setora_http_requests_total", map[string]string{"service": "availability-svc", "method": "GET", "route": "/v1/locations/:slug/availability", "status_class": "2xx"}},
		}
		for _, c := range increased {
			if d := sampleValue(availabilityAfter, c.name, c.labels) - sampleValue(availabilityBefore, c.name, c.labels); d < 1 {
				t.Errorf("%s%v rose by %v, want at least 1", c.name, c.labels, d)
			}
		}
		if v := sampleValue(availabilityAfter, "setora_availability_listen_connected", nil); v != 1 {
			t.Errorf("setora_availability_listen_connected = %v, want 1", v)
		}
		for _, name := range []string{"setora_availability_cache_entries", "setora_availability_cache_cost_bytes",
			"setora_availability_cache_max_cost_bytes", "setora_availability_cache_evictions_total"} {
			if !hasSeries(availabilityAfter, name) {
				t.Errorf("the scrape has no %s", name)
			}
		}
		assertCommonSeries(t, availabilityAfter, "availability-svc")
	})

	t.Run("trace from booking to eviction", func(t *testing.T) {
		request := waitForSpan(t, s.logFiles["booking-svc"], func(sp spanLine) bool {
			return sp.Name == "/v1/bookings" && sp.SpanContext.TraceID == callerTraceID
		})
		if request.Parent.SpanID != "86f3a2b1c0d9e8f7" {
			t.Errorf("booking span's parent = %s, want the caller's span", request.Parent.SpanID)
		}
		insert := waitForSpan(t, s.logFiles["booking-svc"], func(sp spanLine) bool {
			return sp.SpanContext.TraceID == callerTraceID && strings.HasPrefix(sp.attribute("db.query.text"), "INSERT INTO bookings")
		})
		if insert.Name != "INSERT" {
			t.Errorf("insert span name = %q, want INSERT", insert.Name)
		}
		waitForSpan(t, s.logFiles["availability-svc"], func(sp spanLine) bool {
			if sp.Name != "process setora_changes" {
				return false
			}
			for _, link := range sp.Links {
				if link.SpanContext.TraceID == callerTraceID && link.SpanContext.SpanID == request.SpanContext.SpanID {
					return true
				}
			}
			return false
		})
	})

	t.Run("no personal data or key in logs and spans", func(t *testing.T) {
		// The spans of the last requests reach the output within the batch delay of 100ms.
		waitForSpan(t, s.logFiles["availability-svc"], func(sp spanLine) bool {
			return sp.Name == "/v1/locations/:slug/availability"
		})
		waitForSpan(t, s.logFiles["booking-svc"], func(sp spanLine) bool { return sp.Name == "/v1/clients" })
		secrets := map[string]string{
			"client name": clientName, "client phone": clientPhone, "client phone (E.164)": clientE164,
			"client phone (digits)": "7700900456", "client e-mail": clientEmail, "API key": s.key,
		}
		for process, path := range s.logFiles {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for label, secret := range secrets {
				if i := strings.Index(string(data), secret); i >= 0 {
					t.Errorf("%s output contains the %s: ...%s...", process, label, excerpt(string(data), i))
				}
			}
		}
	})
}

// scrape reads a Prometheus text endpoint and returns every sample by its series name with
// sorted labels, such as `setora_bookings_total{outcome="created"}`. A histogram contributes
// its _count.
func scrape(t *testing.T, adminURL string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", adminURL, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape of %s: %v", adminURL, err)
	}
	samples := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			samples[seriesName(name, m)] = metricValue(m)
		}
	}
	return samples
}

func seriesName(name string, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("{")
	for i, l := range m.GetLabel() {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(l.GetName() + "=" + `"` + l.GetValue() + `"`)
	}
	b.WriteString("}")
	return b.String()
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	default:
		return m.GetUntyped().GetValue()
	}
}

// sampleValue sums the samples of name whose labels include every one of labels; a missing
// series is zero.
func sampleValue(samples map[string]float64, name string, labels map[string]string) float64 {
	total := 0.0
	for series, v := range samples {
		if !strings.HasPrefix(series, name+"{") {
			continue
		}
		matched := true
		for k, want := range labels {
			matched = matched && strings.Contains(series, k+`="`+want+`"`)
		}
		if matched {
			total += v
		}
	}
	return total
}

func hasSeries(samples map[string]float64, name string) bool {
	for series := range samples {
		if strings.HasPrefix(series, name+"{") {
			return true
		}
	}
	return false
}

// assertCommonSeries checks the series both services export: build information and the
// database pool.
func assertCommonSeries(t *testing.T, samples map[string]float64, service string) {
	t.Helper()
	if v := sampleValue(samples, "setora_build_info", map[string]string{"service": service}); v != 1 {
		t.Errorf("setora_build_info{service=%q} = %v, want 1", service, v)
	}
	if v := sampleValue(samples, "setora_db_pool_max_connections", map[string]string{"pool": "main"}); v < 1 {
		t.Errorf("setora_db_pool_max_connections = %v, want at least 1", v)
	}
	if v := sampleValue(samples, "setora_db_pool_acquires_total", nil); v < 1 {
		t.Errorf("setora_db_pool_acquires_total = %v, want at least 1", v)
	}
}

// spanLine is the part of a span that the console exporter writes as one JSON line.
type spanLine struct {
	Name        string
	SpanContext spanIDs
	Parent      spanIDs
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
	Links []struct{ SpanContext spanIDs }
}

type spanIDs struct {
	TraceID string
	SpanID  string
}

func (sp spanLine) attribute(key string) string {
	for _, a := range sp.Attributes {
		if a.Key == key {
			v, _ := a.Value.Value.(string)
			return v
		}
	}
	return ""
}

// waitForSpan reads a process's output until a span matches, for at most ten seconds.
func waitForSpan(t *testing.T, path string, match func(spanLine) bool) spanLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if sp, ok := findSpanLine(t, path, match); ok {
			return sp
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no matching span in %s within 10s", path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func findSpanLine(t *testing.T, path string, match func(spanLine) bool) (spanLine, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for lines.Scan() {
		line := lines.Bytes()
		if !strings.Contains(string(line), `"SpanContext"`) {
			continue
		}
		var sp spanLine
		if json.Unmarshal(line, &sp) == nil && match(sp) {
			return sp, true
		}
	}
	return spanLine{}, false
}

func excerpt(s string, i int) string {
	return s[max(i-80, 0):min(i+80, len(s))]
}

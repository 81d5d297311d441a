// Package telemetry holds what both services report to the people who run them: OpenTelemetry
// traces exported over OTLP, Prometheus RED metrics for Fiber, build information, pgxpool
// statistics, and log lines that name the trace and span they were written in.
package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/setora/rest/shared/config"
)

// Propagator reads and writes W3C trace context (traceparent, tracestate) and W3C baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Tracing is the process's trace pipeline. Without an exporter it records nothing and the
// global tracer provider stays OpenTelemetry's no-op one.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil when spans are not exported
	exporter string
}

// SetupTracing installs Propagator as the global propagator and, when the environment asks for
// spans, an SDK tracer provider as the global one. Spans are exported when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or when
// OTEL_TRACES_EXPORTER names an exporter other than "none"; OTEL_SDK_DISABLED=true turns them
// off. The other standard variables apply as the OpenTelemetry Go SDK and its autoexport
// package read them: OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default, or grpc), headers,
// timeouts, the batch processor's limits, and OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// which take precedence over service and version. OTEL_TRACES_SAMPLER and its argument are
// read by SamplerFromEnv.
func SetupTracing(ctx context.Context, service, version string) (*Tracing, error) {
	otel.SetTextMapPropagator(Propagator)
	if !exportRequested() {
		return &Tracing{}, nil
	}
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("create the span exporter from OTEL_* variables: %w", err)
	}
	if autoexport.IsNoneSpanExporter(exporter) {
		return &Tracing{}, nil
	}
	// Attributes listed later win, so the OTEL_* variables override the built-in name.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("describe the service for traces: %w", err)
	}
	sampler, err := SamplerFromEnv()
	if err != nil {
		return nil, err
	}
	t := NewTracing(sdktrace.NewBatchSpanProcessor(exporter), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	t.exporter = fmt.Sprintf("%T", exporter)
	return t, nil
}

// NewTracing installs, as the global tracer provider, an SDK provider that hands every span to
// processor, and installs Propagator. Tests pass an in-memory recorder such as
// tracetest.NewSpanRecorder.
func NewTracing(processor sdktrace.SpanProcessor, opts ...sdktrace.TracerProviderOption) *Tracing {
	opts = append([]sdktrace.TracerProviderOption{
		sdktrace.WithSpanProcessor(redactQueryStrings{}),
		sdktrace.WithSpanProcessor(processor),
	}, opts...)
	provider := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(Propagator)
	return &Tracing{provider: provider, exporter: fmt.Sprintf("%T", processor)}
}

// exportRequested reports whether the OTEL_* variables ask for spans to be exported.
func exportRequested() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		return true
	}
	exporter := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))
	return exporter != "" && exporter != "none"
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// LogAttrs describes the trace pipeline for the service's start log line. It names the
// exporter and the endpoint without its credentials, and never the OTLP headers, which may
// carry tokens.
func (t *Tracing) LogAttrs() []any {
	if !t.Enabled() {
		return []any{"tracing", "off"}
	}
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	return []any{"tracing", t.exporter, "otlp_endpoint", config.MaskURL(endpoint), "otlp_protocol", protocol}
}

// Shutdown exports the spans still queued and stops the provider. It does nothing when spans
// are not exported.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

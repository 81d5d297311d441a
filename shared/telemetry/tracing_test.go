package telemetry_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/setora/rest/shared/telemetry"
)

// clearOTelEnv unsets the variables that SetupTracing reads, for the duration of t.
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
		t.Setenv(name, "")
	}
}

func TestSetupTracingFromEnvironment(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		enabled bool
	}{
		{"no variables", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{"traces endpoint over grpc", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true},
		{"console exporter", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tracing, err := telemetry.SetupTracing(context.Background(), "test-svc", "v0.0.0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
			if tracing.Enabled() != tc.enabled {
				t.Errorf("Enabled() = %v, want %v", tracing.Enabled(), tc.enabled)
			}
			if !slices.Contains(otel.GetTextMapPropagator().Fields(), "traceparent") {
				t.Errorf("global propagator fields = %v, want traceparent among them", otel.GetTextMapPropagator().Fields())
			}
		})
	}
}

func TestSetupTracingRejectsUnknownProtocol(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	if _, err := telemetry.SetupTracing(context.Background(), "test-svc", "v0.0.0"); err == nil {
		t.Fatal("an unknown OTLP protocol was accepted")
	}
}

func TestLogAttrsHideCredentials(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:s3cret@otel.internal:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer t0ken")
	tracing, err := telemetry.SetupTracing(context.Background(), "test-svc", "v0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	var described strings.Builder
	for _, a := range tracing.LogAttrs() {
		described.WriteString(" ")
		described.WriteString(a.(string))
	}
	if !strings.Contains(described.String(), "otel.internal:4318") {
		t.Errorf("log attributes %q do not name the endpoint", described.String())
	}
	for _, secret := range []string{"s3cret", "t0ken"} {
		if strings.Contains(described.String(), secret) {
			t.Errorf("log attributes %q contain %q", described.String(), secret)
		}
	}
}

func TestSamplerFollowsLinks(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0")
	sampler, err := telemetry.SamplerFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	recorder := tracetest.NewSpanRecorder()
	tracing := telemetry.NewTracing(recorder, sdktrace.WithSampler(sampler))
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	tracer := otel.GetTracerProvider().Tracer("test")

	linkTo := func(flags trace.TraceFlags) trace.Link {
		return trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: flags, Remote: true,
		})}
	}
	cases := []struct {
		name    string
		opts    []trace.SpanStartOption
		sampled bool
	}{
		{"root without links, ratio 0", nil, false},
		{"root linked to a sampled span", []trace.SpanStartOption{trace.WithLinks(linkTo(trace.FlagsSampled))}, true},
		{"root linked to an unsampled span", []trace.SpanStartOption{trace.WithLinks(linkTo(0))}, false},
	}
	for _, tc := range cases {
		_, span := tracer.Start(context.Background(), tc.name, tc.opts...)
		if span.SpanContext().IsSampled() != tc.sampled {
			t.Errorf("%s: sampled = %v, want %v", tc.name, span.SpanContext().IsSampled(), tc.sampled)
		}
		span.End()
	}
}

func TestSamplerFromEnvRejectsBadValues(t *testing.T) {
	for _, env := range [][2]string{{"parentbased_traceidratio", "1.5"}, {"traceidratio", "a tenth"}, {"jaeger_remote", ""}} {
		clearOTelEnv(t)
		t.Setenv("OTEL_TRACES_SAMPLER", env[0])
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", env[1])
		if _, err := telemetry.SamplerFromEnv(); err == nil {
			t.Errorf("OTEL_TRACES_SAMPLER=%s OTEL_TRACES_SAMPLER_ARG=%q was accepted", env[0], env[1])
		}
	}
}

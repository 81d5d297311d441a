package telemetry_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/setora/rest/shared/telemetry"
)

// clearOTelEnv unsets the variables that SetupTracing reads, for the duration of t.
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
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

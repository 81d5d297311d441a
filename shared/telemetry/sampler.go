package telemetry

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// SamplerFromEnv returns the sampler that OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name,
// with the values the OpenTelemetry specification defines (always_on, always_off,
// traceidratio, and their parentbased_ forms; parentbased_always_on when unset), wrapped so
// that a root span linked to another span follows that span's decision (see followLinks). An
// unknown name or a ratio outside [0, 1] is an error.
func SamplerFromEnv() (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER")))
	arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := 1.0
	if arg != "" && strings.HasSuffix(name, "traceidratio") {
		var err error
		ratio, err = strconv.ParseFloat(arg, 64)
		if err != nil || ratio < 0 || ratio > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q is not a ratio between 0 and 1, such as 0.1", arg)
		}
	}

	var sampler sdktrace.Sampler
	switch name {
	case "always_on":
		sampler = sdktrace.AlwaysSample()
	case "always_off":
		sampler = sdktrace.NeverSample()
	case "traceidratio":
		sampler = sdktrace.TraceIDRatioBased(ratio)
	case "", "parentbased_always_on":
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "parentbased_always_off":
		sampler = sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	default:
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q is not supported; use always_on, always_off, traceidratio "+
			"or their parentbased_ forms", name)
	}
	return followLinks{next: sampler}, nil
}

// followLinks samples a root span that links to a valid span context exactly when that span
// was sampled, and leaves every other span to next. An availability replica's eviction span is
// such a root, linked to the booking that caused it, so with ratio sampling a sampled booking
// keeps its evictions and an unsampled one costs none.
type followLinks struct {
	next sdktrace.Sampler
}

func (s followLinks) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if !trace.SpanContextFromContext(p.ParentContext).IsValid() {
		for _, link := range p.Links {
			if !link.SpanContext.IsValid() {
				continue
			}
			decision := sdktrace.Drop
			if link.SpanContext.IsSampled() {
				decision = sdktrace.RecordAndSample
			}
			return sdktrace.SamplingResult{Decision: decision}
		}
	}
	return s.next.ShouldSample(p)
}

func (s followLinks) Description() string {
	return "FollowLinks{" + s.next.Description() + "}"
}

package main

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/slots"
)

// tracerName names this service's own spans; the HTTP and database spans come from their
// instrumentation libraries.
const tracerName = "github.com/setora/rest/availability-svc"

// changeHandler applies change notifications to this replica's caches.
type changeHandler struct {
	days      *cache.Cache
	catalogue *cache.Catalogue
	auth      *auth.Authenticator
	metrics   *serviceMetrics
	log       *slog.Logger
}

func (h *changeHandler) Connected(up bool) {
	if up {
		h.catalogue.Purge()
		h.auth.InvalidateAll()
	}
	h.days.SetListening(up)
	if reconnect := h.metrics.setListening(up); reconnect {
		h.log.Info("LISTEN connection restored; purged every cache because changes may have been missed meanwhile")
	}
}

// Changed applies one notification inside a span of its own. The span is linked to the span of
// the write that sent the notification, not a child of it, because one write reaches every
// replica: each eviction is its own trace, and the link leads from it to the booking.
func (h *changeHandler) Changed(change notify.Change) {
	span := startEvictionSpan(change)
	defer span.End()

	h.metrics.notifications.Inc()
	switch change.Kind {
	case notify.KindSchedule:
		h.evictLocations(change)
	case notify.KindCatalogue:
		h.catalogue.InvalidateOrganisation(change.OrganisationID)
		h.evictLocations(change)
	case notify.KindOrganisation:
		h.auth.InvalidateOrganisation(change.OrganisationID)
		h.catalogue.InvalidateOrganisation(change.OrganisationID)
	default:
		h.log.Warn("unknown change kind; purging the cache", "kind", change.Kind)
		h.days.Purge()
		h.catalogue.Purge()
	}
	if !change.CommittedAt.IsZero() {
		lag := time.Since(change.CommittedAt)
		h.metrics.invalidationLag.Observe(lag.Seconds())
		span.SetAttributes(attribute.Float64("setora.invalidation_lag_ms", float64(lag.Microseconds())/1000))
	}
}

// startEvictionSpan starts the consumer span of one notification, named as the messaging
// conventions name a process operation, with a link to the writer's span when the
// notification carries a valid traceparent.
func startEvictionSpan(change notify.Change) trace.Span {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("postgresql"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(notify.Channel),
			attribute.String("setora.change.kind", change.Kind),
			attribute.String("setora.organisation_id", change.OrganisationID.String()),
			attribute.Int("setora.change.locations", len(change.LocationIDs)),
			attribute.Int("setora.change.dates", len(change.Dates)),
			attribute.Bool("setora.change.all_dates", change.AllDates),
		),
	}
	if change.ID != "" {
		opts = append(opts, trace.WithAttributes(semconv.MessagingMessageID(change.ID)))
	}
	writer := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		propagation.MapCarrier{"traceparent": change.TraceParent}))
	if writer.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: writer}))
	}
	_, span := otel.Tracer(tracerName).Start(context.Background(), "process "+notify.Channel, opts...)
	return span
}

func (h *changeHandler) evictLocations(change notify.Change) {
	dates := make([]slots.Date, 0, len(change.Dates))
	for _, s := range change.Dates {
		d, err := slots.ParseDate(s)
		if err != nil {
			change.AllDates = true
			break
		}
		dates = append(dates, d)
	}
	for _, loc := range change.LocationIDs {
		if change.AllDates {
			h.days.EvictLocation(loc)
		} else {
			h.days.EvictDates(loc, dates)
		}
	}
}

package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/telemetry"
)

// A client's details as they might reach a query as bound values.
const (
	clientPhone = "+447700900123"
	clientEmail = "alex.example@example.com"
)

// TestTracerRecordsNoValues runs queries with bound values through a pool from Connect and
// checks that the spans hold each statement's text but none of the values, not even when the
// value makes the statement fail.
func TestTracerRecordsNoValues(t *testing.T) {
	url := dbtest.New(t)
	recorder := tracetest.NewSpanRecorder()
	tracing := telemetry.NewTracing(recorder)
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })

	ctx := context.Background()
	pool, err := db.Connect(ctx, url, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	ctx, request := otel.Tracer("test").Start(ctx, "request")
	var phone string
	if err := pool.QueryRow(ctx, "SELECT $1::text", clientPhone).Scan(&phone); err != nil {
		t.Fatalf("query: %v", err)
	}
	batch := &pgx.Batch{}
	batch.Queue("SELECT length($1::text)", clientEmail)
	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatalf("batch: %v", err)
	}
	// PostgreSQL quotes the input that fails to parse; the caller still sees it.
	if _, err := pool.Exec(ctx, "SELECT $1::uuid", clientEmail); err == nil || !strings.Contains(err.Error(), clientEmail) {
		t.Fatalf("a malformed uuid should fail with the input in the caller's error, got %v", err)
	}
	// pgx quotes an argument that it cannot encode for the parameter's type.
	if _, err := pool.Exec(ctx, "SELECT $1::int", struct{ Phone string }{clientPhone}); err == nil || !strings.Contains(err.Error(), clientPhone) {
		t.Fatalf("a struct argument for an int should fail to encode with the value in the caller's error, got %v", err)
	}
	request.End()

	spans := recorder.Ended()
	// pgx prepares each statement first, so the query span has a prepare span as its child.
	query := findSpan(t, spans, "SELECT $1::text", request.SpanContext().SpanID())
	if query.Name() != "SELECT" {
		t.Errorf("query span name = %q, want SELECT", query.Name())
	}
	if len(spansWithText(spans, "SELECT length($1::text)")) == 0 {
		t.Error("no span records the batched statement")
	}
	failed := findSpan(t, spans, "SELECT $1::uuid", request.SpanContext().SpanID())
	if failed.Status().Code != codes.Error {
		t.Errorf("the failed statement's span status = %v, want Error", failed.Status())
	}

	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if kv.Key == "pgx.query.parameters" {
				t.Errorf("span %q records the bound values in %s", s.Name(), kv.Key)
			}
			assertNoValue(t, s.Name(), string(kv.Key), kv.Value.Emit())
		}
		assertNoValue(t, s.Name(), "status", s.Status().Description)
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				assertNoValue(t, s.Name(), e.Name+"."+string(kv.Key), kv.Value.Emit())
			}
		}
	}
}

// findSpan returns the span whose db.query.text is statement and whose parent is parent.
func findSpan(t *testing.T, spans []sdktrace.ReadOnlySpan, statement string, parent trace.SpanID) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spansWithText(spans, statement) {
		if s.Parent().SpanID() == parent {
			return s
		}
	}
	t.Fatalf("no span with parent %s has db.query.text %q among %d spans", parent, statement, len(spans))
	return nil
}

func spansWithText(spans []sdktrace.ReadOnlySpan, statement string) []sdktrace.ReadOnlySpan {
	var found []sdktrace.ReadOnlySpan
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if kv.Key == attribute.Key("db.query.text") && kv.Value.AsString() == statement {
				found = append(found, s)
			}
		}
	}
	return found
}

func assertNoValue(t *testing.T, span, field, value string) {
	t.Helper()
	for _, secret := range []string{clientPhone, clientEmail} {
		if strings.Contains(value, secret) {
			t.Errorf("span %q field %s contains a bound value: %q", span, field, value)
		}
	}
}

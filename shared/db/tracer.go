package db

import (
	"context"
	"errors"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// tracer is otelpgx's tracer configured to record each statement's SQL text in db.query.text,
// which holds placeholders such as $1, and never the bound values, because those carry
// clients' names, phone numbers and e-mail addresses. otelpgx v0.13 records values only with
// WithIncludeQueryParameters, which is deliberately absent. Span names are the statement's
// operation, such as SELECT, without a prefix, which is otelpgx's default.
//
// An error can quote a bound value too (PostgreSQL's "invalid input syntax for type uuid:
// "..."", or pgx's "failed to encode args[0]: unable to encode ..."), and otelpgx writes the
// error into the span, so tracer hands otelpgx a copy of each error without those parts. The
// caller still gets the original error.
type tracer struct {
	*otelpgx.Tracer
}

func newTracer() tracer {
	return tracer{Tracer: otelpgx.NewTracer()}
}

func (t tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	data.Err = withoutValues(data.Err)
	t.Tracer.TraceQueryEnd(ctx, conn, data)
}

func (t tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	data.Err = withoutValues(data.Err)
	t.Tracer.TraceBatchQuery(ctx, conn, data)
}

func (t tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	data.Err = withoutValues(data.Err)
	t.Tracer.TraceBatchEnd(ctx, conn, data)
}

func (t tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	data.Err = withoutValues(data.Err)
	t.Tracer.TraceCopyFromEnd(ctx, conn, data)
}

// errArgumentEncoding stands in for pgx's errors about encoding an argument, whose text
// includes the argument.
var errArgumentEncoding = errors.New("failed to encode a query argument (value not recorded)")

// withoutValues returns err without the text that may quote a bound value. A PostgreSQL error
// keeps its severity, SQLSTATE code and constraint, and its message up to the first colon,
// which is where PostgreSQL appends the offending input. It returns nil for nil.
func withoutValues(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		message, _, _ := strings.Cut(pgErr.Message, ":")
		return &pgconn.PgError{
			Severity: pgErr.Severity, Code: pgErr.Code, Message: message,
			ConstraintName: pgErr.ConstraintName, TableName: pgErr.TableName, SchemaName: pgErr.SchemaName,
		}
	}
	if strings.Contains(err.Error(), "failed to encode args") {
		return errArgumentEncoding
	}
	return err
}

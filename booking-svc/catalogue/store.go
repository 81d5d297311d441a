// Package catalogue holds the shop's setup that booking-svc serves and changes: locations with
// their opening hours and closures, services, staff with the services they perform and their
// hours at each location, special hours, time off, and the test clock of a test-mode
// organisation.
//
// Every write runs in one PostgreSQL transaction that changes the rows and queues a change
// notification naming what the availability caches must drop. Like the booking store, the
// store answers only after the availability replicas have acknowledged the notification, so a
// caller's next availability request sees the change. Writes that leave existing bookings
// outside the new hours are committed all the same and report those bookings.
package catalogue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/notify"
)

// Store reads and writes the catalogue of one organisation at a time.
type Store struct {
	pool *pgxpool.Pool
	echo *notify.Echo
}

// NewStore returns a store on pool. With a running echo each write returns only after the
// availability replicas have applied its notifications. echo may be nil.
func NewStore(pool *pgxpool.Pool, echo *notify.Echo) *Store { return &Store{pool: pool, echo: echo} }

// echoTimeout bounds the wait for the replicas' acknowledgements; it matches the booking store.
const echoTimeout = time.Second

// writeTx is a write transaction that remembers the notifications it queued. It mirrors the
// booking store's transaction helper, which that package keeps private.
type writeTx struct {
	pgx.Tx
	echo    *notify.Echo
	notices []string
}

// notify queues a change notification, which PostgreSQL delivers only if the transaction
// commits.
func (w *writeTx) notify(ctx context.Context, change notify.Change) error {
	change.ID = uuid.NewString()
	if w.echo != nil {
		w.echo.Expect(change.ID)
	}
	w.notices = append(w.notices, change.ID)
	_, err := notify.Send(ctx, w.Tx, change)
	return err
}

// inTx runs fn in a transaction and commits it. A failed commit is returned, never lost. After
// the commit it waits for the notifications to be acknowledged.
func (s *Store) inTx(ctx context.Context, fn func(tx *writeTx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	w := &writeTx{Tx: tx, echo: s.echo}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	err = fn(w)
	if err == nil {
		if err = tx.Commit(ctx); err != nil {
			err = fmt.Errorf("commit transaction: %w", err)
		}
	}
	if s.echo == nil {
		return err
	}
	if err != nil {
		s.echo.Forget(w.notices)
		return err
	}
	s.echo.Wait(w.notices, echoTimeout)
	return nil
}

// Errors the store returns; the API maps each to its documented code.
var (
	ErrLocationNotFound = errors.New("location not found")
	ErrServiceNotFound  = errors.New("service not found")
	ErrStaffNotFound    = errors.New("staff member not found")
	ErrTimeOffNotFound  = errors.New("time off not found")
	ErrClosureNotFound  = errors.New("closure not found")
	ErrSpecialNotFound  = errors.New("special hours not found")
	ErrSlugTaken        = errors.New("location slug already in use")
	ErrNotTestMode      = errors.New("organisation is not in test mode")
)

// MissingServiceError names the first service of a requested list that the organisation does
// not have, with its index in that list. errors.Is matches it to ErrServiceNotFound.
type MissingServiceError struct {
	Index int
	ID    uuid.UUID
}

func (e *MissingServiceError) Error() string {
	return fmt.Sprintf("service %s (index %d) not found", e.ID, e.Index)
}

// Is reports whether target is ErrServiceNotFound.
func (e *MissingServiceError) Is(target error) bool { return target == ErrServiceNotFound }

// notifyCatalogue marks the organisation's catalogue entries stale and, for each location
// listed, every cached date.
func notifyCatalogue(ctx context.Context, tx *writeTx, orgID uuid.UUID, locations ...uuid.UUID) error {
	return tx.notify(ctx, notify.Change{Kind: notify.KindCatalogue, OrganisationID: orgID,
		LocationIDs: locations, AllDates: len(locations) > 0})
}

// notifyDates evicts the listed local dates of the locations, or all of them when dates is nil.
func notifyDates(ctx context.Context, tx *writeTx, orgID uuid.UUID, locations []uuid.UUID, dates []string) error {
	if len(locations) == 0 {
		return nil
	}
	change := notify.Change{Kind: notify.KindSchedule, OrganisationID: orgID, LocationIDs: locations}
	if dates == nil {
		change.AllDates = true
	} else {
		change.SetDates(dates)
	}
	return tx.notify(ctx, change)
}

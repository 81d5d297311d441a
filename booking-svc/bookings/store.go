package bookings

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// PostgreSQL error codes the store turns into domain errors.
const (
	exclusionViolation = "23P01"
	uniqueViolation    = "23505"
)

// Store runs the booking lifecycle against PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	echo *notify.Echo
	// beforeCommit, when set by a test, runs just before each commit; an error aborts the write.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
}

// NewStore returns a store on pool. With a running echo, each write answers only after its
// change notifications have been delivered; echo may be nil.
func NewStore(pool *pgxpool.Pool, echo *notify.Echo) *Store { return &Store{pool: pool, echo: echo} }

// echoTimeout bounds the wait for the availability replicas to acknowledge a write.
const echoTimeout = time.Second

// writeTx is a write transaction that remembers the notifications it queued.
type writeTx struct {
	pgx.Tx
	echo    *notify.Echo
	notices []string
}

// notify queues a change notification, delivered at commit.
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
// a commit it waits for the transaction's notifications to be delivered.
func (s *Store) inTx(ctx context.Context, fn func(tx *writeTx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	w := &writeTx{Tx: tx, echo: s.echo}
	// Rollback after a commit is a no-op; with a cancelled context it still releases the
	// connection because pgx closes it.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if err := s.run(ctx, w, fn); err != nil {
		if s.echo != nil {
			s.echo.Forget(w.notices)
		}
		return err
	}
	if s.echo != nil {
		s.echo.Wait(w.notices, echoTimeout)
	}
	return nil
}

func (s *Store) run(ctx context.Context, w *writeTx, fn func(tx *writeTx) error) error {
	if err := fn(w); err != nil {
		return err
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(ctx, w.Tx); err != nil {
			return err
		}
	}
	if err := w.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// anyStaffAttempts bounds the retries of an "any staff" booking whose chosen staff member was
// taken by a concurrent transaction between the engine's check and the insert.
const anyStaffAttempts = 3

// Create books a slot, or holds it when in.Hold is set. now is the organisation's present.
func (s *Store) Create(ctx context.Context, orgID uuid.UUID, now time.Time, in CreateInput) (*Booking, error) {
	var booking *Booking
	var err error
	for attempt := 1; attempt <= anyStaffAttempts; attempt++ {
		booking, err = s.create(ctx, orgID, now, in)
		var taken *SlotTakenError
		if !errors.As(err, &taken) || in.StaffID != uuid.Nil || attempt == anyStaffAttempts {
			break
		}
	}
	var taken *SlotTakenError
	if errors.As(err, &taken) {
		taken.Alternatives, taken.TimeZone = s.alternatives(ctx, orgID, now, in)
	}
	return booking, err
}

func (s *Store) create(ctx context.Context, orgID uuid.UUID, now time.Time, in CreateInput) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		loc, err := schedule.LocationBySlug(ctx, tx, orgID, in.LocationSlug)
		if errors.Is(err, schedule.ErrNotFound) {
			return ErrLocationNotFound
		}
		if err != nil {
			return fmt.Errorf("read location: %w", err)
		}
		services, err := readServices(ctx, tx, orgID, in.ServiceIDs)
		if err != nil {
			return err
		}
		if in.StaffID != uuid.Nil {
			if err := checkStaff(ctx, tx, orgID, in.StaffID); err != nil {
				return err
			}
		}
		clientID, err := resolveClient(ctx, tx, orgID, in.Client)
		if err != nil {
			return err
		}
		if _, err := expireHolds(ctx, tx, orgID, now); err != nil {
			return err
		}

		slot, err := checkSlot(ctx, tx, loc, engineServices(services), in.StaffID, now, in.StartsAt, nil)
		if err != nil {
			return err
		}

		b := &Booking{
			OrganisationID: orgID, LocationID: loc.ID, LocationSlug: loc.Slug, TimeZone: loc.TimeZone,
			StaffID: slot.StaffID, ClientID: clientID, Status: StatusConfirmed,
			StartsAt: slot.Start, EndsAt: slot.End, Notes: in.Notes, Source: in.Source,
			Services: bookedServices(services), Version: 1,
		}
		if in.Hold {
			b.Status = StatusHeld
			expires := now.Add(in.HoldTTL)
			b.HoldExpiresAt = &expires
		} else {
			b.ConfirmedAt = &now
		}
		if err := insertBooking(ctx, tx, b, blockedInterval(slot, services)); err != nil {
			return err
		}

		event := "booking.created"
		if err := writeEvent(ctx, tx, b, event); err != nil {
			return err
		}
		if err := notifySchedule(ctx, tx, b, blockedInterval(slot, services)); err != nil {
			return err
		}
		booking = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return booking, nil
}

func readServices(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, ids []uuid.UUID) ([]schedule.Service, error) {
	services, err := schedule.Services(ctx, tx, orgID, ids)
	var missing *schedule.MissingServiceError
	if errors.As(err, &missing) {
		return nil, &ServiceNotFoundError{ID: missing.ID}
	}
	if err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	return services, nil
}

func checkStaff(ctx context.Context, tx pgx.Tx, orgID, staffID uuid.UUID) error {
	var exists bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff WHERE organisation_id = $1 AND id = $2 AND active)`,
		orgID, staffID).Scan(&exists)
	if err != nil {
		return fmt.Errorf("read staff member: %w", err)
	}
	if !exists {
		return ErrStaffNotFound
	}
	return nil
}

// checkSlot re-runs the slot engine on the rows this transaction sees, with except not counting
// as busy when it is not nil. The dates read start a day early because a working window that
// crosses midnight belongs to the day it starts on.
func checkSlot(ctx context.Context, tx pgx.Tx, loc *schedule.Location, services []slots.Service,
	staffID uuid.UUID, now, start time.Time, except *ownBlock) (slots.Slot, error) {
	day := slots.DateOf(start, loc.Zone)
	days, err := schedule.LoadDays(ctx, tx, loc, []slots.Date{day.AddDays(-1), day})
	if err != nil {
		return slots.Slot{}, fmt.Errorf("read schedule: %w", err)
	}
	except.removeFrom(days)
	slot, err := slots.Check(days, slots.Query{Services: services, StaffID: staffID, Now: now}, start)
	if errors.Is(err, slots.ErrSlotTaken) {
		return slots.Slot{}, &SlotTakenError{}
	}
	if err != nil {
		return slots.Slot{}, &RuleError{Rule: err}
	}
	return slot, nil
}

func engineServices(services []schedule.Service) []slots.Service {
	out := make([]slots.Service, len(services))
	for i := range services {
		out[i] = services[i].Engine()
	}
	return out
}

func bookedServices(services []schedule.Service) []BookedService {
	out := make([]BookedService, len(services))
	for i, s := range services {
		out[i] = BookedService{
			ServiceID: s.ID, Name: s.Name, DurationMinutes: s.DurationMinutes,
			BufferBeforeMinutes: s.BufferBeforeMinutes, BufferAfterMinutes: s.BufferAfterMinutes,
			PriceMinor: s.PriceMinor, DepositMinor: s.DepositMinor, Currency: s.Currency,
		}
	}
	return out
}

// blockedInterval widens a slot by the first service's buffer before and the last one's after.
func blockedInterval(slot slots.Slot, services []schedule.Service) slots.Interval {
	before := time.Duration(services[0].BufferBeforeMinutes) * time.Minute
	after := time.Duration(services[len(services)-1].BufferAfterMinutes) * time.Minute
	return slots.Interval{Start: slot.Start.Add(-before), End: slot.End.Add(after)}
}

// referenceAlphabet leaves out look-alike characters: 0/O, 1/I/L.
const referenceAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newReference() (string, error) {
	var b strings.Builder
	b.WriteString("SET-")
	limit := big.NewInt(int64(len(referenceAlphabet)))
	for range 6 {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", err
		}
		b.WriteByte(referenceAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// referenceAttempts bounds retries after a reference collision, which is rare with 31^6 codes.
const referenceAttempts = 5

func insertBooking(ctx context.Context, tx pgx.Tx, b *Booking, blocked slots.Interval) error {
	b.ID = uuid.New()
	for attempt := 1; ; attempt++ {
		ref, err := newReference()
		if err != nil {
			return fmt.Errorf("generate reference: %w", err)
		}
		b.Reference = ref
		// A savepoint keeps the transaction usable if the reference collides.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return fmt.Errorf("open savepoint: %w", err)
		}
		err = sp.QueryRow(ctx, `INSERT INTO bookings (id, organisation_id, reference, location_id, staff_id, client_id,
				status, starts_at, ends_at, blocked, hold_expires_at, notes, source, confirmed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, tstzrange($10, $11, '[)'), $12, $13, $14, $15)
			RETURNING created_at, updated_at`,
			b.ID, b.OrganisationID, b.Reference, b.LocationID, b.StaffID, b.ClientID, b.Status, b.StartsAt, b.EndsAt,
			blocked.Start, blocked.End, b.HoldExpiresAt, b.Notes, b.Source, b.ConfirmedAt).
			Scan(&b.CreatedAt, &b.UpdatedAt)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.ConstraintName == "bookings_reference_key" && attempt < referenceAttempts {
			_ = sp.Rollback(ctx)
			continue
		}
		if errors.As(err, &pgErr) && pgErr.Code == exclusionViolation {
			_ = sp.Rollback(ctx)
			return &SlotTakenError{}
		}
		if err != nil {
			_ = sp.Rollback(ctx)
			return fmt.Errorf("insert booking: %w", err)
		}
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		break
	}

	for i, s := range b.Services {
		_, err := tx.Exec(ctx, `INSERT INTO booking_services (booking_id, position, service_id, duration_minutes,
				buffer_before_minutes, buffer_after_minutes, price_minor, deposit_minor, currency)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			b.ID, i, s.ServiceID, s.DurationMinutes, s.BufferBeforeMinutes, s.BufferAfterMinutes, s.PriceMinor,
			s.DepositMinor, s.Currency)
		if err != nil {
			return fmt.Errorf("insert booking service: %w", err)
		}
	}
	return nil
}

// expireHolds marks the organisation's lapsed holds expired, so that their intervals stop
// counting for the exclusion constraint before this transaction inserts. It writes the same
// events and notifications as the sweeper.
func expireHolds(ctx context.Context, tx *writeTx, orgID uuid.UUID, now time.Time) (int, error) {
	rows, err := tx.Query(ctx, `UPDATE bookings SET status = 'expired', version = version + 1, updated_at = now()
		WHERE organisation_id = $1 AND status = 'held' AND hold_expires_at <= $2
		RETURNING id`, orgID, now)
	if err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	for _, id := range ids {
		b, err := getBooking(ctx, tx, orgID, id.String(), false)
		if err != nil {
			return 0, err
		}
		if err := writeEvent(ctx, tx, b, "booking.expired"); err != nil {
			return 0, err
		}
		if err := notifySchedule(ctx, tx, b, b.blocked()); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// blocked recomputes the booking's blocked interval from its services.
func (b *Booking) blocked() slots.Interval {
	if len(b.Services) == 0 {
		return slots.Interval{Start: b.StartsAt, End: b.EndsAt}
	}
	before := time.Duration(b.Services[0].BufferBeforeMinutes) * time.Minute
	after := time.Duration(b.Services[len(b.Services)-1].BufferAfterMinutes) * time.Minute
	return slots.Interval{Start: b.StartsAt.Add(-before), End: b.EndsAt.Add(after)}
}

// notifySchedule tells every availability replica which dates changed for the booking's staff
// member: at each location where they work, from the day before the interval (a window that
// crosses midnight belongs to the day it starts on) to the day it ends.
func notifySchedule(ctx context.Context, tx *writeTx, b *Booking, blocked slots.Interval) error {
	rows, err := tx.Query(ctx, `SELECT l.id, l.time_zone FROM locations l
		WHERE l.id = $1 OR l.id IN (SELECT location_id FROM staff_services WHERE staff_id = $2)`, b.LocationID, b.StaffID)
	if err != nil {
		return fmt.Errorf("read staff locations: %w", err)
	}
	type locZone struct {
		id   uuid.UUID
		zone string
	}
	locs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (locZone, error) {
		var l locZone
		return l, r.Scan(&l.id, &l.zone)
	})
	if err != nil {
		return fmt.Errorf("read staff locations: %w", err)
	}

	// Locations in different zones may see different local dates; one notification lists the
	// union, which over-evicts a little and never misses.
	seen := map[string]bool{}
	var dates []string
	change := notify.Change{Kind: notify.KindSchedule, OrganisationID: b.OrganisationID}
	for _, l := range locs {
		change.LocationIDs = append(change.LocationIDs, l.id)
		zone, err := time.LoadLocation(l.zone)
		if err != nil {
			return fmt.Errorf("location %s time zone: %w", l.id, err)
		}
		first := slots.DateOf(blocked.Start, zone).AddDays(-1)
		last := slots.DateOf(blocked.End, zone)
		for d := first; d.Compare(last) <= 0; d = d.AddDays(1) {
			if !seen[d.String()] {
				seen[d.String()] = true
				dates = append(dates, d.String())
			}
			if len(dates) > 100 {
				break
			}
		}
	}
	change.SetDates(dates)
	return tx.notify(ctx, change)
}

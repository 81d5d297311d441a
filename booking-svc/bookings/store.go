package bookings

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/propagation"

	"github.com/setora/rest/booking-svc/idempotency"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/schedule"
	"github.com/setora/rest/shared/slots"
)

// PostgreSQL error codes the store turns into domain errors.
const (
	exclusionViolation  = "23P01"
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	deadlockDetected    = "40P01"
)

// Store runs the booking lifecycle against PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	echo *notify.Echo
	// beforeCommit, when set by a test, runs just before each commit; an error aborts the write.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
	// Observer, when set before the store is used, receives booking outcomes, notification
	// counts and retries.
	Observer Observer
}

// NewStore returns a store on pool. With a running echo, each write answers only after its
// change notifications have been delivered; echo may be nil.
func NewStore(pool *pgxpool.Pool, echo *notify.Echo) *Store { return &Store{pool: pool, echo: echo} }

// echoTimeout bounds the wait for the availability replicas to acknowledge a write.
const echoTimeout = time.Second

// writeTx is a write transaction that remembers the notifications it queued and the booking
// outcomes of the events it wrote.
type writeTx struct {
	pgx.Tx
	echo     *notify.Echo
	notices  []string
	outcomes []Outcome
}

// notify queues a change notification, delivered at commit. The notification carries the W3C
// trace context of ctx, so that each availability replica can link its eviction to this write.
func (w *writeTx) notify(ctx context.Context, change notify.Change) error {
	change.ID = uuid.NewString()
	traceContext := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, traceContext)
	change.TraceParent = traceContext.Get("traceparent")
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
		s.observeRuleBroken(err)
		return err
	}
	s.observeCommit(w)
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

// maxWriteAttempts bounds the runs of one create or reschedule.
const maxWriteAttempts = 5

// anyStaffAttempts bounds the runs of an "any staff" write whose chosen staff member was taken
// by a concurrent transaction between the engine's check and the insert.
const anyStaffAttempts = 3

// errDeadlock marks a write that PostgreSQL aborted to break a deadlock. Two transactions that
// insert overlapping intervals can each wait for the other in the exclusion constraint's check.
// The staff lock in insertBooking prevents that for creates, and a retry covers the rest.
var errDeadlock = errors.New("deadlock between concurrent writes")

// retryable reports whether a failed write may succeed when run again: after a reference
// collision or a deadlock, and for any staff after the chosen staff member was taken.
func retryable(err error, anyStaff bool, attempt int) bool {
	if attempt >= maxWriteAttempts {
		return false
	}
	var taken *SlotTakenError
	return errors.Is(err, errReferenceTaken) || errors.Is(err, errDeadlock) ||
		(anyStaff && attempt < anyStaffAttempts && errors.As(err, &taken))
}

// writeError turns the driver errors of an insert or update of a booking's interval into the
// store's errors.
func writeError(operation string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == exclusionViolation:
		return &SlotTakenError{}
	case errors.As(err, &pgErr) && pgErr.Code == deadlockDetected:
		return fmt.Errorf("%s: %w: %w", operation, errDeadlock, err)
	default:
		return fmt.Errorf("%s: %w", operation, err)
	}
}

// Create books a slot, or holds it when in.Hold is set. now is the organisation's present.
func (s *Store) Create(ctx context.Context, orgID uuid.UUID, now time.Time, in CreateInput) (*Booking, error) {
	var booking *Booking
	var err error
	for attempt := 1; ; attempt++ {
		booking, err = s.create(ctx, orgID, now, in)
		if !retryable(err, in.StaffID == uuid.Nil, attempt) {
			break
		}
		s.observer().Retrying("create booking", attempt+1, err)
	}
	s.observeConflict(err)
	var taken *SlotTakenError
	if errors.As(err, &taken) {
		taken.Alternatives, taken.TimeZone = s.alternatives(ctx, orgID, now, in)
	}
	return booking, err
}

func (s *Store) create(ctx context.Context, orgID uuid.UUID, now time.Time, in CreateInput) (*Booking, error) {
	var booking *Booking
	err := s.inTx(ctx, func(tx *writeTx) error {
		loc, services, err := schedule.LocationAndServices(ctx, tx, orgID, in.LocationSlug, in.ServiceIDs)
		var missing *schedule.MissingServiceError
		switch {
		case errors.Is(err, schedule.ErrNotFound):
			return ErrLocationNotFound
		case errors.As(err, &missing):
			return &ServiceNotFoundError{ID: missing.ID}
		case err != nil:
			return err
		}
		clientID, err := resolveClient(ctx, tx, orgID, in.Client)
		if err != nil {
			return err
		}

		engine := engineServices(services)
		slot, err := s.checkAndClear(ctx, tx, loc, engine, in.StaffID, now, in.StartsAt, nil)
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
		blocked := blockedInterval(slot, engine)
		locs, err := insertBooking(ctx, tx, b, blocked, in.Key, in.Response)
		if err != nil {
			return err
		}
		if err := sendSchedule(ctx, tx, b, blocked, locs); err != nil {
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

// checkAndClear checks the slot with the engine and prepares the insert: it expires the
// organisation's lapsed holds when one of them overlaps the slot, because the exclusion
// constraint counts a hold until its status changes, and it distinguishes a staff member who
// does not exist (404) from one who cannot take the slot (422). Both extra queries run only when needed.
func (s *Store) checkAndClear(ctx context.Context, tx *writeTx, loc *schedule.Location, services []slots.Service,
	staffID uuid.UUID, now, start time.Time, except *ownBlock) (slots.Slot, error) {
	slot, lapsed, err := checkSlot(ctx, tx, loc, services, staffID, now, start, except)
	var rule *RuleError
	if errors.As(err, &rule) && staffID != uuid.Nil {
		if err := checkStaff(ctx, tx, loc.OrganisationID, staffID); err != nil {
			return slots.Slot{}, err
		}
	}
	if err != nil {
		return slots.Slot{}, err
	}
	if lapsed {
		if _, err := expireHolds(ctx, tx, loc.OrganisationID, now); err != nil {
			return slots.Slot{}, err
		}
	}
	return slot, nil
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
// as busy when it is not nil. lapsed reports whether a hold past its expiry, which the engine
// ignores but the database still counts, overlaps the slot's blocked interval. The dates read
// start a day early because a working window that crosses midnight belongs to the day it
// starts on.
func checkSlot(ctx context.Context, tx pgx.Tx, loc *schedule.Location, services []slots.Service,
	staffID uuid.UUID, now, start time.Time, except *ownBlock) (slot slots.Slot, lapsed bool, err error) {
	day := slots.DateOf(start, loc.Zone)
	days, err := schedule.LoadDays(ctx, tx, loc, []slots.Date{day.AddDays(-1), day})
	if err != nil {
		return slots.Slot{}, false, fmt.Errorf("read schedule: %w", err)
	}
	except.removeFrom(days)
	slot, err = slots.Check(days, slots.Query{Services: services, StaffID: staffID, Now: now}, start)
	if errors.Is(err, slots.ErrSlotTaken) {
		return slots.Slot{}, false, &SlotTakenError{}
	}
	if err != nil {
		return slots.Slot{}, false, &RuleError{Rule: err}
	}
	return slot, lapsedHoldOverlaps(days, slot.StaffID, blockedInterval(slot, services), now), nil
}

// lapsedHoldOverlaps reports whether the staff member has a hold past its expiry at now that
// overlaps blocked.
func lapsedHoldOverlaps(days []slots.DaySchedule, staffID uuid.UUID, blocked slots.Interval, now time.Time) bool {
	for _, day := range days {
		for _, staff := range day.Staff {
			if staff.StaffID != staffID {
				continue
			}
			for _, busy := range staff.Busy {
				if !busy.HoldExpiresAt.IsZero() && !now.Before(busy.HoldExpiresAt) &&
					busy.Interval.Start.Before(blocked.End) && blocked.Start.Before(busy.Interval.End) {
					return true
				}
			}
		}
	}
	return false
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
func blockedInterval(slot slots.Slot, services []slots.Service) slots.Interval {
	before := services[0].BufferBefore
	after := services[len(services)-1].BufferAfter
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

// lockStaffSQL takes a transaction-level advisory lock on a staff member; $1 is the staff id.
const lockStaffSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`

// errReferenceTaken means the generated reference belongs to another booking; the whole
// transaction is retried with a new one.
var errReferenceTaken = errors.New("booking reference already taken")

// insertBooking inserts the booking, its services and its booking.created event, and reads its
// staff member's locations for the change notification, all in one round trip. It sets b's id,
// reference and timestamps.
func insertBooking(ctx context.Context, tx *writeTx, b *Booking, blocked slots.Interval,
	key *idempotency.Deferred, response func(*Booking) ([]byte, error)) ([]locationZone, error) {
	ref, err := newReference()
	if err != nil {
		return nil, fmt.Errorf("generate reference: %w", err)
	}
	b.ID, b.Reference = uuid.New(), ref
	// PostgreSQL keeps microseconds; the event's payload must show the stored value.
	b.CreatedAt = time.Now().Truncate(time.Microsecond)
	b.UpdatedAt = b.CreatedAt
	payload, err := json.Marshal(b.View(slots.DisplayDuration))
	if err != nil {
		return nil, fmt.Errorf("encode booking.created event: %w", err)
	}

	batch := &pgx.Batch{}
	if key != nil {
		body, err := response(b)
		if err != nil {
			return nil, fmt.Errorf("render the response to store with the idempotency key: %w", err)
		}
		// First, so that a concurrent copy of this request waits here for this one to end,
		// before it can meet this booking in the exclusion check.
		key.Queue(batch, http.StatusCreated, body)
	}
	// Creates for one staff member queue here, so that the loser of a race meets the winner's
	// committed row in the exclusion check instead of a deadlock.
	batch.Queue(lockStaffSQL, b.StaffID)
	inserted := false
	batch.Queue(`INSERT INTO bookings (id, organisation_id, reference, location_id, staff_id, client_id, status,
			starts_at, ends_at, blocked, hold_expires_at, notes, source, confirmed_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, tstzrange($10, $11, '[)'), $12, $13, $14, $15, $16, $16)
		ON CONFLICT (reference) DO NOTHING`,
		b.ID, b.OrganisationID, b.Reference, b.LocationID, b.StaffID, b.ClientID, b.Status, b.StartsAt, b.EndsAt,
		blocked.Start, blocked.End, b.HoldExpiresAt, b.Notes, b.Source, b.ConfirmedAt, b.CreatedAt).
		Exec(func(tag pgconn.CommandTag) error {
			inserted = tag.RowsAffected() == 1
			return nil
		})
	for i, s := range b.Services {
		batch.Queue(`INSERT INTO booking_services (booking_id, position, service_id, duration_minutes,
				buffer_before_minutes, buffer_after_minutes, price_minor, deposit_minor, currency)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			b.ID, i, s.ServiceID, s.DurationMinutes, s.BufferBeforeMinutes, s.BufferAfterMinutes, s.PriceMinor,
			s.DepositMinor, s.Currency)
	}
	batch.Queue(`INSERT INTO outbox_events (organisation_id, booking_id, type, sequence, payload)
		VALUES ($1, $2, 'booking.created', $3, $4)`, b.OrganisationID, b.ID, b.Version, payload)
	var locs []locationZone
	batch.Queue(staffLocationsSQL, b.LocationID, b.StaffID).Query(func(rows pgx.Rows) error {
		var err error
		locs, err = scanLocationZones(rows)
		return err
	})

	err = tx.SendBatch(ctx, batch).Close()
	if key != nil {
		if err := key.Taken(); err != nil {
			return nil, err
		}
	}
	var pgErr *pgconn.PgError
	switch {
	case !inserted && (err == nil || errors.As(err, &pgErr) && pgErr.Code == foreignKeyViolation):
		// The reference was taken, so the rows after the booking found nothing to refer to.
		return nil, errReferenceTaken
	case err != nil:
		return nil, writeError("insert booking", err)
	}
	tx.outcomes = append(tx.outcomes, outcomeOfEvent("booking.created", b.Status))
	return locs, nil
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

// staffLocationsSQL reads the booking's location and every other location where its staff
// member works, with their time zones; $1 is the location and $2 the staff member.
const staffLocationsSQL = `SELECT l.id, l.time_zone FROM locations l
	WHERE l.id = $1 OR l.id IN (SELECT location_id FROM staff_services WHERE staff_id = $2)`

type locationZone struct {
	id   uuid.UUID
	zone string
}

func scanLocationZones(rows pgx.Rows) ([]locationZone, error) {
	locs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (locationZone, error) {
		var l locationZone
		return l, r.Scan(&l.id, &l.zone)
	})
	if err != nil {
		return nil, fmt.Errorf("read staff locations: %w", err)
	}
	return locs, nil
}

// notifySchedule tells every availability replica which dates changed for the booking's staff
// member: at each location where they work, from the day before the interval (a window that
// crosses midnight belongs to the day it starts on) to the day it ends.
func notifySchedule(ctx context.Context, tx *writeTx, b *Booking, blocked slots.Interval) error {
	rows, err := tx.Query(ctx, staffLocationsSQL, b.LocationID, b.StaffID)
	if err != nil {
		return fmt.Errorf("read staff locations: %w", err)
	}
	locs, err := scanLocationZones(rows)
	if err != nil {
		return err
	}
	return sendSchedule(ctx, tx, b, blocked, locs)
}

// sendSchedule queues the change notification for the booking's interval at locs, the
// locations where its staff member works.
func sendSchedule(ctx context.Context, tx *writeTx, b *Booking, blocked slots.Interval, locs []locationZone) error {
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

// Package idempotency makes POST requests safe to retry. A request with an Idempotency-Key
// header claims the key for its organisation; the first answer below 500 is stored for 24 hours
// and replayed to every retry with the same method, path and body.
package idempotency

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader marks an answer that was replayed from the store.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// Retention is how long a key and its answer are kept.
const Retention = 24 * time.Hour

// abandonAfter is how long a claim may stay unanswered before another request may take it
// over, for when the process serving the first request died.
const abandonAfter = 2 * time.Minute

// Outcome says what the middleware did with a request, for metrics.
type Outcome string

// Outcomes reported to the observer.
const (
	OutcomeReplayed Outcome = "replayed"
	OutcomeReused   Outcome = "key_reused"
	OutcomeInUse    Outcome = "key_in_use"
)

// Middleware stores and replays responses. observe may be nil. On the routes in inTransaction,
// given as "METHOD /path" such as "POST /v1/bookings", the handler's own transaction stores the
// key with its response (see Deferred) instead of a claim before the handler runs.
func Middleware(pool *pgxpool.Pool, log *slog.Logger, observe func(Outcome), inTransaction ...string) fiber.Handler {
	if observe == nil {
		observe = func(Outcome) {}
	}
	deferred := map[string]bool{}
	for _, route := range inTransaction {
		deferred[route] = true
	}
	return func(c *fiber.Ctx) error {
		key := c.Get(Header)
		if key == "" || c.Method() != fiber.MethodPost {
			return c.Next()
		}
		if len(key) > MaxKeyLength {
			return apierr.New(http.StatusBadRequest, "idempotency_key_too_long", Header,
				"the Idempotency-Key is %d characters long; use at most %d, for example a UUID", len(key), MaxKeyLength)
		}
		p := auth.From(c)
		if p == nil {
			return c.Next()
		}
		ctx := c.UserContext()
		fingerprint := fingerprintOf(c.Method(), c.Path(), c.Body())
		if deferred[c.Method()+" "+c.Path()] {
			return serveDeferred(c, pool, log, observe, &Deferred{OrganisationID: p.OrganisationID, Key: key, Fingerprint: fingerprint})
		}

		stored, err := claim(ctx, pool, p.OrganisationID, key, fingerprint)
		if err != nil {
			log.Error("idempotency claim failed", "error", err.Error())
			return apierr.Unavailable(1, "the request could not be recorded because the database is unreachable; retry with the same Idempotency-Key")
		}
		if stored != nil {
			return answerStored(c, stored, fingerprint, observe)
		}

		if err := c.Next(); err != nil {
			if handlerErr := c.App().ErrorHandler(c, err); handlerErr != nil {
				return handlerErr
			}
		}
		status := c.Response().StatusCode()
		if err := finish(context.WithoutCancel(ctx), pool, p.OrganisationID, key, status, c.Response().Body()); err != nil {
			log.Error("storing the idempotent response failed; a retry will run the request again",
				"error", err.Error(), "status", status)
		}
		return nil
	}
}

type record struct {
	fingerprint []byte
	status      *int
	body        []byte
	createdAt   time.Time
}

func fingerprintOf(method, path string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", method, path)
	h.Write(body)
	return h.Sum(nil)
}

// claim inserts the key. It returns nil when this request now owns the key, or the record that
// was there first.
func claim(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID, key string, fingerprint []byte) (*record, error) {
	for attempt := 0; attempt < 3; attempt++ {
		tag, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (organisation_id, key, fingerprint, expires_at)
			VALUES ($1, $2, $3, now() + $4::interval) ON CONFLICT DO NOTHING`,
			orgID, key, fingerprint, interval(Retention))
		if err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}

		var r record
		var expires time.Time
		err = pool.QueryRow(ctx, `SELECT fingerprint, response_status, response_body, created_at, expires_at
			FROM idempotency_keys WHERE organisation_id = $1 AND key = $2`, orgID, key).
			Scan(&r.fingerprint, &r.status, &r.body, &r.createdAt, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // purged in between; claim again
		}
		if err != nil {
			return nil, fmt.Errorf("read idempotency key: %w", err)
		}

		expired := time.Now().After(expires)
		abandoned := r.status == nil && time.Since(r.createdAt) > abandonAfter
		if expired || abandoned {
			// Take the key over only if nobody else did in the meantime.
			tag, err := pool.Exec(ctx, `UPDATE idempotency_keys SET fingerprint = $3, response_status = NULL,
					response_body = NULL, created_at = now(), expires_at = now() + $5::interval
				WHERE organisation_id = $1 AND key = $2 AND created_at = $4`,
				orgID, key, fingerprint, r.createdAt, interval(Retention))
			if err != nil {
				return nil, fmt.Errorf("take over idempotency key: %w", err)
			}
			if tag.RowsAffected() == 1 {
				return nil, nil
			}
			continue
		}
		return &r, nil
	}
	return nil, errors.New("claim idempotency key: the key kept changing under concurrent requests")
}

func answerStored(c *fiber.Ctx, r *record, fingerprint []byte, observe func(Outcome)) error {
	if string(r.fingerprint) != string(fingerprint) {
		observe(OutcomeReused)
		return apierr.New(http.StatusUnprocessableEntity, "idempotency_key_reused", Header,
			"this Idempotency-Key was used with a different request; use a new key for a new request")
	}
	if r.status == nil {
		observe(OutcomeInUse)
		e := apierr.New(http.StatusConflict, "idempotency_key_in_use", Header,
			"a request with this Idempotency-Key is still being processed; retry after a second")
		e.RetryAfter = 1
		return e
	}
	observe(OutcomeReplayed)
	c.Set(ReplayedHeader, "true")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(*r.status).Send(r.body)
}

// finish stores an answer below 500, or releases the key after a 5xx so a retry runs again.
func finish(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID, key string, status int, body []byte) error {
	if status >= 500 {
		_, err := pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE organisation_id = $1 AND key = $2`, orgID, key)
		return err
	}
	_, err := pool.Exec(ctx, `UPDATE idempotency_keys SET response_status = $3, response_body = $4
		WHERE organisation_id = $1 AND key = $2`, orgID, key, status, body)
	return err
}

// Purge deletes expired keys and returns how many went.
func Purge(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ErrKeyTaken is returned by a handler whose transaction found its Deferred key already stored,
// by an earlier request or a concurrent one that committed first. The middleware then replays
// the stored response.
var ErrKeyTaken = errors.New("the idempotency key is already stored")

// Deferred is an Idempotency-Key that the handler stores with its response inside its own
// transaction, together with the change it makes. A retry then never finds the change without
// its response, and a concurrent copy waits for the first to commit and gets its response
// instead of 409.
type Deferred struct {
	OrganisationID uuid.UUID
	Key            string
	Fingerprint    []byte
	queued         bool
	alreadyStored  bool // the last queued insert found the key stored
}

type deferredKey struct{}

// FromContext returns the request's Deferred key, or nil when it has none.
func FromContext(ctx context.Context) *Deferred {
	d, _ := ctx.Value(deferredKey{}).(*Deferred)
	return d
}

// Queue adds to batch the statement that stores the key with the response the handler will
// send, ahead of the change itself. A concurrent transaction holding the same key makes it wait
// until that one ends. A key already stored is left alone and Taken then reports it, so the
// handler rolls back. An expired key, or a claim abandoned by the claim-first path, is taken over.
func (d *Deferred) Queue(batch *pgx.Batch, status int, body []byte) {
	d.queued, d.alreadyStored = true, false
	batch.Queue(`INSERT INTO idempotency_keys AS k (organisation_id, key, fingerprint, response_status, response_body, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
		ON CONFLICT (organisation_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,
			response_status = excluded.response_status, response_body = excluded.response_body,
			created_at = now(), expires_at = excluded.expires_at
		WHERE k.expires_at < now() OR (k.response_status IS NULL AND k.created_at < now() - $7::interval)`,
		d.OrganisationID, d.Key, d.Fingerprint, status, body, interval(Retention), interval(abandonAfter)).
		Exec(func(tag pgconn.CommandTag) error {
			d.alreadyStored = tag.RowsAffected() == 0
			return nil
		})
}

// Taken returns ErrKeyTaken when the batch of the last Queue found the key already stored.
func (d *Deferred) Taken() error {
	if d.alreadyStored {
		return ErrKeyTaken
	}
	return nil
}

func interval(d time.Duration) string { return fmt.Sprintf("%d seconds", int(d.Seconds())) }

// serveDeferred runs a handler that stores d in its own transaction. When the handler fails, the
// key may belong to another request that committed meanwhile, so a stored response is replayed
// if there is one. Otherwise a response below 500 is stored for retries, as on other routes.
func serveDeferred(c *fiber.Ctx, pool *pgxpool.Pool, log *slog.Logger, observe func(Outcome), d *Deferred) error {
	ctx := c.UserContext()
	// A retry of a finished request is replayed at once, without running the handler again.
	stored, err := lookup(ctx, pool, d.OrganisationID, d.Key)
	if err != nil {
		log.Error("reading the idempotency key failed", "error", err.Error())
		return apierr.Unavailable(1, "the request could not be checked against its Idempotency-Key because the database is unreachable; retry with the same key")
	}
	if stored != nil {
		return answerStored(c, stored, d.Fingerprint, observe)
	}

	c.SetUserContext(context.WithValue(ctx, deferredKey{}, d))
	err = c.Next()
	if err == nil && d.queued && c.Response().StatusCode() < 300 {
		return nil // stored with the change
	}
	if err != nil && !errors.Is(err, ErrKeyTaken) {
		if handlerErr := c.App().ErrorHandler(c, err); handlerErr != nil {
			return handlerErr
		}
	}

	var lookupErr error
	stored, lookupErr = lookup(ctx, pool, d.OrganisationID, d.Key)
	if lookupErr != nil {
		log.Error("reading the idempotency key after a failed request failed", "error", lookupErr.Error())
		return apierr.Unavailable(1, "the request could not be checked against its Idempotency-Key; retry with the same key")
	}
	if stored != nil {
		return replaceWithStored(c, stored, d.Fingerprint, observe)
	}
	if errors.Is(err, ErrKeyTaken) {
		// Taken and gone again (purged, or rolled back); the client may simply retry.
		return apierr.Unavailable(1, "the Idempotency-Key changed hands while this request ran; retry with the same key")
	}
	status := c.Response().StatusCode()
	if status >= 500 {
		return nil
	}
	tag, storeErr := pool.Exec(context.WithoutCancel(ctx), `INSERT INTO idempotency_keys
			(organisation_id, key, fingerprint, response_status, response_body, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval) ON CONFLICT DO NOTHING`,
		d.OrganisationID, d.Key, d.Fingerprint, status, c.Response().Body(), interval(Retention))
	if storeErr != nil {
		log.Error("storing the idempotent response failed; a retry will run the request again",
			"error", storeErr.Error(), "status", status)
		return nil
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// A concurrent copy stored its response first, perhaps a booking where this one failed.
	// Every copy gets the stored response, so none contradicts what a retry will see.
	stored, lookupErr = lookup(context.WithoutCancel(ctx), pool, d.OrganisationID, d.Key)
	if lookupErr != nil {
		log.Error("reading the response a concurrent copy stored failed; sending this copy's own",
			"error", lookupErr.Error(), "status", status)
		return nil
	}
	if stored == nil {
		return nil
	}
	return replaceWithStored(c, stored, d.Fingerprint, observe)
}

// replaceWithStored replaces the response the handler wrote with the stored one.
func replaceWithStored(c *fiber.Ctx, stored *record, fingerprint []byte, observe func(Outcome)) error {
	c.Response().Header.Del(fiber.HeaderRetryAfter)
	if err := answerStored(c, stored, fingerprint, observe); err != nil {
		return c.App().ErrorHandler(c, err)
	}
	return nil
}

// lookup reads the stored record of a key that has not expired, or nil.
func lookup(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID, key string) (*record, error) {
	var r record
	err := pool.QueryRow(ctx, `SELECT fingerprint, response_status, response_body, created_at
		FROM idempotency_keys WHERE organisation_id = $1 AND key = $2 AND expires_at >= now()`, orgID, key).
		Scan(&r.fingerprint, &r.status, &r.body, &r.createdAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	return &r, nil
}

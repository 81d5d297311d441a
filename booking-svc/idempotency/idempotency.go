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

// Middleware stores and replays answers. observe may be nil.
func Middleware(pool *pgxpool.Pool, log *slog.Logger, observe func(Outcome)) fiber.Handler {
	if observe == nil {
		observe = func(Outcome) {}
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
			log.Error("storing the idempotent answer failed; a retry will run the request again",
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
			orgID, key, fingerprint, fmt.Sprintf("%d seconds", int(Retention.Seconds())))
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
				orgID, key, fingerprint, r.createdAt, fmt.Sprintf("%d seconds", int(Retention.Seconds())))
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

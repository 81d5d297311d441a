package webhooks

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Endpoint statuses.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
	// StatusFailing means an event could not be delivered within the retry horizon. A failing
	// endpoint gets no new events until a delivery to it succeeds (a redelivery, say) or it is
	// set to enabled again.
	StatusFailing = "failing"
)

// Limits on endpoints.
const (
	MaxEndpointsPerOrganisation = 20
	MaxDescriptionLength        = 500
	// DefaultSecretOverlap is how long the replaced secret keeps signing after a rotation.
	DefaultSecretOverlap = 24 * time.Hour
	MaxSecretOverlap     = 7 * 24 * time.Hour
)

// Errors the store returns; the API maps each to a status and code.
var (
	ErrEndpointNotFound  = errors.New("webhook endpoint not found")
	ErrTooManyEndpoints  = errors.New("too many webhook endpoints")
	ErrEndpointDisabled  = errors.New("webhook endpoint disabled")
	ErrTooManyRedelivery = errors.New("too many events to redeliver")
)

// Endpoint is a webhook endpoint as the API returns it.
type Endpoint struct {
	ID             uuid.UUID
	OrganisationID uuid.UUID
	URL            string
	Description    string
	EventTypes     []string
	Status         string
	FailingSince   *time.Time
	// PreviousSecretExpiresAt is set while a rotated-out secret still signs deliveries.
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
	// Secret is filled in only by CreateEndpoint and RotateSecret: it is shown once.
	Secret string
}

// EndpointInput creates an endpoint.
type EndpointInput struct {
	URL         string
	Description string
	EventTypes  []string
}

// EndpointUpdate changes the fields that are not nil.
type EndpointUpdate struct {
	URL         *string
	Description *string
	EventTypes  []string
	// Status may be StatusEnabled or StatusDisabled; enabling a failing endpoint clears failing.
	Status *string
}

// Store reads and writes endpoints, events and the delivery log for the API, and queues
// redeliveries.
type Store struct {
	pool     *pgxpool.Pool
	resolver Resolver
	// inserter queues jobs only; the Service's client works them.
	inserter *river.Client[pgx.Tx]
}

// NewStore returns a store on pool that checks new URLs with resolver (net.DefaultResolver
// when nil).
func NewStore(pool *pgxpool.Pool, resolver Resolver) (*Store, error) {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("create job queue client: %w", err)
	}
	return &Store{pool: pool, resolver: resolver, inserter: inserter}, nil
}

const endpointColumns = `id, organisation_id, url, description, event_types, status, failing_since,
	previous_secret_expires_at, created_at, updated_at`

func scanEndpoint(row pgx.Row) (*Endpoint, error) {
	var e Endpoint
	err := row.Scan(&e.ID, &e.OrganisationID, &e.URL, &e.Description, &e.EventTypes, &e.Status, &e.FailingSince,
		&e.PreviousSecretExpiresAt, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return nil, err
	}
	// An expired previous secret is no longer used; do not report it.
	if e.PreviousSecretExpiresAt != nil && !e.PreviousSecretExpiresAt.After(time.Now()) {
		e.PreviousSecretExpiresAt = nil
	}
	return &e, nil
}

// secretAlphabet is base62, so a secret can be copied by double-clicking it.
const secretAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newSecret returns "whsec_" and 40 random base62 characters (about 238 bits).
func newSecret() (string, error) {
	var b strings.Builder
	b.WriteString("whsec_")
	limit := big.NewInt(int64(len(secretAlphabet)))
	for range 40 {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("generate secret: %w", err)
		}
		b.WriteByte(secretAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// CreateEndpoint checks the URL for the organisation's mode and stores a new endpoint with a
// fresh secret, returned only here.
func (s *Store) CreateEndpoint(ctx context.Context, orgID uuid.UUID, mode string, in EndpointInput) (*Endpoint, error) {
	u, err := CheckURL(ctx, in.URL, mode, s.resolver)
	if err != nil {
		return nil, err
	}
	if err := CheckEventTypes(in.EventTypes); err != nil {
		return nil, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}

	var endpoint *Endpoint
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// Serialise creations per organisation so the limit holds under concurrency.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || $1::text, 0))`, orgID); err != nil {
			return fmt.Errorf("lock endpoints: %w", err)
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE organisation_id = $1`, orgID).Scan(&count); err != nil {
			return fmt.Errorf("count endpoints: %w", err)
		}
		if count >= MaxEndpointsPerOrganisation {
			return ErrTooManyEndpoints
		}
		endpoint, err = scanEndpoint(tx.QueryRow(ctx, `INSERT INTO webhook_endpoints (organisation_id, url, description, event_types, secret)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+endpointColumns, orgID, u.String(), in.Description, in.EventTypes, secret))
		if err != nil {
			return fmt.Errorf("insert endpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	endpoint.Secret = secret
	return endpoint, nil
}

// GetEndpoint returns one endpoint of the organisation.
func (s *Store) GetEndpoint(ctx context.Context, orgID, id uuid.UUID) (*Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE organisation_id = $1 AND id = $2`, orgID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEndpointNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListEndpoints returns a page of the organisation's endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, orgID uuid.UUID, page Page) ([]*Endpoint, *Cursor, error) {
	var rows pgx.Rows
	var err error
	if page.After == nil {
		rows, err = s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE organisation_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, orgID, page.Limit+1)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE organisation_id = $1
			AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2`,
			orgID, page.Limit+1, page.After.CreatedAt, page.After.ID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, nil, fmt.Errorf("list endpoints: %w", err)
	}
	list, next := pageOf(list, page.Limit, func(e *Endpoint) Cursor { return Cursor{CreatedAt: e.CreatedAt, ID: e.ID} })
	return list, next, nil
}

// UpdateEndpoint changes an endpoint's URL, description, subscriptions or status.
func (s *Store) UpdateEndpoint(ctx context.Context, orgID uuid.UUID, mode string, id uuid.UUID, in EndpointUpdate) (*Endpoint, error) {
	var url *string
	if in.URL != nil {
		u, err := CheckURL(ctx, *in.URL, mode, s.resolver)
		if err != nil {
			return nil, err
		}
		checked := u.String()
		url = &checked
	}
	if in.EventTypes != nil {
		if err := CheckEventTypes(in.EventTypes); err != nil {
			return nil, err
		}
	}
	if in.Status != nil && *in.Status != StatusEnabled && *in.Status != StatusDisabled {
		return nil, invalid("status", "status %q cannot be set; use \"enabled\" or \"disabled\"", *in.Status)
	}

	e, err := scanEndpoint(s.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET
			url = coalesce($3, url),
			description = coalesce($4, description),
			event_types = coalesce($5, event_types),
			status = coalesce($6, status),
			failing_since = CASE WHEN $6::text IS NULL THEN failing_since END,
			updated_at = now()
		WHERE organisation_id = $1 AND id = $2 RETURNING `+endpointColumns,
		orgID, id, url, in.Description, in.EventTypes, in.Status))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEndpointNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update endpoint %s: %w", id, err)
	}
	return e, nil
}

// DeleteEndpoint removes an endpoint and its delivery log. Queued deliveries to it are dropped
// when they next run.
func (s *Store) DeleteEndpoint(ctx context.Context, orgID, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE organisation_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrEndpointNotFound
	}
	return nil
}

// RotateSecret replaces an endpoint's secret. The old secret keeps signing beside the new one
// for overlap (zero ends it at once), so receivers can switch without rejecting deliveries.
func (s *Store) RotateSecret(ctx context.Context, orgID, id uuid.UUID, overlap time.Duration) (*Endpoint, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return nil, invalid("overlap_minutes", "overlap_minutes must be between 0 and %d", int(MaxSecretOverlap.Minutes()))
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET
			previous_secret = CASE WHEN $4::bigint > 0 THEN secret END,
			previous_secret_expires_at = CASE WHEN $4::bigint > 0 THEN now() + make_interval(secs => $4::bigint) END,
			secret = $3,
			updated_at = now()
		WHERE organisation_id = $1 AND id = $2 RETURNING `+endpointColumns,
		orgID, id, secret, int64(overlap/time.Second)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEndpointNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("rotate secret of endpoint %s: %w", id, err)
	}
	e.Secret = secret
	return e, nil
}

package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/apierr"
)

// Principal is the caller behind a valid key.
type Principal struct {
	KeyID          uuid.UUID
	OrganisationID uuid.UUID
	Prefix         string
	Scopes         []string
	Mode           string
	RateLimit      int // requests per minute
	// TestClock is the organisation's frozen "now" in test mode; zero means real time.
	TestClock time.Time
}

// Now returns the instant the organisation's rules use as the present.
func (p *Principal) Now() time.Time {
	if !p.TestClock.IsZero() {
		return p.TestClock
	}
	return time.Now()
}

// HasScope reports whether the key carries scope.
func (p *Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, scope)
}

const principalKey = "principal"

// From returns the principal that Middleware stored on the request.
func From(c *fiber.Ctx) *Principal {
	p, _ := c.Locals(principalKey).(*Principal)
	return p
}

// Authenticator resolves keys to principals. With a positive CacheTTL it keeps answers for that
// long, so a revoked key stops working within CacheTTL (sooner where InvalidateOrganisation is
// called on a change notification).
type Authenticator struct {
	pool     *pgxpool.Pool
	cacheTTL time.Duration

	mu      sync.Mutex
	entries map[string]cachedPrincipal
}

type cachedPrincipal struct {
	principal *Principal
	expires   time.Time
}

// maxCachedKeys bounds the cache; past it, the cache is emptied and refilled on demand.
const maxCachedKeys = 10000

// NewAuthenticator returns an Authenticator reading keys through pool.
func NewAuthenticator(pool *pgxpool.Pool, cacheTTL time.Duration) *Authenticator {
	return &Authenticator{pool: pool, cacheTTL: cacheTTL, entries: map[string]cachedPrincipal{}}
}

// ErrUnknownKey means no active key has this hash.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// Lookup returns the principal for a key.
func (a *Authenticator) Lookup(ctx context.Context, key string) (*Principal, error) {
	hash := string(Hash(key))
	if a.cacheTTL > 0 {
		a.mu.Lock()
		entry, ok := a.entries[hash]
		a.mu.Unlock()
		if ok && time.Now().Before(entry.expires) {
			return entry.principal, nil
		}
	}

	p, err := a.load(ctx, []byte(hash))
	if err != nil {
		return nil, err
	}
	if a.cacheTTL > 0 {
		a.mu.Lock()
		if len(a.entries) >= maxCachedKeys {
			clear(a.entries)
		}
		a.entries[hash] = cachedPrincipal{principal: p, expires: time.Now().Add(a.cacheTTL)}
		a.mu.Unlock()
	}
	return p, nil
}

func (a *Authenticator) load(ctx context.Context, hash []byte) (*Principal, error) {
	var p Principal
	var clock *time.Time
	err := a.pool.QueryRow(ctx, `
		SELECT k.id, k.organisation_id, k.prefix, k.scopes, o.mode, k.rate_limit_per_minute, o.test_clock
		FROM api_keys k JOIN organisations o ON o.id = k.organisation_id
		WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash).
		Scan(&p.KeyID, &p.OrganisationID, &p.Prefix, &p.Scopes, &p.Mode, &p.RateLimit, &clock)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if clock != nil {
		p.TestClock = *clock
	}
	return &p, nil
}

// InvalidateOrganisation drops every cached key of an organisation, after its keys or its test
// clock changed.
func (a *Authenticator) InvalidateOrganisation(orgID uuid.UUID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for hash, entry := range a.entries {
		if entry.principal.OrganisationID == orgID {
			delete(a.entries, hash)
		}
	}
}

// InvalidateAll empties the cache, for when change notifications may have been missed.
func (a *Authenticator) InvalidateAll() {
	a.mu.Lock()
	clear(a.entries)
	a.mu.Unlock()
}

// Middleware rejects requests without a valid Bearer key (401) and stores the principal.
func (a *Authenticator) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		header := c.Get(fiber.HeaderAuthorization)
		if header == "" {
			return apierr.New(http.StatusUnauthorized, "missing_api_key", "",
				"send your API key as 'Authorization: Bearer sk_live_...' or 'Bearer sk_test_...'")
		}
		scheme, key, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return apierr.New(http.StatusUnauthorized, "invalid_authorization_header", "",
				"the Authorization header must use the Bearer scheme: 'Authorization: Bearer sk_...'")
		}
		key = strings.TrimSpace(key)
		if err := CheckShape(key); err != nil {
			return apierr.New(http.StatusUnauthorized, "invalid_api_key", "",
				"the API key is malformed: a key is sk_live_ or sk_test_ followed by 32 letters and digits; copy the whole key")
		}

		p, err := a.Lookup(c.UserContext(), key)
		if errors.Is(err, ErrUnknownKey) {
			return apierr.New(http.StatusUnauthorized, "invalid_api_key", "",
				"the API key %s... is unknown or has been revoked; create a new key", Prefix(key))
		}
		if err != nil {
			return apierr.Unavailable(5, "the key could not be checked because the database is unreachable; retry shortly")
		}
		c.Locals(principalKey, p)
		c.Locals("key_prefix", p.Prefix)
		return c.Next()
	}
}

// Require rejects a request whose key lacks scope with 403 insufficient_scope.
func Require(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := From(c)
		if p == nil || !p.HasScope(scope) {
			return apierr.New(http.StatusForbidden, "insufficient_scope", "",
				"this request needs the %s scope; create a key that carries it", scope)
		}
		return c.Next()
	}
}

package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/shared/schedule"
)

// Catalogue caches locations by slug and services by id per organisation. Any catalogue change
// of an organisation makes all of that organisation's entries stale.
type Catalogue struct {
	db    schedule.Querier
	store *ristretto.Cache[string, catalogueEntry]
	ttl   time.Duration
	orgs  [stripes]atomic.Uint64
}

type catalogueEntry struct {
	location *schedule.Location
	service  *schedule.Service
	gen      uint64
}

// NewCatalogue returns a catalogue cache reading through db.
func NewCatalogue(db schedule.Querier, ttl time.Duration) (*Catalogue, error) {
	store, err := ristretto.NewCache(&ristretto.Config[string, catalogueEntry]{
		NumCounters: 100_000,
		MaxCost:     10_000,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("create catalogue cache: %w", err)
	}
	return &Catalogue{db: db, store: store, ttl: ttl}, nil
}

// Close stops ristretto's goroutines.
func (c *Catalogue) Close() { c.store.Close() }

func (c *Catalogue) gen(orgID uuid.UUID) *atomic.Uint64 {
	return &c.orgs[stripe(orgID.String())]
}

// InvalidateOrganisation makes every entry of the organisation stale.
func (c *Catalogue) InvalidateOrganisation(orgID uuid.UUID) { c.gen(orgID).Add(1) }

// Purge drops everything.
func (c *Catalogue) Purge() { c.store.Clear() }

// LocationBySlug returns the organisation's location; schedule.ErrNotFound when there is none.
func (c *Catalogue) LocationBySlug(ctx context.Context, orgID uuid.UUID, slug string) (*schedule.Location, error) {
	key := "l/" + orgID.String() + "/" + slug
	gen := c.gen(orgID).Load()
	if e, ok := c.store.Get(key); ok && e.gen == gen && e.location != nil {
		return e.location, nil
	}
	loc, err := schedule.LocationBySlug(ctx, c.db, orgID, slug)
	if err != nil {
		return nil, err
	}
	if c.gen(orgID).Load() == gen {
		c.store.SetWithTTL(key, catalogueEntry{location: loc, gen: gen}, 1, c.ttl)
	}
	return loc, nil
}

// Services returns the organisation's services in the order asked, or a
// *schedule.MissingServiceError.
func (c *Catalogue) Services(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) ([]schedule.Service, error) {
	gen := c.gen(orgID).Load()
	out := make([]schedule.Service, 0, len(ids))
	for _, id := range ids {
		e, ok := c.store.Get("s/" + orgID.String() + "/" + id.String())
		if !ok || e.gen != gen || e.service == nil {
			return c.loadServices(ctx, orgID, ids, gen)
		}
		out = append(out, *e.service)
	}
	return out, nil
}

func (c *Catalogue) loadServices(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID, gen uint64) ([]schedule.Service, error) {
	services, err := schedule.Services(ctx, c.db, orgID, ids)
	if err != nil {
		return nil, err
	}
	if c.gen(orgID).Load() == gen {
		for i := range services {
			s := services[i]
			c.store.SetWithTTL("s/"+orgID.String()+"/"+s.ID.String(), catalogueEntry{service: &s, gen: gen}, 1, c.ttl)
		}
	}
	return services, nil
}

package catalogue

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Service is a bookable service with its price.
type Service struct {
	ID                  uuid.UUID
	Name                string
	DurationMinutes     int
	BufferBeforeMinutes int
	BufferAfterMinutes  int
	PriceMinor          int64
	DepositMinor        int64
	Currency            string
	Active              bool
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// ServiceView is a service's JSON form. Money is in minor units (pence for GBP).
type ServiceView struct {
	ID                  uuid.UUID `json:"id"`
	Name                string    `json:"name"`
	DurationMinutes     int       `json:"duration_minutes"`
	BufferBeforeMinutes int       `json:"buffer_before_minutes"`
	BufferAfterMinutes  int       `json:"buffer_after_minutes"`
	PriceMinor          int64     `json:"price_minor"`
	DepositMinor        int64     `json:"deposit_minor"`
	Currency            string    `json:"currency"`
	Active              bool      `json:"active"`
	CreatedAt           string    `json:"created_at"`
	UpdatedAt           string    `json:"updated_at"`
}

// View renders the service with its times in UTC.
func (s *Service) View() ServiceView {
	return ServiceView{
		ID: s.ID, Name: s.Name, DurationMinutes: s.DurationMinutes, BufferBeforeMinutes: s.BufferBeforeMinutes,
		BufferAfterMinutes: s.BufferAfterMinutes, PriceMinor: s.PriceMinor, DepositMinor: s.DepositMinor,
		Currency: s.Currency, Active: s.Active, CreatedAt: s.CreatedAt.UTC().Format(offsetTime),
		UpdatedAt: s.UpdatedAt.UTC().Format(offsetTime),
	}
}

// ServiceInput creates a service, or with PATCH changes the fields that are set.
type ServiceInput struct {
	Name                *string `json:"name"`
	DurationMinutes     *int    `json:"duration_minutes"`
	BufferBeforeMinutes *int    `json:"buffer_before_minutes"`
	BufferAfterMinutes  *int    `json:"buffer_after_minutes"`
	PriceMinor          *int64  `json:"price_minor"`
	DepositMinor        *int64  `json:"deposit_minor"`
	Currency            *string `json:"currency"`
	Active              *bool   `json:"active"`
}

// Limits of a service's fields; the database checks the same.
const (
	maxDurationMinutes = 720
	maxBufferMinutes   = 240
	maxPriceMinor      = 100_000_000
)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func (in *ServiceInput) apply(s *Service, creating bool) error {
	if creating {
		switch {
		case in.Name == nil:
			return invalid("name", "name is required")
		case in.DurationMinutes == nil:
			return invalid("duration_minutes", "duration_minutes is required, from 1 to %d", maxDurationMinutes)
		}
		s.Currency, s.Active = "GBP", true
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > maxNameLength {
			return invalid("name", "name must be 1 to %d characters", maxNameLength)
		}
		s.Name = name
	}
	if err := setInt(&s.DurationMinutes, in.DurationMinutes, "duration_minutes", 1, maxDurationMinutes); err != nil {
		return err
	}
	if err := setInt(&s.BufferBeforeMinutes, in.BufferBeforeMinutes, "buffer_before_minutes", 0, maxBufferMinutes); err != nil {
		return err
	}
	if err := setInt(&s.BufferAfterMinutes, in.BufferAfterMinutes, "buffer_after_minutes", 0, maxBufferMinutes); err != nil {
		return err
	}
	if in.PriceMinor != nil {
		if *in.PriceMinor < 0 || *in.PriceMinor > maxPriceMinor {
			return invalid("price_minor", "price_minor must be between 0 and %d minor units", maxPriceMinor)
		}
		s.PriceMinor = *in.PriceMinor
	}
	if in.DepositMinor != nil {
		if *in.DepositMinor < 0 {
			return invalid("deposit_minor", "deposit_minor must not be negative")
		}
		s.DepositMinor = *in.DepositMinor
	}
	if s.DepositMinor > s.PriceMinor {
		return invalid("deposit_minor", "deposit_minor %d is more than price_minor %d; a deposit is part of the price", s.DepositMinor, s.PriceMinor)
	}
	if in.Currency != nil {
		if !currencyPattern.MatchString(*in.Currency) {
			return invalid("currency", "currency %q must be an ISO 4217 code in capitals, such as GBP", *in.Currency)
		}
		s.Currency = *in.Currency
	}
	if in.Active != nil {
		s.Active = *in.Active
	}
	return nil
}

const serviceColumns = `id, name, duration_minutes, buffer_before_minutes, buffer_after_minutes, price_minor,
	deposit_minor, currency, active, created_at, updated_at`

func scanService(row pgx.Row) (*Service, error) {
	var s Service
	err := row.Scan(&s.ID, &s.Name, &s.DurationMinutes, &s.BufferBeforeMinutes, &s.BufferAfterMinutes,
		&s.PriceMinor, &s.DepositMinor, &s.Currency, &s.Active, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrServiceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read service: %w", err)
	}
	return &s, nil
}

// Service returns one of the organisation's services, active or not.
func (s *Store) Service(ctx context.Context, orgID, id uuid.UUID) (*Service, error) {
	return scanService(s.pool.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services
		WHERE organisation_id = $1 AND id = $2`, orgID, id))
}

// ServiceFilter narrows a list of services. Zero values do not filter.
type ServiceFilter struct {
	// LocationSlug keeps the services that some staff member performs at that location.
	LocationSlug string
	Active       *bool
}

func (f ServiceFilter) canonical() string {
	active := ""
	if f.Active != nil {
		active = fmt.Sprint(*f.Active)
	}
	return f.LocationSlug + "|" + active
}

// Services lists the organisation's services, oldest first. An unknown location slug is
// ErrLocationNotFound.
func (s *Store) Services(ctx context.Context, orgID uuid.UUID, f ServiceFilter, req PageRequest) (Page[*Service], error) {
	const list = "services"
	after, at, id, err := timeCursor(list, f.canonical(), req.Cursor)
	if err != nil {
		return Page[*Service]{}, err
	}
	var locationID *uuid.UUID
	if f.LocationSlug != "" {
		loc, err := locationBySlug(ctx, s.pool, orgID, f.LocationSlug, false)
		if err != nil {
			return Page[*Service]{}, err
		}
		locationID = &loc.ID
	}
	limit := pageLimit(req.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+serviceColumns+` FROM services sv
		WHERE organisation_id = $1
		AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM staff_services ss WHERE ss.service_id = sv.id AND ss.location_id = $2))
		AND ($3::boolean IS NULL OR active = $3)
		AND (NOT $4 OR (created_at, id) > ($5, $6))
		ORDER BY created_at, id LIMIT $7`,
		orgID, locationID, f.Active, after, at, id, limit+1)
	if err != nil {
		return Page[*Service]{}, fmt.Errorf("list services: %w", err)
	}
	services, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Service, error) { return scanService(r) })
	if err != nil {
		return Page[*Service]{}, fmt.Errorf("list services: %w", err)
	}
	return paginate(services, limit, list, f.canonical(), func(sv *Service) cursor { return timePosition(sv.CreatedAt, sv.ID) }), nil
}

// timeCursor decodes a (created_at, id) position; after is false on the first page.
func timeCursor(list, filters, value string) (after bool, at time.Time, id uuid.UUID, err error) {
	c, err := decodeCursor(list, filters, value)
	if err != nil || value == "" {
		return false, time.Time{}, uuid.Nil, err
	}
	var micros int64
	if _, err := fmt.Sscan(c.key, &micros); err != nil {
		return false, time.Time{}, uuid.Nil, ErrInvalidCursor
	}
	id, err = uuid.Parse(c.id)
	if err != nil {
		return false, time.Time{}, uuid.Nil, ErrInvalidCursor
	}
	return true, time.UnixMicro(micros), id, nil
}

func timePosition(at time.Time, id uuid.UUID) cursor {
	return cursor{key: fmt.Sprint(at.UnixMicro()), id: id.String()}
}

// CreateService adds a service.
func (s *Store) CreateService(ctx context.Context, orgID uuid.UUID, in ServiceInput) (*Service, error) {
	sv := &Service{}
	if err := in.apply(sv, true); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *writeTx) error {
		err := tx.QueryRow(ctx, `INSERT INTO services (organisation_id, name, duration_minutes, buffer_before_minutes,
				buffer_after_minutes, price_minor, deposit_minor, currency, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, created_at, updated_at`,
			orgID, sv.Name, sv.DurationMinutes, sv.BufferBeforeMinutes, sv.BufferAfterMinutes, sv.PriceMinor,
			sv.DepositMinor, sv.Currency, sv.Active).Scan(&sv.ID, &sv.CreatedAt, &sv.UpdatedAt)
		if err != nil {
			return fmt.Errorf("insert service: %w", err)
		}
		return notifyCatalogue(ctx, tx, orgID)
	})
	if err != nil {
		return nil, err
	}
	return sv, nil
}

// UpdateService changes the fields set in in. Existing bookings keep the duration and price
// they were made with; a deactivated service reports its future bookings.
func (s *Store) UpdateService(ctx context.Context, orgID uuid.UUID, now time.Time, id uuid.UUID, in ServiceInput) (*Service, []Stranded, error) {
	var service *Service
	var stranded []Stranded
	err := s.inTx(ctx, func(tx *writeTx) error {
		sv, err := scanService(tx.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services
			WHERE organisation_id = $1 AND id = $2 FOR UPDATE`, orgID, id))
		if err != nil {
			return err
		}
		wasActive := sv.Active
		if err := in.apply(sv, false); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE services SET name = $2, duration_minutes = $3, buffer_before_minutes = $4,
				buffer_after_minutes = $5, price_minor = $6, deposit_minor = $7, currency = $8, active = $9, updated_at = now()
			WHERE id = $1 RETURNING updated_at`, sv.ID, sv.Name, sv.DurationMinutes, sv.BufferBeforeMinutes,
			sv.BufferAfterMinutes, sv.PriceMinor, sv.DepositMinor, sv.Currency, sv.Active).Scan(&sv.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update service: %w", err)
		}
		if wasActive && !sv.Active {
			if stranded, err = findStranded(ctx, tx, orgID, now, strandScope{serviceID: sv.ID}); err != nil {
				return err
			}
		}
		locations, err := serviceLocations(ctx, tx, sv.ID)
		if err != nil {
			return err
		}
		service = sv
		return notifyCatalogue(ctx, tx, orgID, locations...)
	})
	if err != nil {
		return nil, nil, err
	}
	return service, stranded, nil
}

func serviceLocations(ctx context.Context, q querier, serviceID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT location_id FROM staff_services WHERE service_id = $1`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("read service locations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("read service locations: %w", err)
	}
	return ids, nil
}

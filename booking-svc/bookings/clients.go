package bookings

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nyaruka/phonenumbers"
)

// DefaultPhoneRegion is the region assumed for numbers written without a country code.
const DefaultPhoneRegion = "GB"

// ErrInvalidPhone and ErrInvalidEmail mean contact details that cannot be normalised.
var (
	ErrInvalidPhone = errors.New("invalid phone number")
	ErrInvalidEmail = errors.New("invalid e-mail address")
)

// NormalisePhone returns the number in E.164, reading national numbers as UK ones. It accepts
// any number of a possible length for its country, not only allocated ranges, so Ofcom's
// drama numbers (07700 900xxx) work in tests and demos.
func NormalisePhone(raw string) (string, error) {
	num, err := phonenumbers.Parse(raw, DefaultPhoneRegion)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", ErrInvalidPhone
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NormaliseEmail trims the address and checks its form; matching ignores case.
func NormaliseEmail(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Address != raw || addr.Name != "" {
		return "", ErrInvalidEmail
	}
	return raw, nil
}

// resolveClient returns the booking's client id. An existing id must belong to the
// organisation. Inline details match an existing client by normalised phone first, then by
// e-mail ignoring case; when neither matches, a new client is created. Details of a matched
// client are not overwritten. in is nil for a booking without a client.
func resolveClient(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, in *ClientInput) (*uuid.UUID, error) {
	if in == nil {
		return nil, nil
	}
	if in.ID != nil {
		var exists bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE organisation_id = $1 AND id = $2 AND erased_at IS NULL)`,
			orgID, *in.ID).Scan(&exists)
		if err != nil {
			return nil, fmt.Errorf("read client: %w", err)
		}
		if !exists {
			return nil, ErrClientNotFound
		}
		return in.ID, nil
	}

	for attempt := 0; attempt < 2; attempt++ {
		if id, err := matchClient(ctx, tx, orgID, in.Phone, in.Email); err != nil || id != nil {
			return id, err
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `INSERT INTO clients (organisation_id, name, phone, email)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''))
			ON CONFLICT DO NOTHING RETURNING id`, orgID, in.Name, in.Phone, in.Email).Scan(&id)
		if err == nil {
			return &id, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("create client: %w", err)
		}
		// A concurrent transaction created the same client; match it on the next pass.
	}
	return nil, errors.New("create client: the matching client vanished while it was being created")
}

func matchClient(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, phone, email string) (*uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM (
			SELECT id, 0 AS rank FROM clients
			WHERE organisation_id = $1 AND erased_at IS NULL AND phone = NULLIF($2, '')
			UNION ALL
			SELECT id, 1 FROM clients
			WHERE organisation_id = $1 AND erased_at IS NULL AND lower(email) = lower(NULLIF($3, ''))
		) matches ORDER BY rank LIMIT 1`, orgID, phone, email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("match client: %w", err)
	}
	return &id, nil
}

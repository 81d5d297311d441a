package bookings

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Client is a client of an organisation. After erasure the personal fields are nil and
// ErasedAt is set; the record stays so that the client's bookings keep their client_id.
type Client struct {
	ID        uuid.UUID
	Name      *string
	Phone     *string // E.164
	Email     *string
	Notes     *string
	ErasedAt  *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewClient is a validated request to create a client: Phone in E.164 and Email trimmed. Empty
// fields are stored as absent; Phone and Email must not both be empty.
type NewClient struct {
	Name, Phone, Email, Notes string
}

// Optional is one field of a partial update. Set records whether the caller sent the field,
// and a nil Value with Set clears it.
type Optional struct {
	Set   bool
	Value *string
}

// ClientPatch is a validated partial update; fields that are not Set stay as they are.
type ClientPatch struct {
	Name, Phone, Email, Notes Optional
}

// ClientFilter narrows a client list; empty fields do not filter. Phone is E.164 and Email
// matches ignoring case.
type ClientFilter struct {
	Phone, Email string
}

// ErrClientContactRequired means a change would leave a client with neither phone nor e-mail.
var ErrClientContactRequired = errors.New("a client needs a phone number or an e-mail address")

const clientColumns = `id, name, phone, email, notes, erased_at, created_at, updated_at`

func scanClient(row pgx.Row) (*Client, error) {
	var c Client
	err := row.Scan(&c.ID, &c.Name, &c.Phone, &c.Email, &c.Notes, &c.ErasedAt, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrClientNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read client: %w", err)
	}
	return &c, nil
}

// CreateClient adds a client. A phone number or e-mail address that another client of the
// organisation already has is a *ClientExistsError naming that client.
func (s *Store) CreateClient(ctx context.Context, orgID uuid.UUID, in NewClient) (*Client, error) {
	if in.Phone == "" && in.Email == "" {
		return nil, ErrClientContactRequired
	}
	for range 2 {
		c, err := scanClient(s.pool.QueryRow(ctx, `INSERT INTO clients (organisation_id, name, phone, email, notes)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''))
			ON CONFLICT DO NOTHING RETURNING `+clientColumns, orgID, in.Name, in.Phone, in.Email, in.Notes))
		if !errors.Is(err, ErrClientNotFound) {
			return c, err
		}
		// The insert met a unique index: find the client that holds the phone or e-mail.
		exists, err := s.clientHolding(ctx, orgID, uuid.Nil, in.Phone, in.Email)
		if err != nil {
			return nil, err
		}
		if exists != nil {
			return nil, exists
		}
		// That client changed its details in between; try the insert again.
	}
	return nil, errors.New("create client: a concurrent change kept taking the same phone or e-mail")
}

// clientHolding returns which client of the organisation other than except holds the phone
// number, else the e-mail address, or nil when none does. Empty values match nothing.
func (s *Store) clientHolding(ctx context.Context, orgID, except uuid.UUID, phone, email string) (*ClientExistsError, error) {
	var id uuid.UUID
	var samePhone bool
	err := s.pool.QueryRow(ctx, `SELECT id, coalesce(phone = NULLIF($3, ''), false) FROM clients
		WHERE organisation_id = $1 AND id <> $2 AND (phone = NULLIF($3, '') OR lower(email) = lower(NULLIF($4, '')))
		ORDER BY 2 DESC LIMIT 1`, orgID, except, phone, email).Scan(&id, &samePhone)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find client with the same contact details: %w", err)
	}
	field := "email"
	if samePhone {
		field = "phone"
	}
	return &ClientExistsError{ID: id, Field: field}, nil
}

// GetClient returns a client of the organisation, erased or not.
func (s *Store) GetClient(ctx context.Context, orgID, id uuid.UUID) (*Client, error) {
	return scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients
		WHERE organisation_id = $1 AND id = $2`, orgID, id))
}

// UpdateClient applies a partial update. It returns ErrClientErased for an erased client and
// ErrClientContactRequired when the change leaves neither phone nor e-mail. A phone or e-mail
// that another client holds is a *ClientExistsError.
func (s *Store) UpdateClient(ctx context.Context, orgID, id uuid.UUID, patch ClientPatch) (*Client, error) {
	var client *Client
	err := s.inTx(ctx, func(tx *writeTx) error {
		c, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients
			WHERE organisation_id = $1 AND id = $2 FOR UPDATE`, orgID, id))
		if err != nil {
			return err
		}
		if c.ErasedAt != nil {
			return ErrClientErased
		}
		for _, f := range []struct {
			patch Optional
			field **string
		}{{patch.Name, &c.Name}, {patch.Phone, &c.Phone}, {patch.Email, &c.Email}, {patch.Notes, &c.Notes}} {
			if f.patch.Set {
				*f.field = f.patch.Value
			}
		}
		if c.Phone == nil && c.Email == nil {
			return ErrClientContactRequired
		}

		client, err = scanClient(tx.QueryRow(ctx, `UPDATE clients SET name = $3, phone = $4, email = $5, notes = $6,
				updated_at = now()
			WHERE organisation_id = $1 AND id = $2 RETURNING `+clientColumns, orgID, id, c.Name, c.Phone, c.Email, c.Notes))
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return nil, s.clientConflict(ctx, orgID, id, patch)
	}
	return client, err
}

// clientConflict names the client that holds a phone or e-mail that an update of client id
// tried to take.
func (s *Store) clientConflict(ctx context.Context, orgID, id uuid.UUID, patch ClientPatch) error {
	value := func(o Optional) string {
		if o.Value == nil {
			return ""
		}
		return *o.Value
	}
	exists, err := s.clientHolding(ctx, orgID, id, value(patch.Phone), value(patch.Email))
	if err != nil {
		return err
	}
	if exists == nil {
		return errors.New("update client: the client holding the same phone or e-mail changed it in between; retry")
	}
	return exists
}

// EraseClient removes the client's personal data: name, phone, e-mail and notes, and the notes
// of the client's bookings, including those inside stored webhook events. The bookings
// themselves stay, for the shop's records, and keep the client's id. Erasing an erased client
// changes nothing and returns it.
func (s *Store) EraseClient(ctx context.Context, orgID uuid.UUID, now time.Time, id uuid.UUID) (*Client, error) {
	var client *Client
	err := s.inTx(ctx, func(tx *writeTx) error {
		var err error
		client, err = scanClient(tx.QueryRow(ctx, `UPDATE clients SET name = NULL, phone = NULL, email = NULL, notes = NULL,
				erased_at = coalesce(erased_at, $3), updated_at = CASE WHEN erased_at IS NULL THEN now() ELSE updated_at END
			WHERE organisation_id = $1 AND id = $2 RETURNING `+clientColumns, orgID, id, now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE bookings SET notes = '' WHERE organisation_id = $1 AND client_id = $2 AND notes <> ''`,
			orgID, id); err != nil {
			return fmt.Errorf("erase notes of client %s's bookings: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox_events SET payload = jsonb_set(payload, '{notes}', '""')
			WHERE organisation_id = $1 AND booking_id IN (SELECT id FROM bookings WHERE organisation_id = $1 AND client_id = $2)
			AND payload ->> 'notes' <> ''`, orgID, id); err != nil {
			return fmt.Errorf("erase notes in events of client %s's bookings: %w", id, err)
		}
		return nil
	})
	return client, err
}

// clientList names the client list in its cursors.
const clientList = "c1"

// ListClients returns one page of the organisation's clients that are not erased and match f,
// oldest first, ordered by creation time and then id.
func (s *Store) ListClients(ctx context.Context, orgID uuid.UUID, f ClientFilter, page PageRequest) (Page[*Client], error) {
	filters := f.Phone + "|" + strings.ToLower(f.Email)
	args := []any{orgID}
	conds := []string{"organisation_id = $1", "erased_at IS NULL"}
	add := func(cond string, values ...any) {
		for _, v := range values {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if f.Phone != "" {
		add("phone = ?", f.Phone)
	}
	if f.Email != "" {
		add("lower(email) = lower(?)", f.Email)
	}
	if page.Cursor != "" {
		after, err := decodeCursor(clientList, filters, page.Cursor)
		if err != nil {
			return Page[*Client]{}, err
		}
		add("(created_at, id) > (?, ?)", after.at, after.id)
	}

	limit := pageLimit(page.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY created_at, id LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return Page[*Client]{}, fmt.Errorf("list clients: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Client, error) { return scanClient(r) })
	if err != nil {
		return Page[*Client]{}, fmt.Errorf("list clients: %w", err)
	}
	result := Page[*Client]{Items: list}
	if len(list) > limit {
		result.Items, result.HasMore = list[:limit], true
		last := result.Items[limit-1]
		result.NextCursor = encodeCursor(clientList, filters, position{at: last.CreatedAt, id: last.ID})
	}
	return result, nil
}

package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
)

// Lists are ordered newest first by (created_at, id); a cursor names the last row of a page.

// Limits on a page of a list.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// Page is a request for one page of a list. After is nil for the first page.
type Page struct {
	Limit int
	After *Cursor
}

// Cursor is a position in a list: the creation time and id of the last row returned.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

type cursorJSON struct {
	// List names the list and a digest of its filters, so a cursor is rejected on another list
	// or with other filters, where its position would mean something else.
	List      string    `json:"l"`
	CreatedAt int64     `json:"t"`
	ID        uuid.UUID `json:"id"`
}

func listKey(list, filters string) string {
	h := fnv.New32a()
	h.Write([]byte(filters))
	return fmt.Sprintf("%s:%08x", list, h.Sum32())
}

// ErrMalformedCursor means a cursor was not one that a list returned.
var ErrMalformedCursor = errors.New("malformed cursor")

// Encode returns the opaque form clients send back as ?cursor=. list names the list and filters
// is a canonical form of its filters.
func (c Cursor) Encode(list, filters string) string {
	data, _ := json.Marshal(cursorJSON{List: listKey(list, filters), CreatedAt: c.CreatedAt.UnixMicro(), ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodeCursor parses a cursor that Encode made for the same list and filters.
func DecodeCursor(list, filters, s string) (*Cursor, error) {
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrMalformedCursor
	}
	var c cursorJSON
	if err := json.Unmarshal(data, &c); err != nil || c.List != listKey(list, filters) || c.ID == uuid.Nil || c.CreatedAt <= 0 {
		return nil, ErrMalformedCursor
	}
	return &Cursor{CreatedAt: time.UnixMicro(c.CreatedAt), ID: c.ID}, nil
}

// pageOf trims a result fetched with limit+1 rows and returns the cursor of the next page, or
// nil when this page is the last.
func pageOf[T any](rows []T, limit int, key func(T) Cursor) ([]T, *Cursor) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := key(rows[limit-1])
	return rows, &next
}

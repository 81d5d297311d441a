package bookings

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Limits of a page.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageRequest is a request for one page of a list. Cursor is empty for the first page, else the
// NextCursor of the page before, issued for the same list and filters.
type PageRequest struct {
	Limit  int
	Cursor string
}

// Page is one page of a list in its stable order. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
	HasMore    bool
}

// position is a keyset position: the sort key of the last row of the page before.
type position struct {
	at time.Time
	id uuid.UUID
}

// encodeCursor makes an opaque cursor. list names the list and filters is a canonical form of
// its filters, so that a cursor is rejected on another list or with other filters, where its
// position would mean something else.
func encodeCursor(list, filters string, p position) string {
	raw := fmt.Sprintf("%s.%08x.%d.%s", list, filterDigest(filters), p.at.UnixMicro(), p.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a cursor made by encodeCursor for the same list and filters. Any other
// input is ErrInvalidCursor.
func decodeCursor(list, filters, cursor string) (position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return position{}, ErrInvalidCursor
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[0] != list || parts[1] != fmt.Sprintf("%08x", filterDigest(filters)) {
		return position{}, ErrInvalidCursor
	}
	micros, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return position{}, ErrInvalidCursor
	}
	id, err := uuid.Parse(parts[3])
	if err != nil || len(parts[3]) != 36 {
		return position{}, ErrInvalidCursor
	}
	return position{at: time.UnixMicro(micros), id: id}, nil
}

func filterDigest(filters string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(filters))
	return h.Sum32()
}

// pageLimit returns the limit asked for, or the default when it is not positive, capped at
// MaxPageSize. Callers validate limits they take from users.
func pageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	default:
		return limit
	}
}

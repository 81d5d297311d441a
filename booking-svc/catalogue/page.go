package catalogue

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// Limits of a page, the same for every list of the API.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ErrInvalidCursor means a cursor was not issued for this list and these filters.
var ErrInvalidCursor = errors.New("invalid cursor")

// PageRequest selects one page. Cursor is empty for the first page, else the NextCursor of the
// page before, issued for the same list and filters.
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

// cursor is a keyset position: the sort key and id of the last row of the page before.
type cursor struct {
	key string
	id  string
}

// encodeCursor makes an opaque cursor. list names the list and filters is a canonical form of
// its filters, so that a cursor is rejected on another list or with other filters, where its
// position would mean something else.
func encodeCursor(list, filters string, c cursor) string {
	raw := fmt.Sprintf("%s\x1f%08x\x1f%s\x1f%s", list, digest(filters), c.key, c.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(list, filters, value string) (cursor, error) {
	if value == "" {
		return cursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return cursor{}, ErrInvalidCursor
	}
	parts := strings.Split(string(raw), "\x1f")
	if len(parts) != 4 || parts[0] != list || parts[1] != fmt.Sprintf("%08x", digest(filters)) {
		return cursor{}, ErrInvalidCursor
	}
	return cursor{key: parts[2], id: parts[3]}, nil
}

func digest(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

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

// paginate trims rows, which were read with one row more than the limit, to a page and makes
// the cursor from the last row kept.
func paginate[T any](rows []T, limit int, list, filters string, position func(T) cursor) Page[T] {
	page := Page[T]{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.HasMore = true
		page.NextCursor = encodeCursor(list, filters, position(rows[limit-1]))
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	return page
}

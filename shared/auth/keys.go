// Package auth issues and checks API keys. A key is "sk_live_" or "sk_test_" followed by 32
// random base62 characters (about 190 bits). Only its SHA-256 is stored: a fast hash is enough
// because the key is random, not a password a person chose.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
)

// Scopes every key may carry. Each endpoint names the one it needs.
const (
	ScopeAvailabilityRead = "availability:read"
	ScopeCatalogRead      = "catalog:read"
	ScopeCatalogWrite     = "catalog:write"
	ScopeBookingsRead     = "bookings:read"
	ScopeBookingsWrite    = "bookings:write"
	ScopeClientsRead      = "clients:read"
	ScopeClientsWrite     = "clients:write"
	ScopeWebhooksRead     = "webhooks:read"
	ScopeWebhooksWrite    = "webhooks:write"
)

// AllScopes lists every scope in a stable order.
var AllScopes = []string{
	ScopeAvailabilityRead, ScopeCatalogRead, ScopeCatalogWrite, ScopeBookingsRead, ScopeBookingsWrite,
	ScopeClientsRead, ScopeClientsWrite, ScopeWebhooksRead, ScopeWebhooksWrite,
}

// Modes of an organisation and of its keys.
const (
	ModeLive = "live"
	ModeTest = "test"
)

const (
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLength  = 32
	prefixRandom  = 8 // random characters kept in the displayed prefix
	liveKeyPrefix = "sk_live_"
	testKeyPrefix = "sk_test_"
)

// ErrMalformedKey means a presented key does not have the shape of a Setora key.
var ErrMalformedKey = errors.New("malformed API key")

// NewKey returns a fresh secret key for the mode, its display prefix and its hash.
func NewKey(mode string) (key, prefix string, hash []byte, err error) {
	start := testKeyPrefix
	if mode == ModeLive {
		start = liveKeyPrefix
	}
	var b strings.Builder
	b.WriteString(start)
	limit := big.NewInt(int64(len(base62)))
	for range randomLength {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", "", nil, err
		}
		b.WriteByte(base62[n.Int64()])
	}
	key = b.String()
	return key, Prefix(key), Hash(key), nil
}

// Prefix is the non-secret start of a key that listings and logs show.
func Prefix(key string) string {
	return key[:len(liveKeyPrefix)+prefixRandom]
}

// Hash is the stored form of a key.
func Hash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// CheckShape reports whether key looks like a Setora key, before any database lookup.
func CheckShape(key string) error {
	var rest string
	switch {
	case strings.HasPrefix(key, liveKeyPrefix):
		rest = key[len(liveKeyPrefix):]
	case strings.HasPrefix(key, testKeyPrefix):
		rest = key[len(testKeyPrefix):]
	default:
		return ErrMalformedKey
	}
	if len(rest) != randomLength {
		return ErrMalformedKey
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(base62, rune(rest[i])) {
			return ErrMalformedKey
		}
	}
	return nil
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool {
	for _, known := range AllScopes {
		if s == known {
			return true
		}
	}
	return false
}

// Package signature signs webhook requests and verifies them the way integrators are told to.
//
// A signed request carries one header:
//
//	Setora-Signature: t=1767225600,v1=5f0c…,v1=9a41…
//
// t is the signing time in Unix seconds. Each v1 is the lowercase hex HMAC-SHA256, keyed with a
// whole endpoint secret (including its "whsec_" prefix), of the bytes of t, a full stop and the
// raw request body. While a rotated secret is still valid the header carries one v1 per secret.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header is the name of the signature header.
const Header = "Setora-Signature"

// DefaultTolerance is how far the signing time may lie from the receiver's clock, in either
// direction, before Verify rejects the request as a replay.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns; each means the request must be rejected.
var (
	ErrMalformedHeader = errors.New("signature header is missing or malformed")
	ErrTimestamp       = errors.New("signature timestamp is outside the tolerance")
	ErrNoMatch         = errors.New("no signature matches the body and secret")
)

// Compute returns the hex HMAC-SHA256 of "timestamp.body" keyed with secret.
func Compute(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Sign returns the header value for body signed at the given time with every secret, in the
// order given. Empty secrets are skipped.
func Sign(body []byte, at time.Time, secrets ...string) string {
	timestamp := at.Unix()
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(timestamp, 10))
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		b.WriteString(",v1=")
		b.WriteString(Compute(secret, timestamp, body))
	}
	return b.String()
}

// Verify checks a request against one secret: the header must parse, its timestamp must lie
// within tolerance of now, and one of its v1 signatures must equal the HMAC of the raw body.
// Pass the body exactly as received, before any JSON decoding.
func Verify(body []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	timestamp, signatures, err := parse(header)
	if err != nil {
		return err
	}
	age := now.Sub(time.Unix(timestamp, 0))
	if age > tolerance || age < -tolerance {
		return ErrTimestamp
	}
	expected := []byte(Compute(secret, timestamp, body))
	for _, sig := range signatures {
		if hmac.Equal(expected, []byte(sig)) {
			return nil
		}
	}
	return ErrNoMatch
}

// parse reads "t=<seconds>,v1=<hex>[,v1=<hex>…]". Unknown schemes are ignored so that a later
// scheme can be added beside v1 without breaking old receivers.
func parse(header string) (int64, []string, error) {
	var timestamp int64
	var haveTimestamp bool
	var signatures []string
	for _, part := range strings.Split(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, ErrMalformedHeader
		}
		switch key {
		case "t":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || haveTimestamp {
				return 0, nil, ErrMalformedHeader
			}
			timestamp, haveTimestamp = n, true
		case "v1":
			signatures = append(signatures, value)
		}
	}
	if !haveTimestamp || len(signatures) == 0 {
		return 0, nil, ErrMalformedHeader
	}
	return timestamp, signatures, nil
}

package signature_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/setora/rest/booking-svc/webhooks/signature"
)

const secret = "whsec_0123456789abcdefghijABCDEFGHIJ0123456789"

var (
	body     = []byte(`{"id":"8c5820c4-5655-40ae-8c53-d16b4d54f517","type":"booking.created","sequence":1}`)
	signedAt = time.Unix(1_796_419_655, 0)
)

func TestVerifyAcceptsFreshSignature(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	if err := signature.Verify(body, header, secret, signature.DefaultTolerance, signedAt.Add(4*time.Minute)); err != nil {
		t.Fatalf("Verify(fresh signature) = %v, want nil", err)
	}
}

func TestVerifyRejectsTamperedBody(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	tampered := []byte(strings.Replace(string(body), `"sequence":1`, `"sequence":9`, 1))
	err := signature.Verify(tampered, header, secret, signature.DefaultTolerance, signedAt)
	if !errors.Is(err, signature.ErrNoMatch) {
		t.Fatalf("Verify(tampered body) = %v, want ErrNoMatch", err)
	}
}

func TestVerifyRejectsReformattedBody(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	reformatted := []byte(strings.ReplaceAll(string(body), `,"`, `, "`))
	err := signature.Verify(reformatted, header, secret, signature.DefaultTolerance, signedAt)
	if !errors.Is(err, signature.ErrNoMatch) {
		t.Fatalf("Verify(re-encoded JSON) = %v, want ErrNoMatch: only the raw body verifies", err)
	}
}

func TestVerifyRejectsOldTimestamp(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	err := signature.Verify(body, header, secret, signature.DefaultTolerance, signedAt.Add(5*time.Minute+time.Second))
	if !errors.Is(err, signature.ErrTimestamp) {
		t.Fatalf("Verify(6 minutes later) = %v, want ErrTimestamp", err)
	}
}

func TestVerifyRejectsFutureTimestamp(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	err := signature.Verify(body, header, secret, signature.DefaultTolerance, signedAt.Add(-6*time.Minute))
	if !errors.Is(err, signature.ErrTimestamp) {
		t.Fatalf("Verify(signed 6 minutes ahead) = %v, want ErrTimestamp", err)
	}
}

func TestVerifyRejectsReplayedSignatureWithNewTimestamp(t *testing.T) {
	// An attacker who saw an old request cannot refresh its timestamp: the signature covers it.
	old := signature.Sign(body, signedAt, secret)
	v1 := old[strings.Index(old, "v1="):]
	now := signedAt.Add(time.Hour)
	forged := fmt.Sprintf("t=%d,%s", now.Unix(), v1)
	err := signature.Verify(body, forged, secret, signature.DefaultTolerance, now)
	if !errors.Is(err, signature.ErrNoMatch) {
		t.Fatalf("Verify(old signature with new t) = %v, want ErrNoMatch", err)
	}
}

func TestVerifyRejectsWrongSecret(t *testing.T) {
	header := signature.Sign(body, signedAt, secret)
	err := signature.Verify(body, header, "whsec_another", signature.DefaultTolerance, signedAt)
	if !errors.Is(err, signature.ErrNoMatch) {
		t.Fatalf("Verify(wrong secret) = %v, want ErrNoMatch", err)
	}
}

func TestVerifyAcceptsEitherSecretDuringRotation(t *testing.T) {
	const newSecret = "whsec_new0123456789abcdefghijABCDEFGHIJ012345"
	header := signature.Sign(body, signedAt, newSecret, secret)
	if got := strings.Count(header, "v1="); got != 2 {
		t.Fatalf("header %q has %d v1 signatures, want 2", header, got)
	}
	for _, s := range []string{newSecret, secret} {
		if err := signature.Verify(body, header, s, signature.DefaultTolerance, signedAt); err != nil {
			t.Errorf("Verify(secret %s...) = %v, want nil", s[:10], err)
		}
	}
}

func TestSignSkipsEmptySecret(t *testing.T) {
	header := signature.Sign(body, signedAt, secret, "")
	if got := strings.Count(header, "v1="); got != 1 {
		t.Fatalf("header %q has %d v1 signatures, want 1", header, got)
	}
}

func TestVerifyRejectsMalformedHeaders(t *testing.T) {
	valid := signature.Sign(body, signedAt, secret)
	v1 := valid[strings.Index(valid, "v1="):]
	for _, header := range []string{
		"",
		v1,
		"t=1796419655",
		"t=soon," + v1,
		"t=1796419655,t=1796419656," + v1,
		"garbage",
	} {
		err := signature.Verify(body, header, secret, signature.DefaultTolerance, signedAt)
		if !errors.Is(err, signature.ErrMalformedHeader) {
			t.Errorf("Verify(header %q) = %v, want ErrMalformedHeader", header, err)
		}
	}
}

func TestVerifyIgnoresUnknownSchemes(t *testing.T) {
	header := signature.Sign(body, signedAt, secret) + ",v2=abcdef"
	if err := signature.Verify(body, header, secret, signature.DefaultTolerance, signedAt); err != nil {
		t.Fatalf("Verify(header with an unknown scheme) = %v, want nil", err)
	}
}

func TestComputeMatchesOpenSSL(t *testing.T) {
	// printf '1796419655.{"ok":true}' | openssl dgst -sha256 -hmac whsec_test
	const want = "88f4d87f2fecc6c17df3c2819a7e257a551838e8f4cb37218d67aabdf2d410b0"
	if got := signature.Compute("whsec_test", 1_796_419_655, []byte(`{"ok":true}`)); got != want {
		t.Fatalf("Compute = %s, want %s", got, want)
	}
}

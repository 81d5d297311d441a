package e2e

import (
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/setora/rest/shared/dbtest"
)

// demoOrganisation is the demo shop's fixed organisation id.
const demoOrganisation = "0d3e5f7a-2b4c-4d6e-8f10-3a5b7c9d1e2f"

// TestRateLimitAcrossThreeReplicas sends one key's requests to three availability-svc
// processes in turn, all sharing the Redis that `make test` starts: the key gets its limit once
// in all, not once per replica, and booking-svc counts against the same allowance.
func TestRateLimitAcrossThreeReplicas(t *testing.T) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set; `make test` starts a private Redis for this test")
	}
	// A loaded test machine can take longer than the production 100ms for a Redis round trip;
	// a timed-out check would be counted in one replica alone.
	slowRedis := "REDIS_TIMEOUT=2s"
	s := startStack(t, slowRedis)
	// At 10 requests a minute a request is earned back every 6 seconds.
	const perMinute = 10
	key := s.newKey(demoOrganisation, "availability:read,catalog:read", perMinute)

	reader := dbtest.ReaderURL(t, s.dbURL)
	second, _, _ := startAvailability(t, reader, slowRedis)
	third, _, _ := startAvailability(t, reader, slowRedis)
	replicas := []string{s.availURL, second, third}

	start := time.Now()
	var allowed, limited int
	lastRemaining := perMinute
	for i := range 2 * perMinute {
		r := s.fromReplica(replicas[i%3], key, documentedQuery)
		switch r.Status {
		case http.StatusOK:
			allowed++
			remaining, err := strconv.Atoi(r.Header.Get("RateLimit-Remaining"))
			if err != nil {
				t.Fatalf("request %d: RateLimit-Remaining %q", i+1, r.Header.Get("RateLimit-Remaining"))
			}
			// Each replica sees the count the others left, so it falls by one per request
			// wherever the request lands (or stays level when a request was earned back).
			if remaining >= lastRemaining && i > 0 {
				t.Errorf("request %d on replica %d: remaining %d after %d", i+1, i%3+1, remaining, lastRemaining)
			}
			lastRemaining = remaining
		case http.StatusTooManyRequests:
			limited++
			if r.errorField("code") != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without its code or Retry-After: %v %s", r.Header, r.Raw)
			}
			if r.Header.Get("X-RateLimit-Remaining") != "0" {
				t.Errorf("429 with X-RateLimit-Remaining %q", r.Header.Get("X-RateLimit-Remaining"))
			}
		default:
			t.Fatalf("request %d: status %d, body %s", i+1, r.Status, r.Raw)
		}
	}
	earned := int(time.Since(start) / (time.Minute / perMinute))
	if allowed < perMinute || allowed > perMinute+earned {
		t.Errorf("allowed %d of %d requests over three replicas in %v, want %d (plus %d earned back)",
			allowed, 2*perMinute, time.Since(start).Round(time.Millisecond), perMinute, earned)
	}
	if limited == 0 {
		t.Error("no request was limited")
	}

	// booking-svc shares the allowance: the same key is limited there too.
	r := s.as(key, "GET", "/v1/locations", nil)
	if r.Status != http.StatusTooManyRequests {
		t.Errorf("booking-svc answered %d to a key over its limit, want 429", r.Status)
	}
}

// fromReplica sends an availability request with key straight to one replica.
func (s *stack) fromReplica(base, key, path string) response {
	s.t.Helper()
	saved := s.baseURL
	s.baseURL = base
	defer func() { s.baseURL = saved }()
	return s.as(key, "GET", path, nil)
}

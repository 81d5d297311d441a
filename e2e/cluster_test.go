package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/setora/rest/internal/proctest"
	"github.com/setora/rest/shared/dbtest"
)

// getFrom sends an availability request straight to one replica, bypassing the gateway.
func (s *stack) getFrom(base, path string) response {
	s.t.Helper()
	saved := s.baseURL
	s.baseURL = base
	defer func() { s.baseURL = saved }()
	return s.call("GET", path, nil)
}

// TestThreeReplicas is the local stand-in for the Deployment: three availability-svc
// processes behind the gateway. A booking made through booking-svc is evicted from all three,
// and killing one replica mid-load loses no request that the others could serve.
func TestThreeReplicas(t *testing.T) {
	s := startStack(t)
	// The load below is far above the default 120 requests a minute; this test is about
	// replicas, not rate limits.
	if _, err := s.pool.Exec(context.Background(), `UPDATE api_keys SET rate_limit_per_minute = 100000`); err != nil {
		t.Fatalf("raise rate limit: %v", err)
	}
	s.setClock("2026-05-11T12:00:00+01:00")
	reader := dbtest.ReaderURL(t, s.dbURL)

	replicas := []string{s.availURL}
	var victim *proctest.Process
	for i := 0; i < 2; i++ {
		port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
		victim = bins.Start(t, "availability-svc", []string{
			"DATABASE_URL=" + reader, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
			fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", adminPort), "SHUTDOWN_DRAIN=0s",
		}, fmt.Sprintf("http://127.0.0.1:%d/readyz", adminPort))
		replicas = append(replicas, fmt.Sprintf("http://127.0.0.1:%d", port))
	}
	gatewayPort := proctest.FreePort(t)
	gateway := fmt.Sprintf("http://127.0.0.1:%d", gatewayPort)
	bins.Start(t, "gateway", nil, gateway+"/v1/bookings/none",
		"-listen", fmt.Sprintf("127.0.0.1:%d", gatewayPort),
		"-availability", replicas[0]+","+replicas[1]+","+replicas[2], "-booking", s.bookURL)

	query := documentedQuery + "&staff_id=" + marcus
	target := "2026-05-12T09:00:00+01:00"
	for i, r := range replicas {
		if !hasStart(slotsOf(t, s.getFrom(r, query)), target, marcus) {
			t.Fatalf("replica %d does not offer %s before the booking", i, target)
		}
	}

	s.baseURL = gateway
	created := s.call("POST", "/v1/bookings", map[string]any{
		"location_slug": "soho", "service_ids": []string{classicCut}, "starts_at": target, "staff_id": marcus,
	})
	if created.Status != http.StatusCreated {
		t.Fatalf("create status = %d, body %s", created.Status, created.Raw)
	}
	for i, r := range replicas {
		if hasStart(slotsOf(t, s.getFrom(r, query)), target, marcus) {
			t.Errorf("replica %d still offers %s after the booking", i, target)
		}
	}

	// Load through the gateway while one replica is killed outright.
	const requests, workers = 400, 4
	var sent, failed atomic.Int32
	var wg sync.WaitGroup
	killed := make(chan struct{})
	var killOnce sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= requests {
				if sent.Load() > requests/4 {
					killOnce.Do(func() {
						if err := victim.Kill(); err != nil {
							t.Errorf("kill replica: %v", err)
						}
						close(killed)
					})
				}
				req, _ := http.NewRequest("GET", gateway+query, nil)
				req.Header.Set("Authorization", "Bearer "+s.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	<-killed
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while a replica was killed", n, requests)
	}
}

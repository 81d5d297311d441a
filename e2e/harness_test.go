// Package e2e runs the built binaries of both services and the local gateway against a fresh
// PostgreSQL database and drives them over HTTP, as an integrator would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/internal/proctest"
	"github.com/setora/rest/shared/dbtest"
)

// bins are the binaries that TestMain builds once for every test.
var bins proctest.Binaries

func TestMain(m *testing.M) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		fmt.Println("TEST_DATABASE_URL is not set; skipping the end-to-end tests (run `make test`)")
		os.Exit(0)
	}
	os.Exit(proctest.BuildAndRun(&bins, func() int {
		contract := installContract()
		code := m.Run()
		if contract.report() > 0 && code == 0 {
			code = 1
		}
		return code
	}, proctest.AvailabilitySvc, proctest.BookingSvc, proctest.Gateway))
}

// stack is one running copy of the product on its own database.
type stack struct {
	t        *testing.T
	dbURL    string
	pool     *pgxpool.Pool
	key      string
	baseURL  string // the gateway, as clients see it
	availURL string
	bookURL  string
	// availAdminURL and bookAdminURL serve each service's /metrics, /healthz and /readyz.
	availAdminURL string
	bookAdminURL  string
	// logFiles are the files the started processes write their output to, by process name.
	logFiles map[string]string
}

// startStack migrates a fresh database, loads the demo shop and starts both services and the
// gateway on free ports. env adds variables such as OTEL_TRACES_EXPORTER=console to both
// services' environment.
func startStack(t *testing.T, env ...string) *stack {
	t.Helper()
	dbURL := dbtest.New(t)
	s := &stack{t: t, dbURL: dbURL, logFiles: map[string]string{}}

	bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + dbURL}, "migrate")
	s.key = strings.TrimSpace(bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + dbURL}, "demo"))

	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	s.pool = pool
	// The demo key is for every test; rate limits have tests of their own with their own keys.
	if _, err := pool.Exec(context.Background(), `UPDATE api_keys SET rate_limit_per_minute = 100000`); err != nil {
		t.Fatalf("raise the demo key's rate limit: %v", err)
	}

	bookPort, bookAdmin := proctest.FreePort(t), proctest.FreePort(t)
	s.bookURL = fmt.Sprintf("http://127.0.0.1:%d", bookPort)
	s.bookAdminURL = fmt.Sprintf("http://127.0.0.1:%d", bookAdmin)
	booking := bins.Start(t, "booking-svc", append([]string{
		"DATABASE_URL=" + dbURL, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", bookPort),
		fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", bookAdmin), "SHUTDOWN_DRAIN=0s", "HOLD_SWEEP_INTERVAL=200ms",
	}, env...), s.bookAdminURL+"/readyz", "serve")
	s.logFiles["booking-svc"] = booking.LogPath

	s.availURL, s.availAdminURL, s.logFiles["availability-svc"] = startAvailability(t, dbtest.ReaderURL(t, dbURL), env...)

	gatewayPort := proctest.FreePort(t)
	s.baseURL = fmt.Sprintf("http://127.0.0.1:%d", gatewayPort)
	gateway := bins.Start(t, "gateway", nil, s.baseURL+"/v1/bookings/none",
		"-listen", fmt.Sprintf("127.0.0.1:%d", gatewayPort), "-availability", s.availURL, "-booking", s.bookURL)
	s.logFiles["gateway"] = gateway.LogPath
	return s
}

// startAvailability starts one availability-svc replica with env added to its environment and
// returns its API and admin URLs and its log file.
func startAvailability(t *testing.T, readerURL string, env ...string) (apiURL, adminURL, log string) {
	t.Helper()
	port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
	adminURL = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	p := bins.Start(t, "availability-svc", append([]string{
		"DATABASE_URL=" + readerURL, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", adminPort), "SHUTDOWN_DRAIN=0s",
	}, env...), adminURL+"/readyz")
	return fmt.Sprintf("http://127.0.0.1:%d", port), adminURL, p.LogPath
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// call sends a request with the stack's key unless key is given as a header override.
func (s *stack) call(method, path string, body any, headers ...string) response {
	s.t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.baseURL+path, reader)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// data returns the "data" object of an answer.
func (r response) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

// errorField returns a field of the "error" object of an answer.
func (r response) errorField(name string) string {
	e, _ := r.Body["error"].(map[string]any)
	v, _ := e[name].(string)
	return v
}

// setClock freezes the demo organisation's clock through POST /v1/test_clock, which answers
// only after the availability replicas have applied the change, so the next request of the
// test already uses the new clock.
func (s *stack) setClock(at string) {
	s.t.Helper()
	if r := s.call("POST", "/v1/test_clock", map[string]any{"frozen_at": at}); r.Status != http.StatusOK {
		s.t.Fatalf("set test clock to %s: status %d, body %s", at, r.Status, r.Raw)
	}
}

func (s *stack) count(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("count: %v", err)
	}
	return n
}

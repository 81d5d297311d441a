// Package e2e runs the built binaries of both services and the local gateway against a fresh
// PostgreSQL database and drives them over HTTP, as an integrator would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/dbtest"
)

// binDir holds the binaries that TestMain builds once for every test.
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		fmt.Println("TEST_DATABASE_URL is not set; skipping the end-to-end tests (run `make test`)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "setora-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/setora/rest/availability-svc", "github.com/setora/rest/booking-svc", "github.com/setora/rest/tools/gateway")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	binDir = dir
	contract := installContract()
	code := m.Run()
	if contract.report() > 0 && code == 0 {
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
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

	runOnce(t, []string{"DATABASE_URL=" + dbURL}, "booking-svc", "migrate")
	s.key = strings.TrimSpace(runOnce(t, []string{"DATABASE_URL=" + dbURL}, "booking-svc", "demo"))

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

	bookPort, bookAdmin := freePort(t), freePort(t)
	s.bookURL = fmt.Sprintf("http://127.0.0.1:%d", bookPort)
	s.bookAdminURL = fmt.Sprintf("http://127.0.0.1:%d", bookAdmin)
	booking := startProcess(t, "booking-svc", append([]string{
		"DATABASE_URL=" + dbURL, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", bookPort),
		fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", bookAdmin), "SHUTDOWN_DRAIN=0s", "HOLD_SWEEP_INTERVAL=200ms",
	}, env...), s.bookAdminURL+"/readyz", "serve")
	s.logFiles["booking-svc"] = logFile(booking)

	s.availURL, s.availAdminURL, s.logFiles["availability-svc"] = startAvailability(t, dbtest.ReaderURL(t, dbURL), env...)

	gatewayPort := freePort(t)
	s.baseURL = fmt.Sprintf("http://127.0.0.1:%d", gatewayPort)
	gateway := startProcess(t, "gateway", nil, s.baseURL+"/v1/bookings/none",
		"-listen", fmt.Sprintf("127.0.0.1:%d", gatewayPort), "-availability", s.availURL, "-booking", s.bookURL)
	s.logFiles["gateway"] = logFile(gateway)
	return s
}

// startAvailability starts one availability-svc replica with env added to its environment and
// returns its API and admin URLs and its log file.
func startAvailability(t *testing.T, readerURL string, env ...string) (apiURL, adminURL, log string) {
	t.Helper()
	port, adminPort := freePort(t), freePort(t)
	adminURL = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	cmd := startProcess(t, "availability-svc", append([]string{
		"DATABASE_URL=" + readerURL, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", adminPort), "SHUTDOWN_DRAIN=0s",
	}, env...), adminURL+"/readyz")
	return fmt.Sprintf("http://127.0.0.1:%d", port), adminURL, logFile(cmd)
}

// logFile returns the file that startProcess sends cmd's output to.
func logFile(cmd *exec.Cmd) string {
	return cmd.Stdout.(*os.File).Name()
}

func runOnce(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr.String())
	}
	return string(out)
}

// startProcess runs a binary until the test ends and waits until readyURL answers.
func startProcess(t *testing.T, name string, env []string, readyURL string, args ...string) *exec.Cmd {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			t.Logf("--- %s log ---\n%s", name, data)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(logFile.Name())
			t.Fatalf("%s did not become ready at %s:\n%s", name, readyURL, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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

package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[level]
}

func TestLocalLimiterBurstThenReject(t *testing.T) {
	l, err := New(context.Background(), Config{}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const perMinute = 3
	for i := range perMinute {
		d := l.Allow(context.Background(), "key-a", perMinute)
		if !d.Allowed {
			t.Fatalf("request %d rejected within the burst: %+v", i+1, d)
		}
		if d.Remaining != perMinute-1-i {
			t.Errorf("request %d: remaining = %d, want %d", i+1, d.Remaining, perMinute-1-i)
		}
		if d.Limit != perMinute {
			t.Errorf("request %d: limit = %d, want %d", i+1, d.Limit, perMinute)
		}
	}
	d := l.Allow(context.Background(), "key-a", perMinute)
	if d.Allowed {
		t.Fatalf("request past the burst allowed: %+v", d)
	}
	// One request is earned back every 20 seconds at 3 per minute.
	if d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second {
		t.Errorf("retry after = %v, want within (0, 20s]", d.RetryAfter)
	}
	if other := l.Allow(context.Background(), "key-b", perMinute); !other.Allowed {
		t.Errorf("another key was limited by key-a's requests: %+v", other)
	}
}

func TestLocalLimiterRatesKeptApart(t *testing.T) {
	l, err := New(context.Background(), Config{}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Allow(context.Background(), "key", 1)
	if d := l.Allow(context.Background(), "key", 1); d.Allowed {
		t.Fatalf("second request at 1 per minute allowed: %+v", d)
	}
	// A key whose limit was raised starts on the new limit.
	if d := l.Allow(context.Background(), "key", 100); !d.Allowed || d.Limit != 100 {
		t.Errorf("request after raising the limit: %+v", d)
	}
}

func redisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL is not set; run `make test`, which starts a private Redis")
	}
	return url
}

func TestRedisLimitSharedBetweenLimiters(t *testing.T) {
	url := redisURL(t)
	ctx := context.Background()
	a, err := New(ctx, Config{RedisURL: url}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(ctx, Config{RedisURL: url}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	key := "test-" + uuid.NewString()
	const perMinute = 4
	var allowed int
	for i := range 2 * perMinute {
		limiter := a
		if i%2 == 1 {
			limiter = b
		}
		d := limiter.Allow(ctx, key, perMinute)
		if !limiter.UsingRedis() {
			t.Fatalf("limiter is not using Redis at %s", url)
		}
		if d.Allowed {
			allowed++
			if d.Remaining != perMinute-allowed {
				t.Errorf("request %d: remaining = %d, want %d", i+1, d.Remaining, perMinute-allowed)
			}
		}
	}
	// At 4 per minute one request is earned back every 15 seconds; the loop takes far less.
	if allowed != perMinute {
		t.Errorf("allowed %d of %d requests across two limiters, want %d", allowed, 2*perMinute, perMinute)
	}
}

// startRedis runs a private redis-server on a free port until the test ends and returns the
// port and a function that stops it.
func startRedis(t *testing.T, port int) (stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed; scripts/redis.sh installs it")
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", dir,
		"--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
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

func TestRedisOutageFallsBackAndRecovers(t *testing.T) {
	port := freePort(t)
	stop := startRedis(t, port)

	logs := &countingHandler{counts: map[slog.Level]int{}}
	registry := prometheus.NewRegistry()
	l, err := New(context.Background(), Config{
		RedisURL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), RetryEvery: 10 * time.Millisecond,
	}, slog.New(logs), registry)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()

	if d := l.Allow(ctx, "key", 1000); !d.Allowed || !l.UsingRedis() {
		t.Fatalf("first request: allowed %v, using Redis %v", d.Allowed, l.UsingRedis())
	}
	if got := testutil.ToFloat64(l.metrics.redisUp); got != 1 {
		t.Errorf("redis_up gauge = %v before the outage, want 1", got)
	}

	stop()
	for i := range 20 {
		if d := l.Allow(ctx, "key", 1000); !d.Allowed {
			t.Fatalf("request %d during the outage was rejected: %+v", i+1, d)
		}
	}
	if l.UsingRedis() {
		t.Fatal("limiter still reports Redis after it stopped")
	}
	if got := testutil.ToFloat64(l.metrics.redisUp); got != 0 {
		t.Errorf("redis_up gauge = %v during the outage, want 0", got)
	}
	if got := logs.count(slog.LevelWarn); got != 1 {
		t.Errorf("outage logged %d warnings, want exactly 1", got)
	}
	if got := testutil.ToFloat64(l.metrics.decisions.WithLabelValues("local", "allowed")); got < 19 {
		t.Errorf("local decisions = %v, want at least 19", got)
	}

	startRedis(t, port)
	deadline := time.Now().Add(10 * time.Second)
	for !l.UsingRedis() {
		if time.Now().After(deadline) {
			t.Fatal("limiter did not return to Redis after it came back")
		}
		l.Allow(ctx, "key", 1000)
		time.Sleep(5 * time.Millisecond)
	}
	if got := testutil.ToFloat64(l.metrics.redisUp); got != 1 {
		t.Errorf("redis_up gauge = %v after recovery, want 1", got)
	}
	if got := logs.count(slog.LevelInfo); got != 1 {
		t.Errorf("recovery logged %d info lines, want 1", got)
	}
}

func TestNewWithUnreachableRedisStillServes(t *testing.T) {
	port := freePort(t) // nothing listens there
	l, err := New(context.Background(), Config{RedisURL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}, quietLog(), nil)
	if err != nil {
		t.Fatalf("New failed with Redis down: %v", err)
	}
	defer l.Close()
	if d := l.Allow(context.Background(), "key", 10); !d.Allowed {
		t.Errorf("request rejected while Redis is down: %+v", d)
	}
	if l.UsingRedis() {
		t.Error("limiter reports Redis while nothing listens")
	}
}

func TestNewRejectsMalformedURL(t *testing.T) {
	if _, err := New(context.Background(), Config{RedisURL: "http://example"}, quietLog(), nil); err == nil {
		t.Fatal("New accepted an http URL as a Redis URL")
	}
}

func TestMiddlewareHeadersAndRejection(t *testing.T) {
	l, err := New(context.Background(), Config{}, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	app := httpapi.NewApp("test", quietLog())
	principal := &auth.Principal{KeyID: uuid.New(), Prefix: "sk_test_Ab3dE5fG", RateLimit: 2}
	app.Use(func(c *fiber.Ctx) error {
		c.Locals("principal", principal)
		return c.Next()
	})
	app.Use(Middleware(l))
	app.Get("/ping", func(c *fiber.Ctx) error { return c.SendString("pong") })

	for i := range 2 {
		resp, err := app.Test(httptest.NewRequest("GET", "/ping", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("request %d status = %d", i+1, resp.StatusCode)
		}
		for _, h := range []string{HeaderLimit, HeaderXLimit} {
			if got := resp.Header.Get(h); got != "2" {
				t.Errorf("request %d: %s = %q, want 2", i+1, h, got)
			}
		}
		for _, h := range []string{HeaderRemaining, HeaderXRemaining} {
			if got := resp.Header.Get(h); got != fmt.Sprint(1-i) {
				t.Errorf("request %d: %s = %q, want %d", i+1, h, got, 1-i)
			}
		}
		if resp.Header.Get(HeaderReset) == "" || resp.Header.Get(HeaderXReset) == "" {
			t.Errorf("request %d: reset headers missing", i+1)
		}
	}

	resp, err := app.Test(httptest.NewRequest("GET", "/ping", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 {
		t.Fatalf("third request status = %d, want 429", resp.StatusCode)
	}
	retry := resp.Header.Get("Retry-After")
	if retry == "" || retry == "0" {
		t.Errorf("Retry-After = %q, want a positive number of seconds", retry)
	}
	if resp.Header.Get(HeaderRemaining) != "0" {
		t.Errorf("remaining on 429 = %q, want 0", resp.Header.Get(HeaderRemaining))
	}
	var body struct {
		Error struct{ Type, Code, Message, RequestID string } `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&body); err != nil {
		t.Fatalf("429 body is not JSON: %s", raw)
	}
	if body.Error.Code != "rate_limited" || body.Error.Type != "rate_limit_error" {
		t.Errorf("429 error = %+v", body.Error)
	}
	if !strings.Contains(body.Error.Message, "2 requests per minute") {
		t.Errorf("429 message does not name the limit: %q", body.Error.Message)
	}
	if got := testutil.ToFloat64(l.metrics.limited.WithLabelValues("sk_test_Ab3dE5fG")); got != 1 {
		t.Errorf("limited requests of the key's prefix = %v, want 1", got)
	}
}

func TestMiddlewareWithoutPrincipalPasses(t *testing.T) {
	app := httpapi.NewApp("test", quietLog())
	app.Use(Middleware(nil))
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get(HeaderLimit) != "" {
		t.Errorf("status %d, limit header %q", resp.StatusCode, resp.Header.Get(HeaderLimit))
	}
}

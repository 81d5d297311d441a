package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// serve starts app on a loopback port and returns its address.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String()
}

// A proxy that forwards an oversized body must read the 413 back, so the server reads the
// body and keeps the connection rather than closing it while the proxy is still writing.
func TestOversizedBodyKeepsTheConnection(t *testing.T) {
	app := NewApp("test", slog.New(slog.DiscardHandler))
	app.Post("/echo", func(c *fiber.Ctx) error { return c.SendString("posted") })
	app.Get("/ping", func(c *fiber.Ctx) error { return c.SendString("pong") })
	addr := serve(t, app)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))

	body := strings.Repeat("x", MaxBodyBytes+1)
	fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	fmt.Fprintf(conn, "GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")

	r := bufio.NewReader(conn)
	first, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("first response: %v", err)
	}
	var got struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(first.Body).Decode(&got); err != nil {
		t.Fatalf("413 body: %v", err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusRequestEntityTooLarge || got.Error.Code != "body_too_large" {
		t.Fatalf("oversized body: status %d, code %q; want 413 body_too_large", first.StatusCode, got.Error.Code)
	}

	second, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("the connection did not survive the 413: %v", err)
	}
	pong, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != http.StatusOK || string(pong) != "pong" {
		t.Fatalf("second request: status %d, body %q", second.StatusCode, pong)
	}
}

// A body within the limit reaches the handler unchanged.
func TestBodyAtLimitAccepted(t *testing.T) {
	app := NewApp("test", slog.New(slog.DiscardHandler))
	app.Post("/echo", func(c *fiber.Ctx) error { return c.SendString(fmt.Sprint(len(c.Body()))) })
	addr := serve(t, app)

	resp, err := http.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", MaxBodyBytes)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(n) != fmt.Sprint(MaxBodyBytes) {
		t.Fatalf("body at the limit: status %d, handler saw %s bytes", resp.StatusCode, n)
	}
}

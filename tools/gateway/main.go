// Command gateway is the local stand-in for the Kubernetes ingress: one base URL that sends
// GET /v1/locations/{slug}/availability to availability-svc and everything else under /v1 to
// booking-svc. Several availability upstreams are tried in turn, as a Service would.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/httpapi"
)

// availabilityPath is the route the ingress sends to availability-svc; keep it in step with
// the Ingress in k8s/base.
var availabilityPath = regexp.MustCompile(`^/v1/locations/[^/]+/availability/?$`)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve the base URL on")
	availability := flag.String("availability", "http://127.0.0.1:8081", "comma-separated availability-svc URLs")
	booking := flag.String("booking", "http://127.0.0.1:8082", "booking-svc URL")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "gateway")
	if err := run(log, *listen, strings.Split(*availability, ","), *booking); err != nil {
		log.Error("stopped with an error", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger, listen string, availabilityURLs []string, bookingURL string) error {
	avail, err := newFailover(availabilityURLs, log)
	if err != nil {
		return err
	}
	book, err := newFailover([]string{bookingURL}, log)
	if err != nil {
		return err
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bufferBody(w, r) {
			return
		}
		if r.Method == http.MethodGet && availabilityPath.MatchString(r.URL.Path) {
			avail.ServeHTTP(w, r)
			return
		}
		book.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	// Ctrl-C and SIGTERM stop the gateway like the services, letting requests in flight finish.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()

	log.Info("started", "listen", listen, "availability", availabilityURLs, "booking", bookingURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// maxBufferedBody matches the Ingress's proxy-body-size of 1m, which the services read in full
// before refusing anything over their own lower limit.
const maxBufferedBody = httpapi.MaxReadBytes

// bufferBody reads the whole request body before proxying, as ingress-nginx does, so that an
// upstream that rejects an oversized body and closes the connection still has its 413 read
// back rather than a reset half-way through the upload. It answers 413 itself for a body over
// maxBufferedBody and reports whether the request may continue.
func bufferBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.ContentLength == 0 {
		return true
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed_request",
			"the request body could not be read; send it again")
		return false
	}
	if len(data) > maxBufferedBody {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "body_too_large",
			fmt.Sprintf("the request body is larger than %d bytes", maxBufferedBody))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	return true
}

// writeError writes an error in the API's shape for failures the gateway itself detects.
func writeError(w http.ResponseWriter, status int, errorType, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apierr.Body{Error: &apierr.Error{Type: errorType, Code: code, Message: message}})
}

// newFailover returns a reverse proxy that spreads requests over the upstreams in turn. A GET
// or HEAD whose upstream cannot be reached is tried on the next one, as a Kubernetes Service
// stops routing to a pod that is gone; other methods are never retried, because they may have
// reached the upstream before it failed.
func newFailover(rawURLs []string, log *slog.Logger) (*httputil.ReverseProxy, error) {
	ft := &failoverTransport{log: log}
	for _, raw := range rawURLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("upstream %q is not a URL such as http://127.0.0.1:8081", raw)
		}
		ft.upstreams = append(ft.upstreams, u)
	}
	p := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetXForwarded() },
		Transport: ft,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("no upstream answered", "error", err.Error())
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusBadGateway, "api_error", "upstream_unavailable",
				"the service behind this route is not responding; retry shortly")
		},
	}
	return p, nil
}

type failoverTransport struct {
	upstreams []*url.URL
	next      atomic.Uint64
	log       *slog.Logger
}

func (t *failoverTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	retryable := r.Method == http.MethodGet || r.Method == http.MethodHead
	first := t.next.Add(1)
	var lastErr error
	for i := range len(t.upstreams) {
		target := t.upstreams[(first+uint64(i))%uint64(len(t.upstreams))]
		attempt := r.Clone(r.Context())
		attempt.URL.Scheme, attempt.URL.Host = target.Scheme, target.Host
		attempt.Host = target.Host
		resp, err := http.DefaultTransport.RoundTrip(attempt)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable || r.Context().Err() != nil {
			break
		}
		t.log.Warn("upstream unreachable; trying the next", "upstream", target.Host, "error", err.Error())
	}
	return nil, lastErr
}

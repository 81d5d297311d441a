// Command gateway is the local stand-in for the Kubernetes ingress: one base URL that sends
// GET /v1/locations/{slug}/availability to availability-svc and everything else under /v1 to
// booking-svc. Several availability upstreams are tried in turn, as a Service would.
package main

import (
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
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
	var avail []*httputil.ReverseProxy
	for _, raw := range availabilityURLs {
		p, err := proxyTo(raw, log)
		if err != nil {
			return err
		}
		avail = append(avail, p)
	}
	book, err := proxyTo(bookingURL, log)
	if err != nil {
		return err
	}

	var next atomic.Uint64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && availabilityPath.MatchString(r.URL.Path) {
			avail[next.Add(1)%uint64(len(avail))].ServeHTTP(w, r)
			return
		}
		book.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Info("started", "listen", listen, "availability", availabilityURLs, "booking", bookingURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func proxyTo(raw string, log *slog.Logger) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	p := httputil.NewSingleHostReverseProxy(target)
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Warn("upstream unreachable", "upstream", target.Host, "error", err.Error())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"error":{"type":"api_error","code":"upstream_unavailable","message":"the service behind this route is not answering; retry shortly","request_id":""}}`))
	}
	return p, nil
}

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// apiClient sends requests to one base URL such as http://127.0.0.1:8080/v1.
type apiClient struct {
	base string
	http *http.Client
}

// newHTTPClient returns a client that keeps up to conns connections open per host, so that the
// load is not slowed by connection set-up.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 4,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: transport, Timeout: timeout}
}

func newAPIClient(base string, httpClient *http.Client) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), http: httpClient}
}

// apiResponse is an answer read in full; Err is set when no answer arrived.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
	// Sent is when the request was handed to the transport; Done is when the body was read.
	Sent, Done time.Time
}

// do sends one request with the key and the header pairs given, and reads the whole answer.
func (c *apiClient) do(ctx context.Context, method, path, key string, body []byte, headers ...string) apiResponse {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return apiResponse{Err: err, Sent: time.Now(), Done: time.Now()}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	r := apiResponse{Sent: time.Now()}
	resp, err := c.http.Do(req)
	if err != nil {
		r.Err, r.Done = err, time.Now()
		return r
	}
	defer resp.Body.Close()
	r.Status, r.Header = resp.StatusCode, resp.Header
	r.Body, r.Err = io.ReadAll(resp.Body)
	r.Done = time.Now()
	return r
}

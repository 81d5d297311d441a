package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	validationerrors "github.com/pb33f/libopenapi-validator/errors"

	spec "github.com/setora/rest/api"
)

// contract validates every request the tests send to the API, and every answer, against the
// OpenAPI document. TestMain installs it as http.DefaultClient's transport, so that every test
// file's requests go through it, and reports what it found after the tests have run.
type contract struct {
	base http.RoundTripper

	// mu serialises the validator, which is not documented as safe for concurrent use, and
	// guards violations.
	mu         sync.Mutex
	validator  validator.Validator
	violations []string
	checked    int
}

func newContract(base http.RoundTripper) (*contract, error) {
	doc, err := libopenapi.NewDocument(spec.YAML)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the OpenAPI validator: %v", errs)
	}
	return &contract{base: base, validator: v}, nil
}

// RoundTrip sends the request and validates the exchange. Only requests under /v1/ are checked;
// admin ports and the tests' own receivers are not part of the API.
func (c *contract) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return c.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))

	checkedReq := req.Clone(req.Context())
	checkedReq.Body = io.NopCloser(bytes.NewReader(body))
	checkedResp := *resp
	checkedResp.Body = io.NopCloser(bytes.NewReader(answer))
	c.check(checkedReq, &checkedResp, answer)
	return resp, nil
}

// check records what the document does not allow. A request the document rejects counts only
// when the API accepted it (2xx): tests send invalid requests on purpose to check the 4xx. An
// answer must always match the document, errors included.
func (c *contract) check(req *http.Request, resp *http.Response, answer []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, resp.StatusCode)

	_, reqErrs := c.validator.ValidateHttpRequest(req)
	accepted := resp.StatusCode >= 200 && resp.StatusCode < 300
	pathKnown := true
	for _, e := range reqErrs {
		if e.ValidationType == "path" {
			pathKnown = false
		}
		if accepted {
			c.violations = append(c.violations, where+": request: "+describe(e))
		}
	}
	if !pathKnown {
		return
	}
	req.Body = http.NoBody
	_, respErrs := c.validator.ValidateHttpResponse(req, resp)
	for _, e := range respErrs {
		c.violations = append(c.violations, where+": answer: "+describe(e)+"\n    body: "+truncate(string(answer), 400))
	}
}

func describe(e *validationerrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	for _, s := range e.SchemaValidationErrors {
		fmt.Fprintf(&b, "; %s at %s", s.Reason, s.FieldPath)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// report prints the violations and returns how many there were.
func (c *contract) report() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.violations) == 0 {
		fmt.Printf("OpenAPI contract: %d exchanges checked, all match api/openapi.yaml\n", c.checked)
		return 0
	}
	fmt.Printf("OpenAPI contract: %d of %d exchanges do not match api/openapi.yaml:\n", len(c.violations), c.checked)
	for _, v := range c.violations {
		fmt.Println("  " + v)
	}
	return len(c.violations)
}

// paramSegment matches a path parameter in Fiber's (:id) or OpenAPI's ({id}) form.
var paramSegment = regexp.MustCompile(`:[A-Za-z_]+|\{[A-Za-z_]+\}`)

// routeKey is a route with its parameter names erased, so both forms compare equal.
func routeKey(method, path string) string {
	return strings.ToUpper(method) + " " + paramSegment.ReplaceAllString(path, "{}")
}

// TestDocumentCoversEveryRoute fails when a route of either service is missing from the
// OpenAPI document. It asks each binary for its routes.
func TestDocumentCoversEveryRoute(t *testing.T) {
	doc, err := libopenapi.NewDocument(spec.YAML)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[routeKey(method, path)] = true
		}
	}

	served := map[string]bool{}
	for _, binary := range []string{"booking-svc", "availability-svc"} {
		out := bins.Run(t, binary, nil, "routes")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			method, path, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("%s routes printed %q, want METHOD /path", binary, line)
			}
			key := routeKey(method, path)
			served[key] = true
			if !documented[key] {
				t.Errorf("%s serves %s %s, which api/openapi.yaml does not document", binary, method, path)
			}
		}
	}
	if len(served) < 10 {
		t.Fatalf("the binaries listed only %d routes: %v", len(served), served)
	}
	var extra []string
	for key := range documented {
		if !served[key] {
			extra = append(extra, key)
		}
	}
	slices.Sort(extra)
	for _, key := range extra {
		t.Errorf("api/openapi.yaml documents %s, which neither service serves", key)
	}
}

// TestOpenAPIServedWithoutKey checks that booking-svc serves the embedded document as JSON at
// /v1/openapi.json without a key.
func TestOpenAPIServedWithoutKey(t *testing.T) {
	s := startStack(t)
	r := s.call("GET", "/v1/openapi.json", nil, "Authorization", "")
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s", r.Status, truncate(string(r.Raw), 300))
	}
	if r.Body["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", r.Body["openapi"])
	}
	paths, _ := r.Body["paths"].(map[string]any)
	if _, ok := paths["/v1/locations/{slug}/availability"]; !ok {
		t.Error("the served document lacks the availability route")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

// installContract wraps http.DefaultClient for the whole test binary; TestMain calls it.
func installContract() *contract {
	c, err := newContract(http.DefaultTransport)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.DefaultClient.Transport = c
	return c
}

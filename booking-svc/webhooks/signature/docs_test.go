package signature_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/setora/rest/booking-svc/webhooks/signature"
)

// docsPath is the integrator guide whose verification examples these tests run.
const docsPath = "../../../docs/webhooks.md"

// codeBlock returns the fenced block of the given language in the guide that contains marker.
func codeBlock(t *testing.T, language, marker string) string {
	t.Helper()
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("read the guide: %v", err)
	}
	for _, block := range strings.Split(string(data), "```"+language+"\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		if strings.Contains(code, marker) {
			return code
		}
	}
	t.Fatalf("the guide has no %s block containing %q", language, marker)
	return ""
}

// verificationCases are requests signed by this package and whether a receiver must accept them.
func verificationCases() []struct {
	name   string
	body   string
	header string
	accept bool
} {
	secret := docsSecret
	body := `{"id":"8c5820c4-5655-40ae-8c53-d16b4d54f517","type":"booking.created","sequence":1}`
	now := time.Now()
	return []struct {
		name   string
		body   string
		header string
		accept bool
	}{
		{"fresh", body, signature.Sign([]byte(body), now, secret), true},
		{"rotation", body, signature.Sign([]byte(body), now, "whsec_other", secret), true},
		{"tampered", strings.Replace(body, "created", "cancelled", 1), signature.Sign([]byte(body), now, secret), false},
		{"old", body, signature.Sign([]byte(body), now.Add(-6*time.Minute), secret), false},
		{"wrong secret", body, signature.Sign([]byte(body), now, "whsec_other"), false},
		{"malformed", body, "v1=abc", false},
	}
}

const docsSecret = "whsec_docs0123456789abcdefghijABCDEFGHIJ0123"

func TestGuidePythonExampleVerifies(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	code := codeBlock(t, "python", "def verify_setora_signature")
	script := code + `
import sys
print(verify_setora_signature(sys.argv[1].encode(), sys.argv[2], sys.argv[3]))
`
	path := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range verificationCases() {
		out, err := exec.Command(python, path, c.body, c.header, docsSecret).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: python: %v\n%s", c.name, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != map[bool]string{true: "True", false: "False"}[c.accept] {
			t.Errorf("%s: the Python example returned %s, want %v", c.name, got, c.accept)
		}
	}
}

func TestGuideStandardLibraryGoExampleVerifies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	code := codeBlock(t, "go", "func verify(")
	program := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	fmt.Println(verify([]byte(os.Args[1]), os.Args[2], os.Args[3], time.Now()))
}

` + code
	dir := t.TempDir()
	source := filepath.Join(dir, "main.go")
	if err := os.WriteFile(source, []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "verify")
	if out, err := exec.Command(goTool, "build", "-o", binary, source).CombinedOutput(); err != nil {
		t.Fatalf("the guide's Go example does not build: %v\n%s", err, out)
	}
	for _, c := range verificationCases() {
		out, err := exec.Command(binary, c.body, c.header, docsSecret).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != strconv.FormatBool(c.accept) {
			t.Errorf("%s: the Go example returned %s, want %v", c.name, got, c.accept)
		}
	}
}

package webhooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/setora/rest/shared/auth"
)

// fakeResolver answers from a fixed table; unknown names fail as DNS would.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	raw, ok := r[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	addrs := make([]netip.Addr, len(raw))
	for i, s := range raw {
		addrs[i] = netip.MustParseAddr(s)
	}
	return addrs, nil
}

var resolver = fakeResolver{
	"hooks.example.com":    {"93.184.216.34"},
	"internal.example.com": {"10.1.2.3"},
	"mixed.example.com":    {"93.184.216.34", "192.168.0.7"},
	"metadata.example.com": {"169.254.169.254"},
	"v6.example.com":       {"2606:2800:220:1:248:1893:25c8:1946"},
	"v6local.example.com":  {"fd00::1"},
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name, url, mode string
		// rejectWith is a fragment of the expected message, or "" when the URL is accepted.
		rejectWith string
	}{
		{name: "live https public name", url: "https://hooks.example.com/setora", mode: auth.ModeLive},
		{name: "live https public IPv6", url: "https://v6.example.com:8443/in", mode: auth.ModeLive},
		{name: "live https public literal", url: "https://93.184.216.34/hook", mode: auth.ModeLive},
		{name: "live http", url: "http://hooks.example.com/", mode: auth.ModeLive, rejectWith: "must use https"},
		{name: "live loopback", url: "https://127.0.0.1/hook", mode: auth.ModeLive, rejectWith: "loopback"},
		{name: "live localhost", url: "https://localhost/hook", mode: auth.ModeLive, rejectWith: "loopback"},
		{name: "live sub.localhost", url: "https://api.localhost/hook", mode: auth.ModeLive, rejectWith: "loopback"},
		{name: "live IPv6 loopback", url: "https://[::1]/hook", mode: auth.ModeLive, rejectWith: "loopback"},
		{name: "live mapped loopback", url: "https://[::ffff:127.0.0.1]/hook", mode: auth.ModeLive, rejectWith: "loopback"},
		{name: "private literal", url: "https://10.0.0.1/hook", mode: auth.ModeLive, rejectWith: "private"},
		{name: "private by DNS", url: "https://internal.example.com/hook", mode: auth.ModeLive, rejectWith: "private"},
		{name: "one private address of two", url: "https://mixed.example.com/", mode: auth.ModeLive, rejectWith: "192.168.0.7"},
		{name: "link-local metadata", url: "https://169.254.169.254/latest", mode: auth.ModeLive, rejectWith: "link-local"},
		{name: "link-local by DNS", url: "https://metadata.example.com/", mode: auth.ModeTest, rejectWith: "link-local"},
		{name: "unique local IPv6", url: "https://v6local.example.com/", mode: auth.ModeLive, rejectWith: "private"},
		{name: "IPv6 link-local", url: "https://[fe80::1]/", mode: auth.ModeLive, rejectWith: "link-local"},
		{name: "carrier-grade NAT", url: "https://100.64.0.9/", mode: auth.ModeLive, rejectWith: "reserved"},
		{name: "unspecified", url: "https://0.0.0.0/", mode: auth.ModeTest, rejectWith: "unspecified"},
		{name: "NAT64", url: "https://[64:ff9b::a00:1]/", mode: auth.ModeLive, rejectWith: "reserved"},
		{name: "unresolvable", url: "https://nowhere.example.com/", mode: auth.ModeLive, rejectWith: "could not be resolved"},
		{name: "credentials", url: "https://user:pass@hooks.example.com/", mode: auth.ModeLive, rejectWith: "user name or password"},
		{name: "fragment", url: "https://hooks.example.com/a#b", mode: auth.ModeLive, rejectWith: "fragment"},
		{name: "other scheme", url: "ftp://hooks.example.com/", mode: auth.ModeTest, rejectWith: "scheme"},
		{name: "relative", url: "/hooks", mode: auth.ModeTest, rejectWith: "absolute URL"},
		{name: "empty", url: "", mode: auth.ModeTest, rejectWith: "required"},
		{name: "too long", url: "https://hooks.example.com/" + strings.Repeat("a", MaxURLLength), mode: auth.ModeLive, rejectWith: "at most"},
		{name: "test http localhost", url: "http://localhost:4000/hook", mode: auth.ModeTest},
		{name: "test http loopback", url: "http://127.0.0.1:4000/hook", mode: auth.ModeTest},
		{name: "test http IPv6 loopback", url: "http://[::1]:4000/hook", mode: auth.ModeTest},
		{name: "test https loopback", url: "https://127.0.0.1:4000/hook", mode: auth.ModeTest},
		{name: "test https public", url: "https://hooks.example.com/", mode: auth.ModeTest},
		{name: "test http public", url: "http://hooks.example.com/", mode: auth.ModeTest, rejectWith: "only for localhost"},
		{name: "test private", url: "https://192.168.1.1/", mode: auth.ModeTest, rejectWith: "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckURL(context.Background(), tt.url, tt.mode, resolver)
			if tt.rejectWith == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q, %s) = %v, want accepted", tt.url, tt.mode, err)
				}
				return
			}
			var invalid *InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("CheckURL(%q, %s) = %v, want an InvalidError", tt.url, tt.mode, err)
			}
			if invalid.Field != "url" {
				t.Errorf("field = %q, want url", invalid.Field)
			}
			if !strings.Contains(invalid.Message, tt.rejectWith) {
				t.Errorf("message %q does not mention %q", invalid.Message, tt.rejectWith)
			}
		})
	}
}

// A live-mode delivery must not reach a loopback server even when the stored URL points there,
// as it would after a DNS change: the dialer checks the address it connects to.
func TestLiveClientRefusesLoopbackAtDialTime(t *testing.T) {
	reached := make(chan struct{}, 1)
	server := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached <- struct{}{} }))
	defer server.Close()

	client := newHTTPClient(auth.ModeLive, time.Second)
	resp, err := client.Post(server.URL, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("live client reached a loopback server")
	}
	var blocked *BlockedAddressError
	if !errors.As(err, &blocked) {
		t.Fatalf("error = %v, want a BlockedAddressError", err)
	}
	if !blocked.Addr.IsLoopback() {
		t.Errorf("blocked address = %s, want the loopback address", blocked.Addr)
	}
	select {
	case <-reached:
		t.Error("the server saw the request")
	default:
	}

	testClient := newHTTPClient(auth.ModeTest, time.Second)
	resp, err = testClient.Post(server.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("test-mode client: %v", err)
	}
	resp.Body.Close()
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	followed := make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed <- struct{}{} }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()

	resp, err := newHTTPClient(auth.ModeTest, time.Second).Post(redirect.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status = %d, want 307 returned as it is", resp.StatusCode)
	}
	select {
	case <-followed:
		t.Error("the redirect was followed")
	default:
	}
}

package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/setora/rest/shared/auth"
)

// MaxURLLength bounds an endpoint URL.
const MaxURLLength = 2048

// resolveTimeout bounds the DNS lookup that checks a new endpoint's host.
const resolveTimeout = 3 * time.Second

// Resolver looks up the addresses of a host name; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// InvalidError rejects a field of a request; Field names it as the API spells it.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CheckURL parses an endpoint URL and applies the rules of the organisation's mode. Live mode
// takes only https URLs whose host resolves to public addresses. Test mode also takes http, but
// only to a loopback host, and allows loopback addresses for either scheme. Both modes refuse
// credentials in the URL, fragments, and private, link-local and other non-public addresses.
// The delivery dialer repeats the address check on every connection, so a host that later
// resolves elsewhere is still refused.
func CheckURL(ctx context.Context, raw, mode string, resolver Resolver) (*url.URL, error) {
	if raw == "" {
		return nil, invalid("url", "url is required, for example https://hooks.example.com/setora")
	}
	if len(raw) > MaxURLLength {
		return nil, invalid("url", "url may be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, invalid("url", "url %q is not an absolute URL such as https://hooks.example.com/setora", raw)
	}
	if u.User != nil {
		return nil, invalid("url", "url must not contain a user name or password; authenticate requests with the signature instead")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, invalid("url", "url must not contain a fragment (#...)")
	}

	host := u.Hostname()
	loopbackAllowed := mode == auth.ModeTest
	switch u.Scheme {
	case "https":
	case "http":
		if mode == auth.ModeLive {
			return nil, invalid("url", "live-mode endpoints must use https; http is allowed only for localhost in test mode")
		}
		if !isLoopbackHost(host) {
			return nil, invalid("url", "http is allowed only for localhost, 127.0.0.1 or [::1] in test mode; use https for %q", host)
		}
	default:
		return nil, invalid("url", "url scheme %q is not supported; use https", u.Scheme)
	}

	addrs, err := resolveHost(ctx, host, resolver)
	if err != nil {
		return nil, invalid("url", "the host %q could not be resolved; check the name and its DNS records", host)
	}
	for _, addr := range addrs {
		if reason := addressProblem(addr, loopbackAllowed); reason != "" {
			return nil, invalid("url", "the host %q resolves to %s, %s; webhook endpoints must be reachable on the public internet", host, addr, reason)
		}
	}
	return u, nil
}

// isLoopbackHost reports whether host names this machine without a DNS lookup.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

func resolveHost(ctx context.Context, host string, resolver Resolver) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("no addresses")
	}
	return addrs, nil
}

// nonPublicPrefixes are ranges that the netip predicates do not cover and that never reach the
// public internet. They are carrier-grade NAT, IETF protocol assignments, documentation and
// benchmarking ranges, and the reserved class E range. NAT64 is included because it could map
// to any IPv4 address behind the gateway.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// addressProblem returns why a delivery must not connect to addr, or "" when it may.
func addressProblem(addr netip.Addr, loopbackAllowed bool) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		if loopbackAllowed {
			return ""
		}
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "a link-local address"
	case addr.IsUnspecified():
		return "an unspecified address"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast address"
	case !addr.IsGlobalUnicast():
		return "not a public unicast address"
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(addr) {
			return "a reserved address"
		}
	}
	return ""
}

// BlockedAddressError means the delivery dialer blocked a connection to a non-public address.
type BlockedAddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("blocked connection to %s, %s", e.Addr, e.Reason)
}

// dialControl returns a net.Dialer Control function that runs after DNS resolution, on the
// address actually dialled, so that DNS rebinding cannot steer a delivery to an internal host.
func dialControl(loopbackAllowed bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		addrPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("blocked connection to invalid address %q", address)
		}
		if reason := addressProblem(addrPort.Addr(), loopbackAllowed); reason != "" {
			return &BlockedAddressError{Addr: addrPort.Addr().Unmap(), Reason: reason}
		}
		return nil
	}
}

// newDialer returns the dialer for one organisation mode.
func newDialer(mode string, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: dialControl(mode == auth.ModeTest)}
}

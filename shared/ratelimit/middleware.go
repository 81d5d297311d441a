package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
)

// Response headers. The RateLimit-* names follow the IETF httpapi draft; the X-RateLimit-* names
// carry the same values for clients written against the older convention. Reset is in seconds
// from now in both.
const (
	HeaderLimit      = "RateLimit-Limit"
	HeaderRemaining  = "RateLimit-Remaining"
	HeaderReset      = "RateLimit-Reset"
	HeaderXLimit     = "X-RateLimit-Limit"
	HeaderXRemaining = "X-RateLimit-Remaining"
	HeaderXReset     = "X-RateLimit-Reset"
)

// Middleware counts each request of an authenticated key against the key's limit, sets the
// rate-limit headers on the response and rejects a request over the limit with 429 and
// Retry-After. It must run after auth's middleware; a request without a principal passes
// untouched. A nil limiter passes every request, so apps can be built without one.
func Middleware(l *Limiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := auth.From(c)
		if l == nil || p == nil {
			return c.Next()
		}
		d := l.Allow(c.UserContext(), p.KeyID.String(), p.RateLimit)
		setHeaders(c, d)
		if !d.Allowed {
			// The prefix is the key's non-secret start, which the request log shows too.
			l.metrics.limited.WithLabelValues(p.Prefix).Inc()
			e := apierr.New(http.StatusTooManyRequests, "rate_limited", "",
				"this key may make %d requests per minute; retry after %d seconds", d.Limit, wholeSeconds(d.RetryAfter))
			e.RetryAfter = wholeSeconds(d.RetryAfter)
			return e
		}
		return c.Next()
	}
}

func setHeaders(c *fiber.Ctx, d Decision) {
	limit := strconv.Itoa(d.Limit)
	remaining := strconv.Itoa(max(d.Remaining, 0))
	reset := strconv.Itoa(wholeSeconds(d.ResetAfter))
	c.Set(HeaderLimit, limit)
	c.Set(HeaderRemaining, remaining)
	c.Set(HeaderReset, reset)
	c.Set(HeaderXLimit, limit)
	c.Set(HeaderXRemaining, remaining)
	c.Set(HeaderXReset, reset)
}

// wholeSeconds rounds up, so that a client that waits that long is never early; at least 1.
func wholeSeconds(d time.Duration) int {
	return max(int(math.Ceil(d.Seconds())), 1)
}

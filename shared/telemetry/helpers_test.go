package telemetry_test

import "github.com/valyala/fasthttp"

// newRequestCtx returns a fasthttp request context for GET target, to drive a Fiber handler
// without a network round trip.
func newRequestCtx(target string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(target)
	return ctx
}

package main

import (
	"fmt"
	"log/slog"
	"strings"
)

// printRoutes writes "METHOD /path" for every public route, one a line, for the contract test
// that checks each route against the OpenAPI document. It needs no database.
func printRoutes(log *slog.Logger) {
	app := newApp(log, nil, nil, nil, nil, observability{})
	for _, r := range app.GetRoutes(true) {
		if r.Method == "HEAD" || !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		fmt.Println(r.Method, r.Path)
	}
}

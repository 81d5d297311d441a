// Package api embeds the OpenAPI 3.1 document of Setora's v1 API, openapi.yaml, so that
// booking-svc can serve it and tests can validate traffic against it.
package api

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

// YAML is the document as written.
//
//go:embed openapi.yaml
var YAML []byte

// JSON converts the document to JSON, the form served at /v1/openapi.json.
func JSON() ([]byte, error) {
	out, err := yaml.YAMLToJSON(YAML)
	if err != nil {
		return nil, fmt.Errorf("convert openapi.yaml to JSON: %w", err)
	}
	return out, nil
}

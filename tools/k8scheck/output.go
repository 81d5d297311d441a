package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// ruleFileYAML prints a PrometheusRule's groups in the rule file format that
// Prometheus and promtool read.
func ruleFileYAML(rule *monitoringv1.PrometheusRule) ([]byte, error) {
	file := struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{Groups: rule.Spec.Groups}

	data, err := yaml.Marshal(file)
	if err != nil {
		return nil, fmt.Errorf("print rule groups of PrometheusRule %s: %w", rule.Name, err)
	}
	return data, nil
}

// fileName turns a target name such as "k8s/overlays/dev" into a name that
// is safe as one path element: "k8s_overlays_dev".
func fileName(targetName string) string {
	return strings.ReplaceAll(targetName, "/", "_")
}

// write stores each render as out/renders/<target>.yaml and each rule file
// as out/rules/<target>/<rule name>.rules.yaml.
func (r *result) write(out string) error {
	for _, render := range r.Renders {
		name := fileName(render.Target.Name)

		if err := writeFile(filepath.Join(out, "renders", name+".yaml"), render.YAML); err != nil {
			return err
		}
		for ruleName, data := range render.RuleFiles {
			if err := writeFile(filepath.Join(out, "rules", name, ruleName+".rules.yaml"), data); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(filePath string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(filePath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filePath, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filePath, err)
	}
	return nil
}

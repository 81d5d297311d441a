package main

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// finding is one problem, tied to the target and object it was found in.
type finding struct {
	Target string
	Object string
	Err    error
}

func (f finding) String() string {
	if f.Object == "" {
		return fmt.Sprintf("%s: %v", f.Target, f.Err)
	}
	return fmt.Sprintf("%s: %s: %v", f.Target, f.Object, f.Err)
}

// renderOutput is the output of one target, kept for the tools that run
// after k8scheck.
type renderOutput struct {
	Target target
	// YAML is the rendered manifest stream, as "kustomize build" prints it.
	YAML []byte
	// RuleFiles maps a PrometheusRule's name to its rule groups in the plain
	// Prometheus rule file format.
	RuleFiles map[string][]byte
}

// result collects everything one run found and produced.
type result struct {
	Findings        []finding
	Renders         []renderOutput
	ObjectCount     int
	PodTemplates    int
	SkaffoldConfigs int
}

// check renders every target in the tree and runs every check on it.
func check(tree filesys.FileSystem) (*result, error) {
	targets, err := discoverTargets(tree)
	if err != nil {
		return nil, err
	}

	podSecurity, err := newPodSecurityEvaluator()
	if err != nil {
		return nil, err
	}

	out := &result{}
	images := map[string]bool{}
	for _, t := range targets {
		resources, err := render(tree, t)
		if err != nil {
			out.Findings = append(out.Findings, finding{Target: t.Name, Err: err})
			continue
		}
		out.checkTarget(t, resources, podSecurity, images)
	}

	out.checkSkaffold(tree, targets, images)
	return out, nil
}

// checkTarget decodes and checks every object of one render, and records the
// render and its rule files. It adds the image of every container to images.
func (r *result) checkTarget(t target, resources resmap.ResMap, podSecurity *podSecurityEvaluator, images map[string]bool) {
	output := renderOutput{Target: t, RuleFiles: map[string][]byte{}}

	manifest, err := resources.AsYaml()
	if err != nil {
		r.Findings = append(r.Findings, finding{Target: t.Name, Err: fmt.Errorf("print render: %w", err)})
		return
	}
	output.YAML = manifest

	for _, res := range resources.Resources() {
		r.ObjectCount++
		gvk := schema.FromAPIVersionAndKind(res.GetApiVersion(), res.GetKind())
		objectName := describeObject(gvk.Kind, res.GetNamespace(), res.GetName())

		data, err := res.MarshalJSON()
		if err != nil {
			r.Findings = append(r.Findings, finding{Target: t.Name, Object: objectName, Err: err})
			continue
		}

		object, problems := decodeStrict(gvk, data)
		if object != nil {
			problems = append(problems, validateObject(object)...)
			if _, _, ok := podTemplate(object); ok {
				r.PodTemplates++
				problems = append(problems, podSecurity.check(object)...)
				collectImages(object, images)
			}
			if rule, ok := object.(*monitoringv1.PrometheusRule); ok {
				ruleFile, err := ruleFileYAML(rule)
				if err != nil {
					problems = append(problems, err)
				} else {
					output.RuleFiles[rule.Name] = ruleFile
				}
			}
		}

		for _, problem := range problems {
			r.Findings = append(r.Findings, finding{Target: t.Name, Object: objectName, Err: problem})
		}
	}

	r.Renders = append(r.Renders, output)
}

func describeObject(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// validateObject checks what an apiserver would reject on admission and a
// strict decode cannot see: malformed names and label values, selectors that
// do not select their own pod template, and the values of the modelled
// CloudNativePG fields.
func validateObject(object any) []error {
	var problems []error

	if accessor, ok := object.(metav1.Object); ok {
		for _, message := range validation.IsDNS1123Subdomain(accessor.GetName()) {
			problems = append(problems, fmt.Errorf("metadata.name %q: %s", accessor.GetName(), message))
		}
		problems = append(problems, checkLabels("metadata.labels", accessor.GetLabels())...)
	}

	switch typed := object.(type) {
	case *corev1.Service:
		for _, message := range validation.IsDNS1035Label(typed.Name) {
			problems = append(problems, fmt.Errorf("Service name %q: %s", typed.Name, message))
		}
	case *corev1.Namespace:
		problems = append(problems, checkNamespaceLabels(typed)...)
	case *appsv1.Deployment:
		problems = append(problems, checkSelector(typed.Spec.Selector, typed.Spec.Template.Labels)...)
	case *appsv1.StatefulSet:
		problems = append(problems, checkSelector(typed.Spec.Selector, typed.Spec.Template.Labels)...)
	case *appsv1.DaemonSet:
		problems = append(problems, checkSelector(typed.Spec.Selector, typed.Spec.Template.Labels)...)
	case *batchv1.Job:
		if typed.Spec.Selector != nil {
			problems = append(problems, checkSelector(typed.Spec.Selector, typed.Spec.Template.Labels)...)
		}
	case *cnpgCluster:
		problems = append(problems, validateCNPGCluster(typed)...)
	}

	if _, spec, ok := podTemplate(object); ok {
		problems = append(problems, checkContainerNames(spec)...)
	}
	return problems
}

func checkLabels(field string, values map[string]string) []error {
	var problems []error
	for key, value := range values {
		for _, message := range validation.IsQualifiedName(key) {
			problems = append(problems, fmt.Errorf("%s key %q: %s", field, key, message))
		}
		for _, message := range validation.IsValidLabelValue(value) {
			problems = append(problems, fmt.Errorf("%s[%q] value %q: %s", field, key, value, message))
		}
	}
	return problems
}

func checkSelector(selector *metav1.LabelSelector, templateLabels map[string]string) []error {
	if selector == nil {
		return []error{fmt.Errorf("spec.selector is missing")}
	}
	parsed, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return []error{fmt.Errorf("spec.selector: %w", err)}
	}
	if !parsed.Matches(labels.Set(templateLabels)) {
		return []error{fmt.Errorf("spec.selector %q does not match the pod template's labels %v", parsed, templateLabels)}
	}
	return nil
}

// checkContainerNames requires unique DNS-label container names, as the
// apiserver does. The resourceFieldRef behind GOMEMLIMIT names its container.
func checkContainerNames(spec *corev1.PodSpec) []error {
	var problems []error
	seen := map[string]bool{}
	for _, container := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, message := range validation.IsDNS1123Label(container.Name) {
			problems = append(problems, fmt.Errorf("container name %q: %s", container.Name, message))
		}
		if seen[container.Name] {
			problems = append(problems, fmt.Errorf("container name %q is used twice", container.Name))
		}
		seen[container.Name] = true
	}
	return problems
}

func collectImages(object any, images map[string]bool) {
	_, spec, _ := podTemplate(object)
	for _, container := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		images[container.Image] = true
	}
}

// koImagePrefix marks an image that skaffold builds with ko and substitutes
// at deploy time.
const koImagePrefix = "ko://"

// checkSkaffold validates skaffold.yaml and cross-checks it with the
// renders: every kustomize path it deploys must be a rendered target, every
// ko:// image in the manifests must have an artifact, and every artifact
// must be used.
func (r *result) checkSkaffold(tree filesys.FileSystem, targets []target, images map[string]bool) {
	const name = "skaffold.yaml"

	data, err := tree.ReadFile(path.Join(repoDir, name))
	if err != nil {
		r.Findings = append(r.Findings, finding{Target: name, Err: err})
		return
	}

	configs, problems := parseSkaffold(data)
	r.SkaffoldConfigs = len(configs)
	use, validationProblems := validateSkaffold(configs)
	problems = append(problems, validationProblems...)

	rendered := map[string]bool{}
	for _, t := range targets {
		rendered[t.Name] = true
	}
	for _, kustomizePath := range use.kustomizePaths {
		if !rendered[kustomizePath] {
			problems = append(problems, fmt.Errorf("kustomize path %q is not a kustomization under k8s/", kustomizePath))
		}
	}

	artifacts := map[string]bool{}
	for _, image := range use.artifactImages {
		artifacts[image] = true
		if !images[image] {
			problems = append(problems, fmt.Errorf("artifact %q is not used by any rendered container", image))
		}
	}
	var missing []string
	for image := range images {
		if strings.HasPrefix(image, koImagePrefix) && !artifacts[image] {
			missing = append(missing, image)
		}
	}
	sort.Strings(missing)
	for _, image := range missing {
		problems = append(problems, fmt.Errorf("container image %q has no skaffold artifact, so it would be deployed unbuilt", image))
	}

	for _, problem := range problems {
		r.Findings = append(r.Findings, finding{Target: name, Err: problem})
	}
}

func (r *result) printSummary(w io.Writer) {
	for _, f := range r.Findings {
		fmt.Fprintln(w, "FAIL", f)
	}
	fmt.Fprintf(w, "k8scheck: %d renders, %d objects, %d pod templates, %d skaffold configs, %d findings\n",
		len(r.Renders), r.ObjectCount, r.PodTemplates, r.SkaffoldConfigs, len(r.Findings))
}

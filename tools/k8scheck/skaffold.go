package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The skaffold module (github.com/GoogleContainerTools/skaffold/v2) is not
// served by the Go module proxy that this project may use, so its schema
// types cannot be imported. The structs below model the subset of the
// skaffold/v4beta11 schema that skaffold.yaml uses, with the field names of
// pkg/skaffold/schema/v4beta11/config.go in skaffold's repository. A strict
// decode rejects a misspelt field, and also any valid field not modelled
// yet: add such a field here after checking that file.

// skaffoldAPIVersion is the only schema version accepted.
const skaffoldAPIVersion = "skaffold/v4beta11"

type skaffoldConfig struct {
	APIVersion string                     `json:"apiVersion"`
	Kind       string                     `json:"kind"`
	Metadata   skaffoldMetadata           `json:"metadata"`
	Requires   []skaffoldConfigDependency `json:"requires,omitempty"`
	skaffoldPipeline
	Profiles []skaffoldProfile `json:"profiles,omitempty"`
}

type skaffoldMetadata struct {
	Name string `json:"name"`
}

type skaffoldConfigDependency struct {
	Configs        []string                    `json:"configs,omitempty"`
	Path           string                      `json:"path,omitempty"`
	ActiveProfiles []skaffoldProfileDependency `json:"activeProfiles,omitempty"`
}

type skaffoldProfileDependency struct {
	Name        string   `json:"name"`
	ActivatedBy []string `json:"activatedBy,omitempty"`
}

type skaffoldPipeline struct {
	Build       *skaffoldBuild        `json:"build,omitempty"`
	Manifests   *skaffoldManifests    `json:"manifests,omitempty"`
	Deploy      *skaffoldDeploy       `json:"deploy,omitempty"`
	PortForward []skaffoldPortForward `json:"portForward,omitempty"`
}

type skaffoldBuild struct {
	TagPolicy *skaffoldTagPolicy `json:"tagPolicy,omitempty"`
	Artifacts []skaffoldArtifact `json:"artifacts,omitempty"`
	Local     *skaffoldLocal     `json:"local,omitempty"`
}

type skaffoldTagPolicy struct {
	GitCommit   *skaffoldGitTagger `json:"gitCommit,omitempty"`
	InputDigest *struct{}          `json:"inputDigest,omitempty"`
	Sha256      *struct{}          `json:"sha256,omitempty"`
}

type skaffoldGitTagger struct {
	Variant       string `json:"variant,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
	IgnoreChanges bool   `json:"ignoreChanges,omitempty"`
}

type skaffoldLocal struct {
	Push        *bool `json:"push,omitempty"`
	Concurrency *int  `json:"concurrency,omitempty"`
}

type skaffoldArtifact struct {
	Image   string      `json:"image"`
	Context string      `json:"context,omitempty"`
	Ko      *skaffoldKo `json:"ko,omitempty"`
}

type skaffoldKo struct {
	FromImage    string                  `json:"fromImage,omitempty"`
	Dependencies *skaffoldKoDependencies `json:"dependencies,omitempty"`
	Dir          string                  `json:"dir,omitempty"`
	Env          []string                `json:"env,omitempty"`
	Flags        []string                `json:"flags,omitempty"`
	Labels       map[string]string       `json:"labels,omitempty"`
	Ldflags      []string                `json:"ldflags,omitempty"`
	Main         string                  `json:"main,omitempty"`
}

type skaffoldKoDependencies struct {
	Paths  []string `json:"paths,omitempty"`
	Ignore []string `json:"ignore,omitempty"`
}

type skaffoldManifests struct {
	Kustomize *skaffoldKustomize `json:"kustomize,omitempty"`
}

type skaffoldKustomize struct {
	Paths     []string `json:"paths,omitempty"`
	BuildArgs []string `json:"buildArgs,omitempty"`
}

type skaffoldDeploy struct {
	Kubectl                    *skaffoldKubectl `json:"kubectl,omitempty"`
	StatusCheck                *bool            `json:"statusCheck,omitempty"`
	StatusCheckDeadlineSeconds int              `json:"statusCheckDeadlineSeconds,omitempty"`
	KubeContext                string           `json:"kubeContext,omitempty"`
}

type skaffoldKubectl struct {
	Flags            *skaffoldKubectlFlags `json:"flags,omitempty"`
	DefaultNamespace *string               `json:"defaultNamespace,omitempty"`
	Hooks            *skaffoldDeployHooks  `json:"hooks,omitempty"`
}

type skaffoldKubectlFlags struct {
	Global []string `json:"global,omitempty"`
	Apply  []string `json:"apply,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

type skaffoldDeployHooks struct {
	Before []skaffoldDeployHook `json:"before,omitempty"`
	After  []skaffoldDeployHook `json:"after,omitempty"`
}

type skaffoldDeployHook struct {
	Host *skaffoldHostHook `json:"host,omitempty"`
}

type skaffoldHostHook struct {
	Command []string `json:"command"`
	OS      []string `json:"os,omitempty"`
	Dir     string   `json:"dir,omitempty"`
}

type skaffoldPortForward struct {
	ResourceType string `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	Namespace    string `json:"namespace,omitempty"`
	Port         int    `json:"port"`
	LocalPort    int    `json:"localPort,omitempty"`
	Address      string `json:"address,omitempty"`
}

type skaffoldProfile struct {
	Name    string              `json:"name"`
	Patches []skaffoldJSONPatch `json:"patches,omitempty"`
	skaffoldPipeline
}

type skaffoldJSONPatch struct {
	Op    string `json:"op,omitempty"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// parseSkaffold decodes every YAML document of skaffold.yaml strictly.
func parseSkaffold(data []byte) ([]skaffoldConfig, []error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))

	var configs []skaffoldConfig
	var problems []error
	for index := 0; ; index++ {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, []error{fmt.Errorf("read skaffold.yaml: %w", err)}
		}
		if len(bytes.TrimSpace(document)) == 0 {
			continue
		}

		// YAMLToJSONStrict also rejects a key that appears twice.
		jsonDocument, err := yaml.YAMLToJSONStrict(document)
		if err != nil {
			problems = append(problems, fmt.Errorf("skaffold.yaml document %d: %w", index+1, err))
			continue
		}

		var config skaffoldConfig
		strictErrors, err := sigsjson.UnmarshalStrict(jsonDocument, &config)
		if err != nil {
			problems = append(problems, fmt.Errorf("skaffold.yaml document %d: %w", index+1, err))
			continue
		}
		for _, strictError := range strictErrors {
			problems = append(problems, fmt.Errorf("skaffold.yaml document %d: %w", index+1, strictError))
		}
		configs = append(configs, config)
	}
	return configs, problems
}

// skaffoldUse lists the kustomize paths and artifact images named in
// skaffold.yaml, for cross-checks against the renders.
type skaffoldUse struct {
	kustomizePaths []string
	artifactImages []string
}

// validateSkaffold checks the decoded configs for what the schema cannot
// express: versions, unique names, resolvable requirements, loopback-only
// port-forwards. It returns what the configs use for cross-checks.
func validateSkaffold(configs []skaffoldConfig) (skaffoldUse, []error) {
	var use skaffoldUse
	var problems []error
	names := map[string]bool{}

	for _, config := range configs {
		name := config.Metadata.Name
		if config.APIVersion != skaffoldAPIVersion {
			problems = append(problems, fmt.Errorf("skaffold config %q: apiVersion is %q; expected %q", name, config.APIVersion, skaffoldAPIVersion))
		}
		if config.Kind != "Config" {
			problems = append(problems, fmt.Errorf("skaffold config %q: kind is %q; expected \"Config\"", name, config.Kind))
		}
		if name == "" {
			problems = append(problems, errors.New("skaffold config without metadata.name; every config needs one so that others can require it"))
		}
		if names[name] {
			problems = append(problems, fmt.Errorf("skaffold config name %q is used twice", name))
		}
		names[name] = true

		pipelines := []skaffoldPipeline{config.skaffoldPipeline}
		for _, profile := range config.Profiles {
			if profile.Name == "" {
				problems = append(problems, fmt.Errorf("skaffold config %q: a profile has no name", name))
			}
			pipelines = append(pipelines, profile.skaffoldPipeline)
		}

		for _, pipeline := range pipelines {
			collectSkaffoldUse(pipeline, &use)
			problems = append(problems, checkPortForwards(name, pipeline.PortForward)...)
		}
	}

	problems = append(problems, checkRequirements(configs)...)

	sort.Strings(use.kustomizePaths)
	return use, problems
}

// checkRequirements resolves each config's requires list within this file.
// skaffold deploys the configs one after another in file order, so a
// required config must come first for its deploy (the migrations) to finish
// before the dependent one starts.
func checkRequirements(configs []skaffoldConfig) []error {
	var problems []error
	position := map[string]int{}
	profiles := map[string]map[string]bool{}
	for index, config := range configs {
		position[config.Metadata.Name] = index
		profiles[config.Metadata.Name] = map[string]bool{}
		for _, profile := range config.Profiles {
			profiles[config.Metadata.Name][profile.Name] = true
		}
	}

	for index, config := range configs {
		for _, requirement := range config.Requires {
			if requirement.Path != "" {
				continue
			}
			for _, required := range requirement.Configs {
				requiredIndex, ok := position[required]
				if !ok {
					problems = append(problems, fmt.Errorf("skaffold config %q requires config %q, which skaffold.yaml does not define", config.Metadata.Name, required))
					continue
				}
				if requiredIndex > index {
					problems = append(problems, fmt.Errorf("skaffold config %q requires config %q, which comes later in skaffold.yaml; move it before %q", config.Metadata.Name, required, config.Metadata.Name))
				}
				for _, active := range requirement.ActiveProfiles {
					if !profiles[required][active.Name] {
						problems = append(problems, fmt.Errorf("skaffold config %q activates profile %q of config %q, which has no such profile", config.Metadata.Name, active.Name, required))
					}
				}
			}
		}
	}
	return problems
}

func collectSkaffoldUse(pipeline skaffoldPipeline, use *skaffoldUse) {
	if pipeline.Manifests != nil && pipeline.Manifests.Kustomize != nil {
		for _, kustomizePath := range pipeline.Manifests.Kustomize.Paths {
			use.kustomizePaths = append(use.kustomizePaths, path.Clean(kustomizePath))
		}
	}
	if pipeline.Build != nil {
		for _, artifact := range pipeline.Build.Artifacts {
			use.artifactImages = append(use.artifactImages, artifact.Image)
		}
	}
}

// checkPortForwards requires every forward to bind to the loopback address,
// so that "skaffold dev" never exposes a service to the local network.
func checkPortForwards(configName string, forwards []skaffoldPortForward) []error {
	var problems []error
	for _, forward := range forwards {
		if forward.Address != "127.0.0.1" && forward.Address != "::1" {
			problems = append(problems, fmt.Errorf("skaffold config %q: port-forward of %s/%s binds to %q; set address to 127.0.0.1",
				configName, forward.ResourceType, forward.ResourceName, forward.Address))
		}
	}
	return problems
}

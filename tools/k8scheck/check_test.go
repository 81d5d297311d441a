package main

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// repositoryRoot is the folder that holds k8s/ and skaffold.yaml, seen from
// this package's folder.
const repositoryRoot = "../.."

func loadRealTree(t *testing.T) filesys.FileSystem {
	t.Helper()
	tree, err := loadTree(repositoryRoot)
	if err != nil {
		t.Fatalf("load repository tree: %v", err)
	}
	return tree
}

func findingMessages(findings []finding) []string {
	messages := make([]string, 0, len(findings))
	for _, f := range findings {
		messages = append(messages, f.String())
	}
	return messages
}

func requireFinding(t *testing.T, findings []finding, want string) {
	t.Helper()
	for _, f := range findings {
		if strings.Contains(f.String(), want) {
			return
		}
	}
	t.Errorf("no finding contains %q; findings:\n%s", want, strings.Join(findingMessages(findings), "\n"))
}

// checkFixture renders one kustomization from testdata and runs the object
// checks on it, as check does for each target.
func checkFixture(t *testing.T, name string) []finding {
	t.Helper()

	tree := filesys.MakeFsInMemory()
	dir := path.Join("/fixture", name)
	for _, file := range []string{"kustomization.yaml", "deployment.yaml"} {
		if err := copyFile(tree, filepath.Join("testdata", name, file), path.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}

	fixture := target{Name: name, Dir: dir}
	resources, err := render(tree, fixture)
	if err != nil {
		t.Fatalf("render fixture %s: %v", name, err)
	}

	podSecurity, err := newPodSecurityEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	out := &result{}
	out.checkTarget(fixture, resources, podSecurity, map[string]bool{})
	return out.Findings
}

func TestRealTreePasses(t *testing.T) {
	out, err := check(loadRealTree(t))
	if err != nil {
		t.Fatal(err)
	}

	if len(out.Findings) != 0 {
		t.Errorf("want no findings, got %d:\n%s", len(out.Findings), strings.Join(findingMessages(out.Findings), "\n"))
	}

	rendered := map[string]bool{}
	for _, render := range out.Renders {
		rendered[render.Target.Name] = true
	}
	for _, name := range []string{"k8s/base", "k8s/overlays/dev", "k8s/overlays/prod", "k8s/overlays/dev/database", "k8s/overlays/prod/database", "base+monitoring+otel-collector+postgres+redis"} {
		if !rendered[name] {
			t.Errorf("target %s was not rendered", name)
		}
	}
	if out.SkaffoldConfigs != 2 {
		t.Errorf("want 2 skaffold configs, got %d", out.SkaffoldConfigs)
	}
}

func TestTargetsCoverEveryComponentCombination(t *testing.T) {
	targets, err := discoverTargets(loadRealTree(t))
	if err != nil {
		t.Fatal(err)
	}

	combinations := 0
	for _, candidate := range targets {
		if strings.HasPrefix(candidate.Name, "base+") {
			combinations++
		}
	}
	// Four components: postgres, redis, otel-collector, monitoring.
	if combinations != 15 {
		t.Errorf("want 15 component combinations, got %d", combinations)
	}
}

func TestFixtureMisspeltFieldFails(t *testing.T) {
	findings := checkFixture(t, "misspelt-field")

	requireFinding(t, findings, `unknown field "spec.template.spec.containers[0].imagePullPolicyy"`)
	if len(findings) != 1 {
		t.Errorf("want exactly 1 finding, got %d:\n%s", len(findings), strings.Join(findingMessages(findings), "\n"))
	}
}

func TestFixturePrivilegedPodFails(t *testing.T) {
	findings := checkFixture(t, "privileged-pod")

	requireFinding(t, findings, `pod security "restricted": privileged`)
}

// TestMutatedTreeFails changes one line of the real tree in memory and
// expects the check to report it, so each kind of mistake is shown to be
// caught where it would really be made.
func TestMutatedTreeFails(t *testing.T) {
	tests := []struct {
		name string
		file string
		old  string
		new  string
		want string
	}{
		{
			name: "misspelt container field",
			file: "k8s/base/booking-svc.yaml",
			old:  "imagePullPolicy: IfNotPresent",
			new:  "imagePullPolicyy: IfNotPresent",
			want: `k8s/overlays/prod: Deployment setora/booking-svc: unknown field "spec.template.spec.containers[0].imagePullPolicyy"`,
		},
		{
			name: "wrongly cased field",
			file: "k8s/base/booking-svc.yaml",
			old:  "readOnlyRootFilesystem: true",
			new:  "ReadOnlyRootFilesystem: true",
			want: `unknown field "spec.template.spec.containers[0].securityContext.ReadOnlyRootFilesystem"`,
		},
		{
			name: "string where a number belongs",
			file: "k8s/base/availability-svc.yaml",
			old:  "terminationGracePeriodSeconds: 35",
			new:  `terminationGracePeriodSeconds: "35s"`,
			want: "k8s/overlays/dev: Deployment setora-dev/availability-svc: decode Deployment",
		},
		{
			name: "privileged container",
			file: "k8s/base/availability-svc.yaml",
			old:  "            privileged: false",
			new:  "            privileged: true",
			want: `k8s/overlays/prod: Deployment setora/availability-svc: pod security "restricted": privileged`,
		},
		{
			name: "root user",
			file: "k8s/migrate/job.yaml",
			old:  "runAsUser: 65532",
			new:  "runAsUser: 0",
			want: `k8s/overlays/prod/database: Job setora/setora-migrate: pod security "restricted": runAsUser=0`,
		},
		{
			name: "misspelt CloudNativePG field",
			file: "k8s/components/postgres/cluster.yaml",
			old:  "primaryUpdateStrategy: unsupervised",
			new:  "primaryUpdateStrategie: unsupervised",
			want: `Cluster setora/setora-db: unknown field "spec.primaryUpdateStrategie"`,
		},
		{
			name: "invalid CloudNativePG value",
			file: "k8s/components/postgres/cluster.yaml",
			old:  "podAntiAffinityType: preferred",
			new:  "podAntiAffinityType: sometimes",
			want: `spec.affinity.podAntiAffinityType is "sometimes"`,
		},
		{
			name: "misspelt PodMonitor field",
			file: "k8s/components/monitoring/podmonitors.yaml",
			old:  "podMetricsEndpoints:",
			new:  "podMetricEndpoints:",
			want: `PodMonitor setora/availability-svc: unknown field "spec.podMetricEndpoints"`,
		},
		{
			name: "misspelt PrometheusRule field",
			file: "k8s/components/monitoring/prometheusrule.yaml",
			old:  "          for: 2m",
			new:  "          four: 2m",
			want: `unknown field "spec.groups[1].rules[0].four"`,
		},
		{
			name: "namespace without the restricted level",
			file: "k8s/overlays/prod/namespace/namespace.yaml",
			old:  "pod-security.kubernetes.io/enforce: restricted",
			new:  "pod-security.kubernetes.io/enforce: baseline",
			want: `Namespace setora: label pod-security.kubernetes.io/enforce is "baseline"`,
		},
		{
			name: "selector that misses its template",
			file: "k8s/base/booking-svc.yaml",
			old:  "  selector:\n    matchLabels:\n      app.kubernetes.io/name: booking-svc\n  strategy:",
			new:  "  selector:\n    matchLabels:\n      app.kubernetes.io/name: booking\n  strategy:",
			want: "does not match the pod template's labels",
		},
		{
			name: "misspelt skaffold field",
			file: "skaffold.yaml",
			old:  "statusCheckDeadlineSeconds: 600",
			new:  "statusCheckDeadline: 600",
			want: `skaffold.yaml: skaffold.yaml document 2: unknown field "deploy.statusCheckDeadline"`,
		},
		{
			name: "port-forward on every interface",
			file: "skaffold.yaml",
			old:  "    port: 8082\n    localPort: 8082\n    address: 127.0.0.1",
			new:  "    port: 8082\n    localPort: 8082\n    address: 0.0.0.0",
			want: `port-forward of service/booking-svc binds to "0.0.0.0"`,
		},
		{
			name: "unknown required config",
			file: "skaffold.yaml",
			old:  "      - setora-database\n    activeProfiles:",
			new:  "      - setora-db\n    activeProfiles:",
			want: `requires config "setora-db", which skaffold.yaml does not define`,
		},
		{
			name: "skaffold path that is not rendered",
			file: "skaffold.yaml",
			old:  "      - k8s/overlays/prod\n",
			new:  "      - k8s/overlays/production\n",
			want: `kustomize path "k8s/overlays/production" is not a kustomization under k8s/`,
		},
		{
			name: "image without a skaffold artifact",
			file: "k8s/base/availability-svc.yaml",
			old:  "image: ko://github.com/setora/rest/availability-svc",
			new:  "image: ko://github.com/setora/rest/availability",
			want: `container image "ko://github.com/setora/rest/availability" has no skaffold artifact`,
		},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			tree := loadRealTree(t)
			filePath := path.Join(repoDir, test.file)

			original, err := tree.ReadFile(filePath)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(original), test.old) {
				t.Fatalf("%s no longer contains %q; update the test", test.file, test.old)
			}
			mutated := strings.Replace(string(original), test.old, test.new, 1)
			if err := tree.WriteFile(filePath, []byte(mutated)); err != nil {
				t.Fatal(err)
			}

			out, err := check(tree)
			if err != nil {
				t.Fatal(err)
			}
			requireFinding(t, out.Findings, test.want)
		})
	}
}

func TestSkaffoldDatabaseAfterServicesFails(t *testing.T) {
	tree := loadRealTree(t)
	filePath := path.Join(repoDir, "skaffold.yaml")

	original, err := tree.ReadFile(filePath)
	if err != nil {
		t.Fatal(err)
	}
	documents := strings.Split(string(original), "\n---\n")
	if len(documents) != 2 {
		t.Fatalf("want 2 documents in skaffold.yaml, got %d; update the test", len(documents))
	}
	swapped := documents[1] + "\n---\n" + documents[0]
	if err := tree.WriteFile(filePath, []byte(swapped)); err != nil {
		t.Fatal(err)
	}

	out, err := check(tree)
	if err != nil {
		t.Fatal(err)
	}
	requireFinding(t, out.Findings, `requires config "setora-database", which comes later in skaffold.yaml`)
}

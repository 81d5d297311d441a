#!/usr/bin/env bash
# Render and check k8s/ and skaffold.yaml without a cluster ("make k8s-check"):
#   1. go test and go run of tools/k8scheck: kustomize renders of every
#      overlay and component combination, strict decoding into the API
#      types, the "restricted" pod security level, skaffold.yaml;
#   2. kube-score on every render;
#   3. promtool check rules on every PrometheusRule, and promtool test rules
#      on k8s/components/monitoring/tests/*.yaml.
# Needs Go and the tools from scripts/install-tools.sh. Reaches no network
# except the Go module proxy when the module cache is empty.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:$(go env GOPATH)/bin"

for tool in promtool kube-score; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "k8s-check: $tool not found; run scripts/install-tools.sh first" >&2
    exit 1
  fi
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== tools/k8scheck: go test"
# Run the tests every time (-count=1), because they read k8s/ from outside
# the module and a cached pass must not stand in for the current tree.
(cd "$repo/tools/k8scheck" && go test -count=1 ./...)

echo "== tools/k8scheck: render and check"
(cd "$repo/tools/k8scheck" && go run . -root "$repo" -out "$out")

# Lowest Kubernetes release the manifests target: the preStop sleep action is
# on by default from 1.30.
kubernetes_version=v1.30

# Checks left out, with the reason:
#   container-image-pull-policy: skaffold deploys our images by digest, so
#     IfNotPresent cannot run a stale image, and Always would make every pod
#     start (and every HPA scale-up) depend on the registry.
#   deployment-has-host-podantiaffinity: the Deployments spread over nodes
#     with topologySpreadConstraints, which this check does not read.
ignored_checks=(
  --ignore-test container-image-pull-policy
  --ignore-test deployment-has-host-podantiaffinity
)

echo "== kube-score $kubernetes_version (critical fails everywhere; warnings fail the prod overlay)"
failed=0
for render in "$out"/renders/*.yaml; do
  name="$(basename "$render" .yaml)"
  strictness=()
  case "$name" in
    k8s_overlays_prod | k8s_overlays_prod_database) strictness=(--exit-one-on-warning) ;;
  esac

  if ! kube-score score --kubernetes-version "$kubernetes_version" --output-format ci \
    "${ignored_checks[@]}" "${strictness[@]}" "$render" >"$out/kube-score.txt"; then
    echo "kube-score: $name"
    grep -E '^\[(CRITICAL|WARNING)\]' "$out/kube-score.txt" || cat "$out/kube-score.txt"
    failed=1
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "k8s-check: kube-score reported problems (above)" >&2
  exit 1
fi
echo "kube-score: $(ls "$out"/renders/*.yaml | wc -l) renders passed"

echo "== promtool check rules"
shopt -s nullglob
rule_files=("$out"/rules/*/*.rules.yaml)
if [ "${#rule_files[@]}" -eq 0 ]; then
  echo "k8s-check: no PrometheusRule was rendered; check k8s/components/monitoring/prometheusrule.yaml" >&2
  exit 1
fi
# Most renders carry the same rules, so check each distinct file once.
declare -A seen_rules=()
distinct_rule_files=()
for rule_file in "${rule_files[@]}"; do
  digest="$(sha256sum <"$rule_file" | cut -d' ' -f1)"
  if [ -z "${seen_rules[$digest]:-}" ]; then
    seen_rules[$digest]=1
    distinct_rule_files+=("$rule_file")
  fi
done
promtool check rules "${distinct_rule_files[@]}"

echo "== promtool test rules"
# The tests name their rule files relative to themselves, so each runs beside
# the rules extracted from the monitoring component as written.
component_rules="$out/rules/base+monitoring"
for test_file in "$repo"/k8s/components/monitoring/tests/*.yaml; do
  cp "$test_file" "$component_rules/"
  promtool test rules "$component_rules/$(basename "$test_file")"
done

echo "k8s-check: passed"

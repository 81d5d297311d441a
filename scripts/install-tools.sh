#!/usr/bin/env bash
# Install the command-line tools that scripts/k8s-check.sh runs besides Go:
#   promtool    from Debian's "prometheus" package
#   kube-score  built from the Go module proxy
# Both land in "$(go env GOPATH)/bin". The script is safe to run again,
# because it skips promtool when one is installed and kube-score when the
# pinned version is.
#
# Needs root for apt-get (CI and the project's machines run as root).
set -euo pipefail

# kube-score's own go.mod pins k8s.io modules of an older release than
# tools/k8scheck uses, so it is built as a separate program rather than
# imported.
KUBE_SCORE_VERSION=v1.20.0

gobin="$(go env GOPATH)/bin"
mkdir -p "$gobin"

install_promtool() {
  if [ -x "$gobin/promtool" ] || command -v promtool >/dev/null 2>&1; then
    return
  fi

  # Only the promtool binary is taken from the package, so installing it
  # neither adds a Prometheus server nor starts one.
  if [ -z "$(apt-cache policy prometheus 2>/dev/null | grep Candidate: | grep -v '(none)')" ]; then
    apt-get update -qq
  fi

  local workdir
  workdir="$(mktemp -d)"
  # apt-get downloads as the _apt user, which must be able to write here.
  chown _apt "$workdir" 2>/dev/null || true
  (
    cd "$workdir"
    apt-get download -qq prometheus
    dpkg-deb -x prometheus_*.deb extracted
  )
  install -m 0755 "$workdir/extracted/usr/bin/promtool" "$gobin/promtool"
  rm -rf "$workdir"
}

install_kube_score() {
  # A go install build records its module version in the binary.
  if [ -x "$gobin/kube-score" ] &&
    go version -m "$gobin/kube-score" 2>/dev/null | grep -q "mod[[:space:]]*github.com/zegl/kube-score[[:space:]]*$KUBE_SCORE_VERSION"; then
    return
  fi
  go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
}

install_promtool
install_kube_score

echo "install-tools: promtool and kube-score $KUBE_SCORE_VERSION are in $gobin"

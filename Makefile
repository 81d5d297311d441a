# Run `make help` for the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

.PHONY: help run run-cluster test build vet k8s-tools k8s-check bench loadtest-smoke

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

run: ## Start PostgreSQL, the demo shop and both services at http://localhost:8080/v1
	@scripts/run.sh

run-cluster: ## Like run, with three availability-svc replicas behind the base URL
	@REPLICAS=3 scripts/run.sh

test: ## Run every test with -race against a private PostgreSQL
	@scripts/test.sh

build: ## Build the binaries into bin/
	go build -o bin/ ./availability-svc ./booking-svc ./tools/gateway

vet: ## Check formatting and run go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt would change the files above"; exit 1; }
	go vet ./...

k8s-tools: ## Install promtool and kube-score for k8s-check
	@scripts/install-tools.sh

k8s-check: k8s-tools ## Render and check k8s/ and skaffold.yaml without a cluster
	@scripts/k8s-check.sh

bench: ## Measure the figures in docs/benchmarks.md and rewrite it (about 10 minutes)
	@scripts/bench.sh

loadtest-smoke: ## Run the load generator for a few seconds on small data and verify the outcome
	@scripts/test.sh ./loadtest/

// Command k8scheck renders the repository's kustomize tree and checks it
// without a cluster.
//
// It renders every kustomization under k8s/ and the base with every
// combination of the components under k8s/components, decodes each object
// strictly into its Go API type, evaluates every pod template against the
// "restricted" Pod Security Standard, and validates skaffold.yaml. With -out
// it also writes each render (for kube-score) and each PrometheusRule's rule
// groups (for promtool); scripts/k8s-check.sh runs those two tools.
//
// Usage:
//
//	go run . -root ../.. -out /tmp/k8scheck
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "k8scheck:", err)
		os.Exit(2)
	}
}

func run() error {
	root := flag.String("root", "../..", "repository root, the folder that holds k8s/ and skaffold.yaml")
	out := flag.String("out", "", "folder to write renders/ and rules/ into (created if missing); nothing is written when empty")
	flag.Parse()

	tree, err := loadTree(*root)
	if err != nil {
		return err
	}

	result, err := check(tree)
	if err != nil {
		return err
	}

	if *out != "" {
		if err := result.write(*out); err != nil {
			return err
		}
	}

	result.printSummary(os.Stdout)
	if len(result.Findings) > 0 {
		os.Exit(1)
	}
	return nil
}

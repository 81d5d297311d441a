package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoDir is where loadTree places the repository inside the in-memory file
// system. Synthetic kustomizations for component combinations go under
// comboDir, two levels below it, so they reach k8s/ as ../../k8s.
const (
	repoDir  = "/repo"
	comboDir = "/repo/.k8scheck"
)

// target is one kustomization that k8scheck renders.
type target struct {
	// Name identifies the target in messages and output file names, for
	// example "k8s/overlays/dev" or "base+monitoring+redis".
	Name string
	// Dir is the kustomization's folder in the in-memory file system.
	Dir string
}

// loadTree copies k8s/ and skaffold.yaml from the repository at root into an
// in-memory file system, so that checks and tests can add or change files
// without touching the working tree.
func loadTree(root string) (filesys.FileSystem, error) {
	memory := filesys.MakeFsInMemory()

	k8sRoot := filepath.Join(root, "k8s")
	err := filepath.WalkDir(k8sRoot, func(diskPath string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() {
			return nil
		}

		relative, err := filepath.Rel(root, diskPath)
		if err != nil {
			return err
		}
		return copyFile(memory, diskPath, path.Join(repoDir, filepath.ToSlash(relative)))
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k8sRoot, err)
	}

	if err := copyFile(memory, filepath.Join(root, "skaffold.yaml"), path.Join(repoDir, "skaffold.yaml")); err != nil {
		return nil, err
	}
	return memory, nil
}

func copyFile(memory filesys.FileSystem, diskPath, memoryPath string) error {
	data, err := os.ReadFile(diskPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", diskPath, err)
	}
	if err := memory.MkdirAll(path.Dir(memoryPath)); err != nil {
		return err
	}
	return memory.WriteFile(memoryPath, data)
}

// kustomizationFileNames are the names kustomize looks for in a folder.
var kustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// discoverTargets lists every Kustomization under k8s/ and, for every
// non-empty set of the Components under k8s/components, a synthetic
// kustomization of the base plus that set. It writes the synthetic ones into
// the file system.
func discoverTargets(tree filesys.FileSystem) ([]target, error) {
	var targets []target
	var components []string

	err := tree.Walk(path.Join(repoDir, "k8s"), func(filePath string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() || !isKustomizationFile(filePath) {
			return nil
		}

		kind, err := kustomizationKind(tree, filePath)
		if err != nil {
			return err
		}
		dir := path.Dir(filePath)
		if kind == "Component" {
			components = append(components, path.Base(dir))
			return nil
		}
		targets = append(targets, target{Name: strings.TrimPrefix(dir, repoDir+"/"), Dir: dir})
		return nil
	})
	if err != nil {
		return nil, err
	}

	sort.Strings(components)
	combos, err := writeComponentCombinations(tree, components)
	if err != nil {
		return nil, err
	}

	sort.Slice(targets, func(i, j int) bool { return targets[i].Name < targets[j].Name })
	return append(targets, combos...), nil
}

func isKustomizationFile(filePath string) bool {
	for _, name := range kustomizationFileNames {
		if path.Base(filePath) == name {
			return true
		}
	}
	return false
}

func kustomizationKind(tree filesys.FileSystem, filePath string) (string, error) {
	data, err := tree.ReadFile(filePath)
	if err != nil {
		return "", err
	}

	var header struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &header); err != nil {
		return "", fmt.Errorf("parse %s: %w", filePath, err)
	}
	return header.Kind, nil
}

// writeComponentCombinations writes one kustomization per non-empty subset
// of components (2^n - 1 of them) and returns them as targets.
func writeComponentCombinations(tree filesys.FileSystem, components []string) ([]target, error) {
	var targets []target

	for mask := 1; mask < 1<<len(components); mask++ {
		var chosen []string
		for i, component := range components {
			if mask&(1<<i) != 0 {
				chosen = append(chosen, component)
			}
		}

		name := "base+" + strings.Join(chosen, "+")
		// The in-memory file system rejects "+" in folder names.
		dir := path.Join(comboDir, "base-"+strings.Join(chosen, "-"))

		var kustomization strings.Builder
		kustomization.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../k8s/base\ncomponents:\n")
		for _, component := range chosen {
			fmt.Fprintf(&kustomization, "  - ../../k8s/components/%s\n", component)
		}

		if err := tree.MkdirAll(dir); err != nil {
			return nil, err
		}
		if err := tree.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(kustomization.String())); err != nil {
			return nil, err
		}
		targets = append(targets, target{Name: name, Dir: dir})
	}
	return targets, nil
}

// render runs kustomize on one target with the same defaults as
// "kustomize build" (files may not be loaded from outside a kustomization's
// folder, no plugins).
func render(tree filesys.FileSystem, t target) (resmap.ResMap, error) {
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(tree, t.Dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", t.Name, err)
	}
	return resources, nil
}

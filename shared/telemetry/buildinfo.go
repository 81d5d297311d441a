package telemetry

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Link-time overrides for builds without version-control information (a container build from a
// source archive, for example):
//
//	go build -ldflags "-X github.com/setora/rest/shared/telemetry.version=v1.2.3 -X github.com/setora/rest/shared/telemetry.commit=abc123"
var (
	version string
	commit  string
)

// BuildInfo names the running build.
type BuildInfo struct {
	// Version is the module version, "(devel)" for a build from a work tree, or the link-time
	// override.
	Version string
	// Commit is the VCS revision, with "-dirty" when the tree had changes, or "unknown" when
	// the build recorded none (go build -buildvcs=false, or no .git directory).
	Commit    string
	GoVersion string
}

// ReadBuildInfo returns the build's version and commit from debug.ReadBuildInfo, unless the
// link-time overrides are set.
func ReadBuildInfo() BuildInfo {
	info := BuildInfo{Version: "unknown", Commit: "unknown", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.Version = bi.Main.Version
		revision, modified := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if revision != "" {
			info.Commit = revision
			if modified {
				info.Commit += "-dirty"
			}
		}
	}
	if version != "" {
		info.Version = version
	}
	if commit != "" {
		info.Commit = commit
	}
	return info
}

// RegisterBuildInfo registers setora_build_info, a gauge of 1 labelled with service and the
// build's version, commit and Go version, and returns what it registered.
func RegisterBuildInfo(reg prometheus.Registerer, service string) BuildInfo {
	info := ReadBuildInfo()
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "setora_build_info",
		Help: "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{
			"service": service, "version": info.Version, "commit": info.Commit, "go_version": info.GoVersion,
		},
	})
	gauge.Set(1)
	reg.MustRegister(gauge)
	return info
}

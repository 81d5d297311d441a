package telemetry_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/dbtest"
	"github.com/setora/rest/shared/telemetry"
)

// gather returns every sample of reg as metric name → list of samples.
func gather(t *testing.T, reg *prometheus.Registry) map[string][]*dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*dto.Metric{}
	for _, f := range families {
		out[f.GetName()] = f.GetMetric()
	}
	return out
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	info := telemetry.RegisterBuildInfo(reg, "test-svc")
	if info.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", info.GoVersion, runtime.Version())
	}
	if info.Version == "" || info.Commit == "" {
		t.Errorf("build info has an empty field: %+v", info)
	}

	samples := gather(t, reg)["setora_build_info"]
	if len(samples) != 1 {
		t.Fatalf("setora_build_info has %d samples, want 1", len(samples))
	}
	l := labels(samples[0])
	want := map[string]string{"service": "test-svc", "version": info.Version, "commit": info.Commit, "go_version": runtime.Version()}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if samples[0].GetGauge().GetValue() != 1 {
		t.Errorf("setora_build_info = %v, want 1", samples[0].GetGauge().GetValue())
	}
}

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Connect(ctx, dbtest.New(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewPoolCollector(pool, "main"))

	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := gather(t, reg)
	conn.Release()
	released := gather(t, reg)

	if got := value(t, held, "setora_db_pool_max_connections", nil); got != 3 {
		t.Errorf("max connections = %v, want 3", got)
	}
	if got := value(t, held, "setora_db_pool_connections", map[string]string{"state": "acquired"}); got != 1 {
		t.Errorf("acquired connections while one is held = %v, want 1", got)
	}
	if got := value(t, released, "setora_db_pool_connections", map[string]string{"state": "acquired"}); got != 0 {
		t.Errorf("acquired connections after release = %v, want 0", got)
	}
	if got := value(t, released, "setora_db_pool_connections", map[string]string{"state": "idle"}); got != 1 {
		t.Errorf("idle connections after release = %v, want 1", got)
	}
	if got := value(t, released, "setora_db_pool_acquires_total", nil); got < 1 {
		t.Errorf("acquires = %v, want at least 1", got)
	}
	if got := value(t, released, "setora_db_pool_new_connections_total", nil); got < 1 {
		t.Errorf("new connections = %v, want at least 1", got)
	}
}

// value returns the sample of name whose labels include match, failing when there is none.
func value(t *testing.T, samples map[string][]*dto.Metric, name string, match map[string]string) float64 {
	t.Helper()
	for _, m := range samples[name] {
		l := labels(m)
		if l["pool"] != "main" {
			t.Errorf("%s has pool label %q, want main", name, l["pool"])
		}
		matched := true
		for k, v := range match {
			matched = matched && l[k] == v
		}
		if !matched {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, match)
	return 0
}

// Package scripts holds checks of the shell helpers in lib.sh; the scripts themselves are bash.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keepEarlierLogs runs lib.sh's keep_earlier_logs on dir and returns what it prints.
func keepEarlierLogs(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("bash", "-c", `source lib.sh && keep_earlier_logs "$1"`, "bash", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("keep_earlier_logs: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestKeepEarlierLogsMovesThemAside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := time.Date(2026, 12, 4, 9, 30, 0, 0, time.Local)
	for name, text := range map[string]string{"migrate.log": "migrated\n", "booking-svc.log": "first run's request\n"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, started, started); err != nil {
			t.Fatal(err)
		}
	}

	folder := keepEarlierLogs(t, dir)
	if want := filepath.Join(dir, "2026-12-04T09-30-00"); folder != want {
		t.Fatalf("logs moved to %q, want %q", folder, want)
	}
	data, err := os.ReadFile(filepath.Join(folder, "booking-svc.log"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "first run's request\n" {
		t.Errorf("kept booking-svc.log = %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "booking-svc.log")); !os.IsNotExist(err) {
		t.Errorf("booking-svc.log is still at the top of the logs folder: %v", err)
	}
}

func TestKeepEarlierLogsWithoutLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if folder := keepEarlierLogs(t, dir); folder != "" {
		t.Errorf("an empty folder was moved to %q", folder)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("an empty logs folder now has %d entries", len(entries))
	}
}

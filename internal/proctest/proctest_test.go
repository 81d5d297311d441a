package proctest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// helperEnv makes the test binary act as the child process of these tests instead of running
// them: "serve" runs a small HTTP service, "echo" prints its arguments and one variable.
const helperEnv = "PROCTEST_HELPER"

// notReadyRequests is how many readiness requests the helper service rejects with 503.
const notReadyRequests = 3

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "serve":
		serveHelper()
	case "echo":
		fmt.Println(strings.Join(os.Args[1:], " "), os.Getenv("PROCTEST_GREETING"))
		os.Exit(0)
	default:
		os.Exit(m.Run())
	}
}

// serveHelper listens on PROCTEST_ADDR until SIGTERM, then writes "terminated" to
// PROCTEST_STOPPED_FILE and exits. /readyz returns 503 notReadyRequests times, then 200, and
// /count returns how many readiness requests it received.
func serveHelper() {
	var readiness atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if readiness.Add(1) <= notReadyRequests {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, readiness.Load())
	})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	listener, err := net.Listen("tcp", os.Getenv("PROCTEST_ADDR"))
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("helper listening on", listener.Addr())
	go func() { _ = http.Serve(listener, mux) }()

	<-stop
	if err := os.WriteFile(os.Getenv("PROCTEST_STOPPED_FILE"), []byte("terminated"), 0o600); err != nil {
		fmt.Println("write stopped file:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// testBinaries returns the running test binary as a Binaries entry and its name.
func testBinaries(t *testing.T) (Binaries, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Binaries{dir: filepath.Dir(self)}, filepath.Base(self)
}

// startHelper starts the helper service under t and returns it with its base URL.
func startHelper(t *testing.T, stoppedFile string) (*Process, string) {
	t.Helper()
	bins, name := testBinaries(t)
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	p := bins.Start(t, name, []string{helperEnv + "=serve", "PROCTEST_ADDR=" + addr,
		"PROCTEST_STOPPED_FILE=" + stoppedFile}, "http://"+addr+"/readyz")
	return p, "http://" + addr
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestStartWaitsUntilReady(t *testing.T) {
	p, base := startHelper(t, filepath.Join(t.TempDir(), "stopped"))

	count, err := strconv.Atoi(get(t, base+"/count"))
	if err != nil {
		t.Fatal(err)
	}
	if count != notReadyRequests+1 {
		t.Errorf("Start sent %d readiness requests, want %d: %d rejected, then one accepted",
			count, notReadyRequests+1, notReadyRequests)
	}
	log, err := os.ReadFile(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "helper listening on") {
		t.Errorf("log file %s contains %q, want the helper's start line", p.LogPath, log)
	}
}

func TestCleanupSendsSIGTERM(t *testing.T) {
	stoppedFile := filepath.Join(t.TempDir(), "stopped")
	t.Run("service", func(t *testing.T) {
		startHelper(t, stoppedFile)
	})

	data, err := os.ReadFile(stoppedFile)
	if err != nil {
		t.Fatalf("the helper did not record a SIGTERM: %v", err)
	}
	if string(data) != "terminated" {
		t.Errorf("stopped file contains %q, want %q", data, "terminated")
	}
}

func TestKillStopsWithoutShutdown(t *testing.T) {
	stoppedFile := filepath.Join(t.TempDir(), "stopped")
	p, base := startHelper(t, stoppedFile)

	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if resp, err := http.Get(base + "/count"); err == nil {
		resp.Body.Close()
		t.Errorf("the killed helper still responds with status %d", resp.StatusCode)
	}
	if _, err := os.Stat(stoppedFile); !os.IsNotExist(err) {
		t.Errorf("stopped file exists after SIGKILL (stat error %v), so the helper received a SIGTERM", err)
	}
}

func TestRunReturnsStandardOutput(t *testing.T) {
	bins, name := testBinaries(t)

	got := bins.Run(t, name, []string{helperEnv + "=echo", "PROCTEST_GREETING=hello"}, "one", "two")
	if want := "one two hello\n"; got != want {
		t.Errorf("Run returned %q, want %q", got, want)
	}
}

func TestFreePortIsBindable(t *testing.T) {
	port := FreePort(t)

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("listen on the free port %d: %v", port, err)
	}
	l.Close()
}

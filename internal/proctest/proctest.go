// Package proctest builds the module's commands and runs them as child processes of a test:
// one-shot subcommands such as `booking-svc migrate`, and services that stay up until the test
// ends. A service's output goes to a log file that the test prints when it fails.
//
// It is for tests only. FreePort picks ports on 127.0.0.1 for the services to listen on.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Package paths of the commands that tests start.
const (
	AvailabilitySvc = "github.com/setora/rest/availability-svc"
	BookingSvc      = "github.com/setora/rest/booking-svc"
	Gateway         = "github.com/setora/rest/tools/gateway"
)

const (
	// readyTimeout is how long Start polls the readiness URL. Under `make test` the race-built
	// tests share two cores with the services, so start-up can take several seconds.
	readyTimeout = 30 * time.Second
	// readyPollInterval is the pause between two readiness requests.
	readyPollInterval = 50 * time.Millisecond
	// stopGrace is how long a stopping service may drain after SIGTERM before it gets SIGKILL.
	stopGrace = 15 * time.Second
)

// readyClient polls readiness URLs. Keep-alives are off so that no idle connection outlives
// the poll (goleak checks some of the calling packages), and the timeout bounds a request to a
// process that accepts connections but does not respond.
var readyClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   5 * time.Second,
}

// Binaries is a directory of built commands, each named after the last element of its package
// path (booking-svc, availability-svc, gateway).
type Binaries struct {
	dir string
}

// BuildAndRun is for TestMain, where no testing.T exists. It builds packages into a temporary
// directory, points *bins at it, calls run (usually m.Run) and deletes the directory. It returns
// run's exit code, or 1 after printing the compiler's output to standard error if the build
// fails.
func BuildAndRun(bins *Binaries, run func() int, packages ...string) int {
	dir, err := os.MkdirTemp("", "setora-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create binary directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	*bins = Binaries{dir: dir}
	if err := bins.build(packages); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return run()
}

// BuildForTest compiles packages into a directory that is deleted when t ends, and fails t if
// the build fails.
func BuildForTest(t testing.TB, packages ...string) Binaries {
	t.Helper()
	bins := Binaries{dir: t.TempDir()}
	if err := bins.build(packages); err != nil {
		t.Fatal(err)
	}
	return bins
}

func (b Binaries) build(packages []string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", b.dir + string(filepath.Separator)}, packages...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %v: %w\n%s", packages, err, out)
	}
	return nil
}

// Path returns the path of the binary built from the package whose last path element is name.
func (b Binaries) Path(name string) string {
	return filepath.Join(b.dir, path.Base(name))
}

// Run runs the binary name with args to completion and returns its standard output. env is
// added to the test's own environment, so a variable in env overrides an inherited one. A
// non-zero exit fails t and prints both output streams.
func (b Binaries) Run(t testing.TB, name string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(b.Path(name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr.String())
	}
	return string(out)
}

// Process is a service started by Binaries.Start.
type Process struct {
	// LogPath is the file that receives the process's standard output and standard error. It
	// can be read while the process runs.
	LogPath string

	name string // the binary's name, for messages
	cmd  *exec.Cmd
	// exited is closed once the process has exited and its log file is closed.
	exited chan struct{}
}

// Start runs the binary name with args until t ends and returns once readyURL responds with a
// status below 500. env is added to the test's own environment. Start fails t if the process
// does not start, exits or is not ready within 30 seconds.
//
// When t ends the process gets SIGTERM, then SIGKILL if it has not exited 15 seconds later,
// and its log is printed if t failed.
func (b Binaries) Start(t testing.TB, name string, env []string, readyURL string, args ...string) *Process {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), path.Base(name)+"-*.log")
	if err != nil {
		t.Fatalf("create log file for %s: %v", name, err)
	}
	cmd := exec.Command(b.Path(name), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}

	p := &Process{name: path.Base(name), LogPath: logFile.Name(), cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s log ---\n%s", p.name, p.readLog())
		}
	})

	// On failure the cleanup above prints the log, once the process has stopped.
	if err := p.waitReady(readyURL); err != nil {
		t.Fatalf("%s is not ready at %s: %v", p.name, readyURL, err)
	}
	return p
}

// waitReady polls url until it responds with a status below 500. It gives up when the process
// exits or after readyTimeout.
func (p *Process) waitReady(url string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := readyClient.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}

		select {
		case <-p.exited:
			return fmt.Errorf("the process ended early (%s)", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s, last error: %w", readyTimeout, err)
		}
		time.Sleep(readyPollInterval)
	}
}

// Kill sends SIGKILL, so the process gets no chance to shut down cleanly, and waits for it to
// exit. It is safe to call from a goroutine other than the test's.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.exited
	return nil
}

// stop sends SIGTERM and waits up to stopGrace for the process to exit, then sends SIGKILL. A
// process that has already exited is left as it is.
func (p *Process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *Process) readLog() string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(read log %s: %v)", p.LogPath, err)
	}
	return string(data)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process can take
// it before the caller binds it, which is rare enough for tests.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

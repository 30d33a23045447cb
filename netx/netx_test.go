package netx_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/netx"
)

// childEnv makes the test binary run a helper server instead of the tests
// (see slowloris_linux_test.go).
const childEnv = "GOTUNE_NETX_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	// The first signal.Notify starts a goroutine that lives for the rest
	// of the process; start it now so checkLeaks does not count it
	// against the test that first serves with signals.
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	signal.Stop(c)
	goleak.VerifyTestMain(m)
}

// checkLeaks records goroutine and descriptor counts and, when the test
// ends (after every cleanup registered later), waits up to 5s for both to
// return to that baseline. Call it first in a test.
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, f0 := runtime.NumGoroutine(), countFDs()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f := runtime.NumGoroutine(), countFDs()
			if g <= g0 && f <= f0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("after test: goroutines %d (baseline %d), descriptors %d (baseline %d) %v\n%s", g, g0, f, f0, fdTargets(), buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// fdTargets lists what the open descriptors point at, for failure messages.
func fdTargets() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+l)
	}
	return out
}

// countFDs counts this process's open descriptors (0 where /proc is absent).
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveNetx serves srv (built by netx.NewServer) on loopback through
// netx.Serve and stops it when the test ends. Signals are off.
func serveNetx(t *testing.T, srv *http.Server, opts ...netx.ServeOption) string {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts = append([]netx.ServeOption{netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(2 * time.Second)}, opts...)
	go func() { done <- netx.Serve(ctx, srv, ln, opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, netx.ErrShutdownTimeout) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// serveBare serves a plain http.Server (no timeouts) on loopback.
// configure, if given, runs before the server starts.
func serveBare(t *testing.T, h http.Handler, configure ...func(*http.Server)) (string, *http.Server) {
	t.Helper()
	ln := listen(t)
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)} //nolint:gosec // the point of the comparison
	for _, f := range configure {
		f(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return "http://" + ln.Addr().String(), srv
}

// quietServer returns NewServer with net/http's error log discarded.
func quietServer(h http.Handler, opts ...netx.ServerOption) *http.Server {
	srv := netx.NewServer(h, opts...)
	srv.ErrorLog = log.New(io.Discard, "", 0)
	return srv
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// rawRequest writes req on a fresh connection and reads one response.
func rawRequest(t *testing.T, url, req string) (*http.Response, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp, nil
}

// waitFor polls cond every 5ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quantile returns the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// latencies is a concurrency-safe sample set.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

func (l *latencies) get() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.ds...)
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
}

// testClient is a keep-alive client for tests, closed when the test ends.
func testClient(t *testing.T, conns int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = fmt.Sprintf

// lockedWriter serializes writes to a buffer shared with the test.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newTestLogger(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, w}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

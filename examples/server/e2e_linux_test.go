//go:build linux

package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tune"
)

const mib = 1 << 20

// TestEndToEnd starts the server as a process inside a cgroup with a
// 1.5-CPU quota and a 512 MiB memory limit, drives load at it, sends SIGTERM
// in the middle, and checks the settings it reports, /metrics, the status
// page, that no accepted request failed, and a clean exit.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process under load; skipped with -short")
	}
	g := cgtest.New(t, nil, "e2e")
	g.Quota(t, 1.5)
	g.Set(t, "memory.limit_in_bytes", fmt.Sprint(512*mib))
	bin := cgtest.Build(t, ".", t.TempDir())

	cmd := g.Command(bin, "-addr", "127.0.0.1:0", "-drain-delay", "1s", "-shutdown-timeout", "5s")
	cmd.Env = cgtest.CleanEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out syncBuffer // the server's stdout
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`serving:\s+(https://\S+)/`)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	var url string
	select {
	case url = <-base:
	case err := <-exited:
		t.Fatalf("server exited before serving: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not print its address in 60s\n%s", stderr.String())
	}

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the server's certificate is self-signed
			MaxIdleConnsPerHost: 16,
		},
	}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := client.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	// The settings it reports: the runtime's answer for 1.5 CPUs, and
	// 0.9 × 512 MiB.
	code, body := get("/debug/gotune?format=json")
	if code != 200 {
		t.Fatalf("status page: %d", code)
	}
	var snap struct {
		Sections []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"sections"`
	}
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("status JSON: %v", err)
	}
	var names []string
	var report tune.Report
	for _, s := range snap.Sections {
		names = append(names, s.Name)
		if s.Name == "tune" {
			var v struct{ Report tune.Report }
			if err := json.Unmarshal(s.Value, &v); err != nil {
				t.Fatal(err)
			}
			report = v.Report
		}
	}
	for _, want := range []string{"tune", "gcguard", "pool http", "client backend", "server front", "tlscache front"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("status page sections %v lack %q", names, want)
		}
	}
	memMax := int64(512 * mib)
	wantLimit := int64(float64(memMax) * 0.9)
	if report.GOMEMLIMIT.After != wantLimit || report.Limits.CPUQuota != 1.5 || report.Limits.MemoryMax != 512*mib {
		t.Errorf("tune report = %s, want quota 1.5 and GOMEMLIMIT %d", report, wantLimit)
	}
	if got := rows(out.String())["GOMEMLIMIT"]; got != [2]string{status.FormatBytes(float64(wantLimit)), "tune"} {
		t.Errorf("start-up GOMEMLIMIT line = %q, want %s from tune:\n%s", got, status.FormatBytes(float64(wantLimit)), out.String())
	}
	if code, body := get("/debug/gotune"); code != 200 || !strings.Contains(body, "<h2>gcguard</h2>") {
		t.Errorf("status page HTML: %d, gcguard section missing", code)
	}

	// Load: workers send requests until told to stop; SIGTERM goes out
	// while they run.
	var (
		ok, shed, refused, failed atomic.Int64
		failures                  sync.Map
		stop                      = make(chan struct{})
		wg                        sync.WaitGroup
		removed                   atomic.Bool // the "load balancer" saw /readyz fail
	)
	// A load balancer's health check: it polls /readyz and takes the
	// server out of rotation once it fails, as Kubernetes does. Requests
	// sent before it notices must still succeed: that is what the drain
	// delay is for.
	wg.Add(1)
	go func() {
		defer wg.Done()
		lb := &http.Client{Timeout: time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true,
		}}
		for !removed.Load() {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			res, err := lb.Get(url + "/readyz")
			if err != nil {
				removed.Store(true)
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				removed.Store(true)
			}
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if removed.Load() {
					return
				}
				res, err := client.Get(url + "/")
				if err != nil {
					// After the listener closes, new connections are
					// refused: those requests were never accepted.
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					ok.Add(1)
				case 503:
					shed.Add(1)
				default:
					failed.Add(1)
					failures.Store(fmt.Sprint("status ", res.StatusCode), true)
				}
			}
		}()
	}
	time.Sleep(time.Second)

	// /metrics while under load: every gotune collector and the Go collector.
	code, metrics := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"gotune_tune_memory_max_bytes 5.36870912e+08", "gotune_tune_cpu_quota_cpus 1.5",
		"gotune_pool_gets_total", "gotune_tlscache_hits_total", "gotune_netx_server_requests_total",
		"gotune_netx_client_requests_total", "gotune_gcguard_memory_target_bytes",
		"go_gc_gomemlimit_bytes " + fmt.Sprintf("%g", float64(wantLimit)), "go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Per-node metrics exist where the host has a NUMA topology to read.
	if _, err := numa.Discover(); err == nil && !strings.Contains(metrics, "gotune_numa_") {
		t.Errorf("/metrics lacks gotune_numa_ although numa.Discover works here")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		close(stop)
		wg.Wait()
		if err != nil {
			t.Errorf("server exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		close(stop)
		wg.Wait()
		t.Fatalf("server did not exit within 30s of SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(out.String(), "gotune server: stopped") {
		t.Errorf("no clean stop line in stdout")
	}
	t.Logf("load: %d ok, %d shed (503), %d refused after close, %d failed; taken out of rotation: %v", ok.Load(), shed.Load(), refused.Load(), failed.Load(), removed.Load())
	if !removed.Load() {
		t.Errorf("/readyz never failed during the drain")
	}
	if failed.Load() > 0 {
		var msgs []string
		failures.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return true })
		t.Errorf("%d accepted requests failed: %v", failed.Load(), msgs)
	}
	if ok.Load() == 0 {
		t.Errorf("no request succeeded")
	}
	for _, phase := range []string{"phase=draining", "phase=shutdown", "phase=stopped"} {
		if !strings.Contains(stderr.String(), phase) {
			t.Errorf("server log lacks %s", phase)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

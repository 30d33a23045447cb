//go:build linux

package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
)

// TestThrottlingShown starts the server in a real cgroup with a 0.3 CPU
// quota and a 500 ms refresh, beside a busy shell in the same group, loads
// it with TLS handshakes (new connections, so the server burns CPU) for
// 3 s, and checks that the throttling is on /metrics and highlighted on
// /debug/gotune by then, and that the warning was logged once.
func TestThrottlingShown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process under load; skipped with -short")
	}
	g := cgtest.New(t, nil, "throttle03")
	g.Quota(t, 0.3)
	bin := serverBinary(t)
	cmd := g.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append(cgtest.CleanEnv(), "GOTUNE_REFRESH=500ms")
	s := launch(t, cmd)

	// A busy shell in the same cgroup (a sidecar, say) spends the quota
	// too, so the group is throttled however fast this test's client can
	// load the server (a race-detector build of the test is slow).
	burner := g.Command("/bin/sh", "-c", "while :; do :; done")
	if err := burner.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { burner.Process.Kill(); burner.Wait() }()

	load := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // self-signed
		DisableKeepAlives: true,                                  // a handshake per request
	}}
	stop := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if res, err := load.Get(s.url + "/"); err == nil {
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	// One refresh interval past the load: the last read includes it.
	time.Sleep(600 * time.Millisecond)

	re := regexp.MustCompile(`(?m)^gotune_tune_cpu_throttled_periods_total\{[^}]*scope="leaf"[^}]*\} (\S+)$`)
	m := re.FindStringSubmatch(s.get(t, "/metrics"))
	if m == nil {
		t.Fatal("/metrics has no gotune_tune_cpu_throttled_periods_total{scope=\"leaf\"}")
	}
	if n, _ := strconv.ParseFloat(m[1], 64); n <= 0 {
		t.Errorf("gotune_tune_cpu_throttled_periods_total{scope=leaf} = %s after 3 s of load under a 0.3 CPU quota, want > 0", m[1])
	}
	var snap struct {
		Summary []struct{ Name, Value, Reason, Level string }
	}
	if err := json.Unmarshal([]byte(s.get(t, "/debug/gotune?format=json")), &snap); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range snap.Summary {
		if r.Name == "CPU throttling" {
			found = true
			if r.Level != "warn" || !strings.Contains(r.Reason, "0.3 CPU quota") {
				t.Errorf("status row %+v, want it highlighted (warn) with the cause", r)
			}
		}
	}
	if !found {
		t.Errorf("no CPU throttling row in the summary: %+v", snap.Summary)
	}
	page := s.get(t, "/debug/gotune")
	if !strings.Contains(page, "CPU throttling") {
		t.Error("the HTML page has no CPU throttling row")
	}
	if n := strings.Count(s.stderr.String(), "throttled in "); n != 1 {
		t.Errorf("throttling warnings logged: %d, want 1:\n%s", n, s.stderr.String())
	}
}

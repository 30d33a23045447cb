//go:build linux

package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildDir  string
)

// serverBinary builds examples/server once for the tests of this file.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotune-server-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = dir
		buildBin = cgtest.Build(t, ".", dir)
	})
	if buildBin == "" {
		t.Fatal("examples/server did not build")
	}
	return buildBin
}

// launched is a server process that printed its start-up block.
type launched struct {
	url    string
	block  string // stdout up to and including the "serving:" line's block
	client *http.Client
	stderr *syncBuffer // the log
}

// launch runs cmd (the server binary, maybe inside a cgroup), waits for
// its start-up block, and stops it when the test ends.
func launch(t *testing.T, cmd *exec.Cmd) *launched {
	t.Helper()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var out syncBuffer
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`serving:\s+(https?://\S+)/`)
		url := ""
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				url = m[1]
			}
			if url != "" && strings.Contains(sc.Text(), "Ctrl-C or SIGTERM") {
				ready <- url
			}
		}
		close(ready)
	}()
	var url string
	select {
	case u, ok := <-ready:
		if !ok {
			t.Fatalf("server exited before its start-up block:\n%s\n%s", out.String(), stderr.String())
		}
		url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("no start-up block in 60s:\n%s\n%s", out.String(), stderr.String())
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed
	}}
	t.Cleanup(client.CloseIdleConnections)
	return &launched{url: url, block: out.String(), client: client, stderr: &stderr}
}

func (s *launched) get(t *testing.T, path string) string {
	t.Helper()
	res, err := s.client.Get(s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d: %s", path, res.StatusCode, b)
	}
	return string(b)
}

// rows parses the start-up block's decision lines: "  NAME  VALUE  SOURCE: REASON".
func rows(block string) map[string][2]string {
	m := map[string][2]string{}
	re := regexp.MustCompile(`(?m)^  (\S.*?)  +(\S.*?)  +(?:WARN |BAD )?([^:]+): (.*)$`)
	for _, l := range re.FindAllStringSubmatch(block, -1) {
		m[l[1]] = [2]string{l[2], l[3]}
	}
	return m
}

// TestStartupBlock starts the server on this host as it is (no CPU quota,
// no memory limit for the test's own cgroup, or whatever the host has) and
// in a 0.5 CPU / 256 MiB cgroup, and checks the start-up block against
// itself and against the status page: each setting is printed once, with a
// source, and says what the page says.
func TestStartupBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes; skipped with -short")
	}
	bin := serverBinary(t)
	type want struct {
		limits, gomemlimit, gomemlimitSource, target, targetSource string
	}
	for _, tc := range []struct {
		name string
		cmd  func(t *testing.T) *exec.Cmd
		want want
	}{
		{
			name: "no limits",
			cmd: func(t *testing.T) *exec.Cmd {
				g := cgtest.New(t, nil, "startup-free") // a fresh group without limits
				return g.Command(bin, "-addr", "127.0.0.1:0")
			},
			want: want{limits: "no memory limit", gomemlimit: "1 GiB", gomemlimitSource: "gcguard",
				target: "1 GiB", targetSource: "examples/server"},
		},
		{
			name: "0.5 CPU 256 MiB",
			cmd: func(t *testing.T) *exec.Cmd {
				g := cgtest.New(t, nil, "startup-small")
				g.Quota(t, 0.5)
				g.Set(t, "memory.limit_in_bytes", fmt.Sprint(256*mib))
				return g.Command(bin, "-addr", "127.0.0.1:0")
			},
			// 0.9 × 256 MiB, set by tune; gcguard takes it as its target
			// and follows it.
			want: want{limits: "memory.max 256 MiB", gomemlimit: "230.4 MiB", gomemlimitSource: "tune",
				target: "230.4 MiB", targetSource: "tune"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.cmd(t)
			cmd.Env = cgtest.CleanEnv()
			s := launch(t, cmd)
			t.Logf("start-up block:\n%s", s.block)
			if !strings.Contains(s.block, tc.want.limits) {
				// On cgroup v2 the group may sit under the test's own
				// cgroup, whose limits (a CI container's) then bind.
				t.Skipf("limits line lacks %q: an ancestor cgroup's limits bind here", tc.want.limits)
			}
			r := rows(s.block)
			for _, name := range []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "gcguard target", "memory pressure", "in-flight limit (front)", "TLS cache (front)", "NUMA pin"} {
				if r[name][1] == "" {
					t.Errorf("no %q line with a source", name)
				}
			}
			// Each setting once: no "GOMEMLIMIT=off" beside "GOMEMLIMIT 1 GiB".
			for _, name := range []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC"} {
				if n := len(regexp.MustCompile(`\b`+name+`(=| {2,}\S)`).FindAllString(s.block, -1)); n != 1 {
					t.Errorf("%s appears on %d lines, want 1:\n%s", name, n, s.block)
				}
			}
			if got := r["GOMEMLIMIT"]; got[0] != tc.want.gomemlimit || got[1] != tc.want.gomemlimitSource {
				t.Errorf("GOMEMLIMIT line = %q, want %s from %s", got, tc.want.gomemlimit, tc.want.gomemlimitSource)
			}
			if got := r["gcguard target"]; got[0] != tc.want.target || got[1] != tc.want.targetSource {
				t.Errorf("gcguard target line = %q, want %s from %s", got, tc.want.target, tc.want.targetSource)
			}
			if strings.Contains(s.block, "(option)") {
				t.Errorf("the block names an option no one passed:\n%s", s.block)
			}
			// The block and the page say the same.
			var snap struct {
				Summary []struct{ Name, Value, Source string }
			}
			if err := json.Unmarshal([]byte(s.get(t, "/debug/gotune?format=json")), &snap); err != nil {
				t.Fatal(err)
			}
			if raw := rawNumbers(s.get(t, "/debug/gotune")); len(raw) > 0 {
				t.Errorf("status page shows raw numbers %q; want human units", raw)
			}
			for _, row := range snap.Summary {
				if row.Name == "memory pressure" || row.Name == "CPU throttling" || strings.HasPrefix(row.Name, "in-flight") || strings.HasPrefix(row.Name, "TLS cache") {
					continue // figures that move with traffic
				}
				if got := r[row.Name]; got[0] != row.Value || got[1] != row.Source {
					t.Errorf("page says %s = %s (%s), start-up block %q", row.Name, row.Value, row.Source, got)
				}
			}
		})
	}
}

// rawNumbers returns the numbers of five digits or more in a page's
// visible text: bytes, nanoseconds or counts that were not put in human
// units.
func rawNumbers(html string) []string {
	text := regexp.MustCompile(`(?s)<style>.*?</style>|<[^>]*>`).ReplaceAllString(html, " ")
	text = strings.Join(strings.Fields(text), " ")
	// Each with some context, so a failure says where it is.
	// Digits inside a word or a path ("gotune-25318") are names, not figures.
	return regexp.MustCompile(`.{0,40}(?:^|[\s(])\d{5,}\b`).FindAllString(text, -1)
}

// TestHelp: -help prints the usage first (no log line before it), lists
// the flags and every GOTUNE_* variable tune reads, and exits.
func TestHelp(t *testing.T) {
	bin := serverBinary(t)
	cmd := exec.Command(bin, "-help")
	cmd.Env = cgtest.CleanEnv()
	out, _ := cmd.CombinedOutput() // flag exits 0 for -help
	text := string(out)
	if !strings.HasPrefix(text, "Usage: ") {
		t.Errorf("-help output does not start with the usage:\n%s", text)
	}
	src, err := os.ReadFile("../../tune/env.go")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, v := range regexp.MustCompile(`GOTUNE_[A-Z_]+`).FindAllString(string(src), -1) {
		vars[v] = true
	}
	if len(vars) < 4 {
		t.Fatalf("found only %v in tune/env.go", vars)
	}
	for v := range vars {
		if !strings.Contains(text, v) {
			t.Errorf("-help does not list %s", v)
		}
	}
	for _, f := range []string{"-addr", "-memory-target", "-max-inflight", "GOTUNE=off"} {
		if !strings.Contains(text, f) {
			t.Errorf("-help lacks %s", f)
		}
	}
}

// TestFleetMetricsExist scrapes a running examples/server and checks that
// every metric the Prometheus rules and the Grafana dashboard in
// examples/kubernetes name is in the scrape. The names come from the
// scrape, not from a list, so a renamed metric fails here.
func TestFleetMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process; skipped with -short")
	}
	bin := serverBinary(t)
	// A pod-like cgroup: the CPU quota makes tune export its throttling
	// figures, as it does in a pod with a CPU limit.
	g := cgtest.New(t, nil, "fleet")
	g.Quota(t, 1.5)
	g.Set(t, "memory.limit_in_bytes", fmt.Sprint(512*mib))
	cmd := g.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = cgtest.CleanEnv()
	s := launch(t, cmd)
	for range 5 {
		s.get(t, "/") // fill the per-request series
	}
	scraped := map[string]bool{}
	for _, line := range strings.Split(s.get(t, "/metrics"), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			scraped[strings.Fields(line)[2]] = true
		} else if line != "" && !strings.HasPrefix(line, "#") {
			scraped[regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`).FindString(line)] = true
		}
	}
	metricRE := regexp.MustCompile(`\b(?:gotune|go|process)_[a-z0-9_]+\b`)

	rules, err := os.ReadFile("../kubernetes/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ruleExprs []string
	for _, l := range strings.Split(string(rules), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		ruleExprs = append(ruleExprs, l)
	}
	dash, err := os.ReadFile("../kubernetes/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var dashExprs []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "expr" || k == "query") {
					dashExprs = append(dashExprs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(d)
	if len(dashExprs) < 10 {
		t.Fatalf("dashboard has %d queries; want its panels' expressions", len(dashExprs))
	}
	for _, src := range []struct {
		name  string
		exprs []string
	}{{"alerts.yaml", ruleExprs}, {"dashboard.json", dashExprs}} {
		names := map[string]bool{}
		for _, e := range src.exprs {
			for _, n := range metricRE.FindAllString(e, -1) {
				names[n] = true
			}
		}
		var missing []string
		for n := range names {
			if !scraped[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s names metrics that examples/server does not export: %v", src.name, missing)
		}
		if len(names) < 5 {
			t.Errorf("%s names only %d metrics: %v", src.name, len(names), names)
		}
		t.Logf("%s: %d metric names, all in the scrape", src.name, len(names))
	}
}

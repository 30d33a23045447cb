//go:build linux

package auto_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/cgtest"
	"github.com/gotune/gotune/tune"
)

type throttleResult struct {
	Before, After               tune.Signals
	ScrapedBefore, ScrapedAfter float64
	GOMAXPROCS                  int
}

// runThrottleChild runs testdata/throttle in g, busy on every P for 2 s
// with a 200 ms refresh, and returns what it saw and what it logged.
func runThrottleChild(t *testing.T, bin string, g *cgtest.Group) (throttleResult, string) {
	t.Helper()
	cmd := g.Command(bin, "-burn", "2s")
	cmd.Env = append(cgtest.CleanEnv(), "GOTUNE_REFRESH=200ms")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("throttle child: %v\nstderr:\n%s", err, stderr.String())
	}
	var r throttleResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("throttle child output %q: %v", stdout.String(), err)
	}
	return r, stderr.String()
}

// TestLiveThrottlingSeen runs a CPU-bound child under a real 0.2 CPU quota:
// it sees its throttled periods grow in Signals and in the collector, and
// logs one warning naming the cause and the fix. A child in a cgroup
// without a quota sees none of it.
func TestLiveThrottlingSeen(t *testing.T) {
	quota := cgtest.New(t, nil, "quota02")
	quota.Quota(t, 0.2)
	free := cgtest.New(t, nil, "noquota")
	dir := t.TempDir()
	bin := cgtest.Build(t, "./testdata/throttle", dir)
	defer os.RemoveAll(dir)

	r, log := runThrottleChild(t, bin, quota)
	if r.After.CPU == nil || r.Before.CPU == nil {
		t.Fatalf("no cpu.stat in Signals: before %+v, after %+v", r.Before, r.After)
	}
	if r.After.CPU.Throttled <= r.Before.CPU.Throttled {
		t.Errorf("nr_throttled %d → %d over 2 s busy under a 0.2 CPU quota, want it to grow", r.Before.CPU.Throttled, r.After.CPU.Throttled)
	}
	if r.ScrapedAfter <= r.ScrapedBefore || r.ScrapedAfter != float64(r.After.CPU.Throttled) {
		t.Errorf("gotune_tune_cpu_throttled_periods_total{scope=leaf} %v → %v, want it to grow to %d", r.ScrapedBefore, r.ScrapedAfter, r.After.CPU.Throttled)
	}
	if r.After.ThrottledShare <= tune.ThrottleWarnShare {
		t.Errorf("throttled share %v over %v, want above %v", r.After.ThrottledShare, r.After.Window, tune.ThrottleWarnShare)
	}
	if n := strings.Count(log, "throttled in "); n != 1 {
		t.Errorf("throttling warnings logged: %d, want 1:\n%s", n, log)
	} else if !strings.Contains(log, "0.2 CPU quota") || !strings.Contains(log, "raise the quota or lower GOMAXPROCS") {
		t.Errorf("warning does not name the quota and the fix:\n%s", log)
	}

	r, log = runThrottleChild(t, bin, free)
	if r.After.CPU != nil && r.After.CPU.Throttled != 0 {
		t.Errorf("unthrottled child: nr_throttled %d, want 0", r.After.CPU.Throttled)
	}
	if r.After.ThrottledShare != 0 || strings.Contains(log, "throttled in ") {
		t.Errorf("unthrottled child: share %v, log:\n%s\nwant no throttling", r.After.ThrottledShare, log)
	}
}

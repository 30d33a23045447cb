package tune_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/tunemetrics"
)

// writeTree lays out a small cgroup v2 root with the given memory.max.
func writeTree(t *testing.T, dir, memMax string) {
	t.Helper()
	files := map[string]string{
		"proc/self/cgroup":             "0::/pod\n",
		"proc/self/mountinfo":          "32 27 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"proc/self/status":             "Cpus_allowed_list:\t0-3\n",
		"sys/fs/cgroup/pod/cpu.max":    "200000 100000\n",
		"sys/fs/cgroup/pod/memory.max": memMax + "\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// Write through a temporary file, as the kernel's files change
		// atomically for a reader.
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTunerFollowsResize changes memory.max under a running Tuner, as an
// in-place pod resize does, and waits (bounded) for GOMEMLIMIT to follow.
func TestTunerFollowsResize(t *testing.T) {
	tune.ResetState()
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)

	dir := t.TempDir()
	writeTree(t, dir, "1073741824")
	tu := tune.NewTuner(20*time.Millisecond, noEnv, tune.WithRoot(dir))
	if err := tu.Start(); err != nil {
		t.Fatal(err)
	}
	defer tu.Stop()
	if got := debug.SetMemoryLimit(-1); got != frac(0.9, 1<<30) {
		t.Fatalf("limit after Start = %d, want %d", got, frac(0.9, 1<<30))
	}

	waitFor := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for debug.SetMemoryLimit(-1) != want {
			if time.Now().After(deadline) {
				t.Fatalf("limit = %d after 10s, want %d", debug.SetMemoryLimit(-1), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	writeTree(t, dir, "536870912")
	waitFor(frac(0.9, 512*mib))
	want := fmt.Sprintf(`
# HELP gotune_tune_memory_max_bytes Tightest memory.max over the cgroup and its ancestors; 0 means none.
# TYPE gotune_tune_memory_max_bytes gauge
gotune_tune_memory_max_bytes %d
# HELP gotune_tune_gomemlimit_decided_bytes GOMEMLIMIT gotune decided, labelled with its source; absent while there is no limit.
# TYPE gotune_tune_gomemlimit_decided_bytes gauge
gotune_tune_gomemlimit_decided_bytes{source="cgroup"} %d
`, 512*mib, frac(0.9, 512*mib))
	if err := testutil.CollectAndCompare(tunemetrics.NewCollector(tu, ""), strings.NewReader(want), "gotune_tune_memory_max_bytes", "gotune_tune_gomemlimit_decided_bytes"); err != nil {
		t.Errorf("collector after resize: %v", err)
	}
	if r := tu.Report(); r.Limits.MemoryMax != 512*mib || r.GOMEMLIMIT.After != frac(0.9, 512*mib) {
		t.Errorf("Report after resize = %+v", r.GOMEMLIMIT)
	}
	// A malformed file is an error that keeps the settings.
	writeTree(t, dir, "garbage")
	deadline := time.Now().Add(10 * time.Second)
	for tu.Stats().Errors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no refresh error counted after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got != frac(0.9, 512*mib) {
		t.Errorf("limit after a bad read = %d, want it kept", got)
	}
	if s := tu.Stats(); !strings.Contains(s.LastError, `"garbage"`) {
		t.Errorf("Stats().LastError = %q, want it to quote the value", s.LastError)
	}
	// The limit going away gives back the limit from before gotune.
	writeTree(t, dir, "max")
	waitFor(before)

	// The collector exposes the limits and counters and passes the linter.
	c := tunemetrics.NewCollector(tu, "")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v, %v", problems, err)
	}
	// The limit went away: no GOMEMLIMIT series, the other two present.
	if n := testutil.CollectAndCount(c, "gotune_tune_gomaxprocs_decided", "gotune_tune_gogc_decided_percent", "gotune_tune_gomemlimit_decided_bytes"); n != 2 {
		t.Errorf("decided series = %d, want 2 without a memory limit", n)
	}
	if n := testutil.CollectAndCount(c, "gotune_tune_refresh_errors_total"); n != 1 {
		t.Errorf("gotune_tune_refresh_errors_total series = %d, want 1", n)
	}
}

// TestTunerQuietWhenNothingChanges runs a Tuner for several ticks on a root
// whose limits do not change: one log line and one change, not one a tick.
func TestTunerQuietWhenNothingChanges(t *testing.T) {
	for _, policy := range []tune.MaxProcsPolicy{tune.MaxProcsRuntime, tune.MaxProcsFloor} {
		t.Run(policy.String(), func(t *testing.T) {
			tune.ResetState()
			procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
			defer func() { runtime.GOMAXPROCS(procs); debug.SetMemoryLimit(limit) }()
			dir := t.TempDir()
			writeTree(t, dir, "1073741824")
			var logs strings.Builder
			logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
			tu := tune.NewTuner(time.Millisecond, noEnv, tune.WithRoot(dir), tune.WithMaxProcs(policy), tune.WithLogger(logger))
			if err := tu.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for tu.Stats().Refreshes < 6 && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
			tu.Stop()
			s := tu.Stats()
			if s.Refreshes < 6 || s.Changes != 1 {
				t.Errorf("Stats = %+v after unchanged refreshes, want 1 change", s)
			}
			if n := strings.Count(logs.String(), "gotune:"); n != 1 {
				t.Errorf("%d log lines, want 1:\n%s", n, logs.String())
			}
		})
	}
}

// TestTunerUndoAfterResize checks that Stop gives back the program's limit,
// not the value gotune set before a resize.
func TestTunerUndoAfterResize(t *testing.T) {
	tune.ResetState()
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	before := debug.SetMemoryLimit(-1)
	dir := t.TempDir()
	writeTree(t, dir, "1073741824")
	tu := tune.NewTuner(-1, noEnv, tune.WithRoot(dir)) // no loop: the refresh is driven by hand
	if err := tu.Start(); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, "536870912")
	if _, err := tu.ApplyOnce(); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != frac(0.9, 512*mib) {
		t.Fatalf("limit after resize = %d", got)
	}
	tu.Stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after Stop = %d, want the original %d", got, before)
	}
}

// TestGOGCChangedByOthersIsKept: once gotune set GOGC, a later change by
// gcguard or by code is theirs, and a refresh leaves it alone.
func TestGOGCChangedByOthersIsKept(t *testing.T) {
	tune.ResetState()
	gogc := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gogc)
	tu := tune.NewTuner(0, noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(200))
	if _, err := tu.ApplyOnce(); err != nil {
		t.Fatal(err)
	}
	debug.SetGCPercent(350) // what gcguard would do
	r, err := tu.ApplyOnce()
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(-1); got != 350 || r.GOGC.Source != tune.SourceCode {
		t.Errorf("GOGC after refresh = %d (%+v), want 350 kept", got, r.GOGC)
	}
	tu.Restore()
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestTunerStartStopLoop runs the refresh loop on synctest's fake clock:
// Start applies once and then every interval, Stop ends the loop (no tick
// after it) and restores what the Tuner set.
func TestTunerStartStopLoop(t *testing.T) {
	tune.ResetState()
	gogc := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gogc)
	synctest.Test(t, func(t *testing.T) {
		tu := tune.NewTuner(time.Second, noEnv, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(170),
			tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit())
		if err := tu.Start(); err != nil {
			t.Fatal(err)
		}
		if g := debug.SetGCPercent(-1); g != 170 {
			t.Errorf("GOGC after Start = %d, want 170", g)
		}
		debug.SetGCPercent(170)
		time.Sleep(5*time.Second + time.Millisecond)
		synctest.Wait()
		if n := tu.Stats().Refreshes; n != 6 {
			t.Errorf("Refreshes after 5 intervals = %d, want 6 (Start's apply and 5 ticks)", n)
		}
		tu.Stop()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := tu.Stats().Refreshes; n != 6 {
			t.Errorf("Refreshes after Stop = %d, want no more than 6", n)
		}
		if g := debug.SetGCPercent(-1); g != 100 {
			t.Errorf("GOGC after Stop = %d, want the 100 from before Start", g)
		}
		debug.SetGCPercent(100)
	})
}

package tune_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/tune"
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
	if _, err := tu.Apply(); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != frac(0.9, 1<<30) {
		t.Fatalf("limit after Apply = %d, want %d", got, frac(0.9, 1<<30))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tu.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()

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
	c := tune.NewCollector(tu)
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v, %v", problems, err)
	}
	if n := testutil.CollectAndCount(c, "gotune_tune_decided"); n != 3 {
		t.Errorf("gotune_tune_decided series = %d, want 3", n)
	}
	if n := testutil.CollectAndCount(c, "gotune_tune_refresh_errors_total"); n != 1 {
		t.Errorf("gotune_tune_refresh_errors_total series = %d, want 1", n)
	}
}

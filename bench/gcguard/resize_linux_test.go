//go:build linux

package gcguardbench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/internal/cgtest"
)

// TestResizeFollowed is the in-place resize under tune and gcguard together,
// in a real cgroup v1 memory group: tune sets GOMEMLIMIT at 0.9 × 512 MiB,
// so the guard takes it as set in code and leaves it alone; then the
// group's limit drops to 384 MiB. tune re-sets the limit, and the guard's
// target must follow it, with its hard limit re-read from the cgroup, so
// that its thresholds sit under the new limit rather than the old one.
func TestResizeFollowed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess in a cgroup and waits for a resize")
	}
	g := cgtest.New(t, nil, "gcguard-resize")
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(512<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := g.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(cgtest.CleanEnv(), resizeEnv+"=1")
	if os.Getenv("GORACE") == "" {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()

	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child: first line %q, %v; want ready\n%s", line, err, stderr.String())
	}
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(384<<20))
	if _, err := io.WriteString(stdin, "resized\n"); err != nil {
		t.Fatal(err)
	}
	var r resizeResult
	if err := json.NewDecoder(out).Decode(&r); err != nil {
		t.Fatalf("child result: %v\n%s", err, stderr.String())
	}
	if r.Err != "" {
		t.Fatalf("child: %s", r.Err)
	}

	near := func(got int64, want float64) bool { return float64(got) > want-(1<<20) && float64(got) <= want }
	b, a := r.Before, r.After
	// tune/auto owns the limit (internal/owner), so the guard names tune as
	// the source of its target and of the limit, not "code".
	if b.TargetSource != gcguard.SourceTune || b.LimitSource != gcguard.SourceTune || b.Target != r.LimitBefore ||
		!near(b.Target, 0.9*512*(1<<20)) || b.HardLimit != 512<<20 {
		t.Errorf("before the resize: target %d from %q, limit source %q, hard %d, limit in force %d; want tune's 0.9 × 512 MiB from tune, tune, %d",
			b.Target, b.TargetSource, b.LimitSource, b.HardLimit, r.LimitBefore, 512<<20)
	}
	if a.Target != r.LimitAfter || !near(a.Target, 0.9*384*(1<<20)) || a.HardLimit != 384<<20 || a.TargetSource != gcguard.SourceTune {
		t.Errorf("after the resize to 384 MiB: target %d from %q, hard %d, limit in force %d; want tune's new limit 0.9 × 384 MiB from tune, hard %d",
			a.Target, a.TargetSource, a.HardLimit, r.LimitAfter, 384<<20)
	}
	if a.Adjustments["limit"] != 0 || a.Adjustments["headroom"] != 0 {
		t.Errorf("guard adjustments %v: it set a limit it does not own", a.Adjustments)
	}
}

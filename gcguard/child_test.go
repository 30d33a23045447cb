package gcguard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv names the mode a re-executed test binary runs in; see runChild.
const childEnv = "GCGUARD_TEST_CHILD"

// childResult is what a child reports: the settings before Start, while the
// guard ran, and after Stop, and the guard's Stats.
type childResult struct {
	Before, During, After          int
	BeforeLim, DuringLim, AfterLim int64
	Stats                          Stats
	Err                            string
}

// runChild runs a real Guard on a real heap in this process, which the
// parent started only for this, so GOGC and GOMEMLIMIT can be changed
// without touching the test process.
func runChild() int {
	mode := os.Getenv(childEnv)
	var r childResult
	defer func() { _ = json.NewEncoder(os.Stdout).Encode(r) }()
	r.Before, r.BeforeLim = settings()
	opts := []Option{WithMemoryTarget(512 << 20), WithInterval(50 * time.Millisecond)}
	if mode == "override" {
		opts = append(opts, WithOverride())
	}
	g, err := Start(opts...)
	if err != nil {
		r.Err = err.Error()
		return 0
	}
	// An 8 MiB live set of 1 KiB objects with random replacement keeps the
	// GC cycling; stop once the guard has acted (or would have) a few times.
	live := make([][]byte, 8192)
	rng := rand.New(rand.NewPCG(1, 2))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		for range 20000 {
			live[rng.IntN(len(live))] = make([]byte, 1024)
		}
		r.During, r.DuringLim = settings()
		if st := g.Stats(); st.Cycles >= 3 && st.GOGC != r.Before {
			break
		}
	}
	r.Stats = g.Stats()
	g.Stop()
	r.After, r.AfterLim = settings()
	return 0
}

func TestSubprocessGOGCMovesAndIsRestored(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	tests := []struct {
		name     string
		env      []string
		check    func(r childResult) string
		wantSrcs [2]Source
	}{
		{"guard owns GOGC", nil, func(r childResult) string {
			if r.Before != 100 || r.During <= 100 || r.After != 100 {
				return fmt.Sprintf("GOGC %d → %d → %d, want 100 → above 100 → 100", r.Before, r.During, r.After)
			}
			return ""
		}, [2]Source{SourceGuard, SourceGuard}},
		{"environment GOGC wins", []string{"GOGC=150"}, func(r childResult) string {
			if r.Before != 150 || r.During != 150 || r.After != 150 || r.Stats.GOGC <= 150 {
				return fmt.Sprintf("GOGC %d → %d → %d (would set %d), want 150 throughout and would set more", r.Before, r.During, r.After, r.Stats.GOGC)
			}
			return ""
		}, [2]Source{SourceEnv, SourceGuard}},
		{"override takes GOGC from the environment", []string{"GOGC=150", childEnv + "=override"}, func(r childResult) string {
			if r.Before != 150 || r.During <= 150 || r.After != 150 {
				return fmt.Sprintf("GOGC %d → %d → %d, want 150 → above 150 → 150", r.Before, r.During, r.After)
			}
			return ""
		}, [2]Source{SourceOverrideEnv, SourceGuard}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, childEnv+"=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, childEnv+"=child")
			cmd.Env = append(cmd.Env, tc.env...)
			if os.Getenv("GORACE") == "" {
				// Under -race the child would sleep 1s at exit; races
				// still fail it with exit status 66.
				cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
			}
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("child: %v\n%s", err, errOut.String())
			}
			var r childResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("child output %q: %v", out.String(), err)
			}
			if r.Err != "" {
				t.Fatalf("child: Start() error = %s", r.Err)
			}
			if msg := tc.check(r); msg != "" {
				t.Error(msg)
			}
			if r.BeforeLim != math.MaxInt64 || r.DuringLim != 512<<20 || r.AfterLim != math.MaxInt64 {
				t.Errorf("memory limit %d → %d → %d, want none → %d → none", r.BeforeLim, r.DuringLim, r.AfterLim, 512<<20)
			}
			if r.Stats.GOGCSource != tc.wantSrcs[0] || r.Stats.LimitSource != tc.wantSrcs[1] {
				t.Errorf("sources GOGC %q limit %q, want %q %q", r.Stats.GOGCSource, r.Stats.LimitSource, tc.wantSrcs[0], tc.wantSrcs[1])
			}
			if r.Stats.Cycles == 0 {
				t.Errorf("child guard ran on %d GC cycles, want some", r.Stats.Cycles)
			}
		})
	}
}

//go:build linux

package auto_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgtest"
	"github.com/gotune/gotune/tune"
)

const mib = 1 << 20

var (
	buildOnce sync.Once
	childBin  string
)

// child builds testdata/child once per test binary.
func child(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotune-child")
		if err != nil {
			t.Fatal(err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		childBin = cgtest.Build(t, "./testdata/child", dir)
	})
	if childBin == "" {
		t.Fatal("child binary did not build")
	}
	return childBin
}

type state struct {
	GOMAXPROCS   int          `json:"gomaxprocs"`
	GOMEMLIMIT   int64        `json:"gomemlimit"`
	Automaxprocs int          `json:"automaxprocs"`
	Report       *tune.Report `json:"report"`
	Stats        tune.TunerStats
	Err          string `json:"err"`
}

type proc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	waited bool
}

// wait closes the child's stdin, which ends it, and waits (bounded) for it
// to exit and for its stderr to be copied.
func (p *proc) wait(t *testing.T) {
	t.Helper()
	if p.waited {
		return
	}
	p.waited = true
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
		t.Errorf("child did not exit within 10s of stdin closing")
	}
}

// start runs the child inside g: a shell moves itself into the groups and
// then execs the child, so the Go runtime starts inside them.
func start(t *testing.T, g *cgtest.Group, env []string, args ...string) *proc {
	t.Helper()
	cmd := g.Command(child(t), args...)
	cmd.Env = append(cgtest.CleanEnv(), env...)
	cmd.Stderr = &testLog{t: t}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	t.Cleanup(func() { p.wait(t) })
	return p
}

type testLog struct {
	mu sync.Mutex
	t  *testing.T
	b  strings.Builder
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	return len(p), nil
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *proc) state(t *testing.T) state {
	t.Helper()
	if _, err := io.WriteString(p.in, "?\n"); err != nil {
		t.Fatalf("write to child: %v", err)
	}
	if !p.out.Scan() {
		t.Fatalf("child gave no state: %v; stderr: %s", p.out.Err(), p.cmd.Stderr)
	}
	var s state
	if err := json.Unmarshal(p.out.Bytes(), &s); err != nil {
		t.Fatalf("child state %q: %v", p.out.Text(), err)
	}
	return s
}

// logLine waits for the child to exit and returns what it logged.
func (p *proc) logLine(t *testing.T) string {
	p.wait(t)
	return p.cmd.Stderr.(*testLog).String()
}

func ratio(r float64, n int64) int64 { return int64(float64(n) * r) }

func TestRealCgroupV1(t *testing.T) {
	ncpu := runtime.NumCPU()
	runtimeRule := func(q float64) int { return min(ncpu, max(2, int(math.Ceil(q)))) }
	floorRule := func(q float64) int { return min(ncpu, max(1, int(math.Floor(q)))) }

	tests := []struct {
		name      string
		quota     float64
		mem       int64
		env       []string
		wantProcs int
		procsSrc  tune.Source
	}{
		{"half-cpu", 0.5, 512 * mib, nil, runtimeRule(0.5), tune.SourceRuntime},
		{"half-cpu-floor", 0.5, 512 * mib, []string{"GOTUNE_MAXPROCS=floor"}, floorRule(0.5), tune.SourcePolicy},
		{"one-and-a-half", 1.5, 512 * mib, nil, runtimeRule(1.5), tune.SourceRuntime},
		{"three", 3, 512 * mib, nil, runtimeRule(3), tune.SourceRuntime},
		// On 2 CPUs the floor of 3 is capped to 2, the runtime's own answer:
		// gotune leaves it to the runtime.
		{"three-floor", 3, 512 * mib, []string{"GOTUNE_MAXPROCS=floor"}, floorRule(3), map[bool]tune.Source{true: tune.SourceRuntime, false: tune.SourcePolicy}[floorRule(3) == runtimeRule(3)]},
		{"env-gomaxprocs", 0.5, 512 * mib, []string{"GOMAXPROCS=3"}, 3, tune.SourceEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := cgtest.New(t, nil, tc.name)
			g.Quota(t, tc.quota)
			g.Set(t, "memory.limit_in_bytes", strconv.FormatInt(tc.mem, 10))
			p := start(t, g, tc.env, "-automaxprocs")
			s := p.state(t)
			if s.Err != "" {
				t.Fatalf("child: %s", s.Err)
			}
			if s.GOMAXPROCS != tc.wantProcs || s.Report.GOMAXPROCS.Source != tc.procsSrc {
				t.Errorf("quota %v: GOMAXPROCS = %d (%+v), want %d from %s", tc.quota, s.GOMAXPROCS, s.Report.GOMAXPROCS, tc.wantProcs, tc.procsSrc)
			}
			if want := ratio(0.9, tc.mem); s.GOMEMLIMIT != want || s.Report.GOMEMLIMIT.Source != tune.SourceCgroup {
				t.Errorf("GOMEMLIMIT = %d (%+v), want %d from cgroup", s.GOMEMLIMIT, s.Report.GOMEMLIMIT, want)
			}
			if s.Report.Limits.CPUQuota != tc.quota || s.Report.Limits.MemoryMax != tc.mem {
				t.Errorf("limits read = %+v, want quota %v and memory %d", s.Report.Limits, tc.quota, tc.mem)
			}
			// The floor policy is automaxprocs' rounding, but automaxprocs
			// does not cap it by the CPUs the process may use (3 on 2
			// CPUs): gotune does.
			if amp := max(1, int(math.Floor(tc.quota))); tc.procsSrc != tune.SourceEnv && s.Automaxprocs != amp {
				t.Errorf("automaxprocs gives %d, want %d", s.Automaxprocs, amp)
			}
			if tc.procsSrc == tune.SourcePolicy && s.GOMAXPROCS != min(s.Automaxprocs, ncpu) {
				t.Errorf("floor policy gives %d, want automaxprocs' %d capped at %d CPUs", s.GOMAXPROCS, s.Automaxprocs, ncpu)
			}
			// The one log line says what was set and why.
			line := p.logLine(t)
			if strings.Count(line, "gotune:") != 1 || !strings.Contains(line, fmt.Sprintf("GOMAXPROCS=%d", tc.wantProcs)) ||
				!strings.Contains(line, "GOMEMLIMIT="+tune.FormatBytes(ratio(0.9, tc.mem))) {
				t.Errorf("log = %q, want one gotune line with both settings", line)
			}
		})
	}
}

// TestRealCgroupV1Parent puts the tighter limits on the parent group, where
// the runtime does not look.
func TestRealCgroupV1Parent(t *testing.T) {
	parent := cgtest.New(t, nil, "parent")
	parent.Quota(t, 0.5)
	parent.Set(t, "memory.limit_in_bytes", strconv.Itoa(256*mib))
	leaf := cgtest.New(t, parent, "leaf")
	leaf.Set(t, "memory.limit_in_bytes", strconv.Itoa(512*mib))

	p := start(t, leaf, []string{"GOTUNE_MAXPROCS=floor"}, "-automaxprocs")
	s := p.state(t)
	if want := ratio(0.9, 256*mib); s.GOMEMLIMIT != want {
		t.Errorf("GOMEMLIMIT = %d, want %d from the parent's 256MiB", s.GOMEMLIMIT, want)
	}
	if s.GOMAXPROCS != 1 {
		t.Errorf("GOMAXPROCS = %d (%+v), want 1: floor of the parent's 0.5 CPU", s.GOMAXPROCS, s.Report.GOMAXPROCS)
	}
	// automaxprocs reads only the leaf, which has no quota: it misses the
	// parent's 0.5 CPU that gotune honours.
	if s.Automaxprocs != runtime.NumCPU() {
		t.Errorf("automaxprocs gives %d, want %d (it reads only the leaf)", s.Automaxprocs, runtime.NumCPU())
	}
}

func TestRealCgroupV1Refresh(t *testing.T) {
	g := cgtest.New(t, nil, "refresh")
	g.Quota(t, 1)
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(512*mib))
	p := start(t, g, []string{"GOTUNE_REFRESH=100ms"})
	if s := p.state(t); s.GOMEMLIMIT != ratio(0.9, 512*mib) {
		t.Fatalf("GOMEMLIMIT = %d, want %d", s.GOMEMLIMIT, ratio(0.9, 512*mib))
	}
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(256*mib))
	want := ratio(0.9, 256*mib)
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := p.state(t)
		if s.GOMEMLIMIT == want {
			if s.Stats.Changes < 2 {
				t.Errorf("Stats = %+v, want at least 2 changes", s.Stats)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOMEMLIMIT = %d 15s after the resize, want %d", s.GOMEMLIMIT, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealCgroupV1CodeSetLimit sets a memory limit in main, after the
// import's init; the refresh loop must keep it.
func TestRealCgroupV1CodeSetLimit(t *testing.T) {
	g := cgtest.New(t, nil, "codeset")
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(512*mib))
	p := start(t, g, []string{"GOTUNE_REFRESH=100ms"}, "-setlimit", strconv.Itoa(300*mib))
	first := p.state(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := p.state(t)
		if s.Stats.Refreshes >= first.Stats.Refreshes+3 {
			if s.GOMEMLIMIT != 300*mib {
				t.Errorf("GOMEMLIMIT = %d after refreshes, want the code-set %d", s.GOMEMLIMIT, 300*mib)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refreshes in 15s: %+v", s.Stats)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealCgroupV1BadEnv checks that a malformed knob keeps the runtime's
// defaults and is logged with the variable and the value.
func TestRealCgroupV1BadEnv(t *testing.T) {
	g := cgtest.New(t, nil, "badenv")
	g.Set(t, "memory.limit_in_bytes", strconv.Itoa(512*mib))
	p := start(t, g, []string{"GOTUNE_MEMORY_RATIO=2", "GOTUNE_REFRESH=soon"})
	s := p.state(t)
	if s.GOMEMLIMIT != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT = %d, want the runtime's default (no limit)", s.GOMEMLIMIT)
	}
	if !strings.Contains(s.Err, `GOTUNE_MEMORY_RATIO="2"`) || !strings.Contains(s.Err, `GOTUNE_REFRESH="soon"`) {
		t.Errorf("Err() = %q, want both bad values named", s.Err)
	}
	if log := p.logLine(t); !strings.Contains(log, `GOTUNE_MEMORY_RATIO=\"2\"`) {
		t.Errorf("log = %q, want the bad value named", log)
	}
}

// TestRealCgroupMemoryHigh runs the child in a v2 group whose memory.high
// is below its memory.max: GOMEMLIMIT follows memory.high. memory.high
// exists only on v2, so the test skips on a v1 host (this machine's kind;
// fixtures cover memory.high there).
func TestRealCgroupMemoryHigh(t *testing.T) {
	g := cgtest.New(t, nil, "high")
	g.MemoryHigh(t, 256*mib) // skips on v1
	g.MemoryMax(t, 512*mib)
	g.Quota(t, 1)
	p := start(t, g, nil)
	s := p.state(t)
	if s.Err != "" {
		t.Fatalf("child: %s", s.Err)
	}
	if want := ratio(0.9, 256*mib); s.GOMEMLIMIT != want || s.Report.Limits.MemoryHigh != 256*mib || s.Report.Limits.MemoryMax != 512*mib {
		t.Errorf("GOMEMLIMIT = %d, limits %+v; want %d from memory.high 256MiB under memory.max 512MiB", s.GOMEMLIMIT, s.Report.Limits, want)
	}
	if s.Report.Limits.Cgroup != "v2" {
		t.Errorf("cgroup = %q, want v2", s.Report.Limits.Cgroup)
	}
}

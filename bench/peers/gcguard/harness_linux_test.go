//go:build linux

package gcguardpeers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	budget = 512 << 20       // the memory budget: the cgroup limit in the cgroup phases
	target = budget * 9 / 10 // automemlimit-style 90%: GOMEMLIMIT and gcguard's target
)

// mode is one way of running the GC, set through the child's environment.
type mode struct {
	name  string
	env   []string
	tuner int64 // gctuner's threshold; 0: no gctuner
}

var modes = []mode{
	{"gogc100", []string{"GOGC=100"}, 0},
	{"gogc300", []string{"GOGC=300"}, 0},
	{"limit90", []string{"GOGC=100", "GOMEMLIMIT=" + strconv.Itoa(target)}, 0},
	{"limit90-off", []string{"GOGC=off", "GOMEMLIMIT=" + strconv.Itoa(target)}, 0},
	// ByteDance's gctuner at the threshold its README advises (70% of the
	// limit) and at the target; it moves GOGC (between its 50 and 500
	// bounds) and sets no memory limit.
	{name: "gctuner70", env: []string{"GOGC=100"}, tuner: budget * 7 / 10},
	{name: "gctuner90", env: []string{"GOGC=100"}, tuner: target},
	{"gcguard", nil, 0}, // gcguard.Start with the target (or the cgroup's limit × 0.9)
	// gcguard, and the workload refuses ops while Guard.Pressure() is true
	// (the critical level), as a server behind netx's shedder answers 503:
	// the remedy the guard's default policy relies on. Run in the leak phases only.
	{"gcguard-shed", nil, 0},
}

// shedOnly reports whether a mode runs in the leak phases only.
func shedOnly(m mode) bool { return m.name == "gcguard-shed" }

// phase is one workload; cgroup phases run inside a real memory cgroup
// limited to the budget, where gcguard finds its target on its own.
type phase struct {
	name    string
	cgroup  bool
	ptr     bool // the pointer-rich workload (trees of 64-byte nodes)
	step    int  // MiB live for the second half
	leak    int  // MiB live at the end
	opsMult float64
}

var phases = []phase{
	{name: "steady", opsMult: 1},
	{name: "steady-ptr", ptr: true, opsMult: 1},
	{name: "step", step: 256, opsMult: 1},
	// The leaks run 4× the work, so the live set grows 64 → 400 MiB over
	// 10-15 s on 2 cores rather than 3: still fast for a leak, but slow
	// enough that GC cycles (the guard's clock) are finer than its growth.
	{name: "leak", leak: 400, opsMult: 4},
	{name: "cgroup-steady", cgroup: true, opsMult: 1},
	{name: "cgroup-steady-ptr", cgroup: true, ptr: true, opsMult: 1},
	{name: "cgroup-leak", cgroup: true, leak: 400, opsMult: 4},
}

// run is one child's outcome as the parent sees it.
type run struct {
	Result
	CPU       float64 // process CPU seconds (getrusage: user + system)
	PeakRSS   int64   // bytes (getrusage maxrss)
	CgPeak    int64   // cgroup memory.max_usage_in_bytes; 0 outside a cgroup
	OOMKilled bool
	Failed    string
}

// cgroupParent is the memory cgroup directory children are created under:
// this process's own memory cgroup on the v1 hierarchy.
func cgroupParent() (string, error) {
	const mnt = "/sys/fs/cgroup/memory"
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (f[1] == "memory" || strings.Contains(","+f[1]+",", ",memory,")) {
			dir := filepath.Join(mnt, f[2])
			probe := filepath.Join(dir, fmt.Sprintf("gcguard-probe-%d", os.Getpid()))
			if err := os.Mkdir(probe, 0o755); err != nil {
				return "", fmt.Errorf("cannot create a memory cgroup under %s: %w", dir, err)
			}
			if err := os.Remove(probe); err != nil {
				return "", fmt.Errorf("cannot remove %s: %w", probe, err)
			}
			return dir, nil
		}
	}
	return "", errors.New("no cgroup v1 memory hierarchy in /proc/self/cgroup")
}

// runChild runs one child; cgParent != "" puts it in a fresh memory cgroup
// limited to the budget under cgParent, removed afterwards.
func runChild(ctx context.Context, m mode, cfg Config, cgParent string) run {
	var out run
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cfg.Mode = m.name
	cfg.Wait = cgParent != ""
	js, _ := json.Marshal(cfg)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, ChildEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, m.env...)
	cmd.Env = append(cmd.Env, ChildEnv+"="+string(js))
	if os.Getenv("GORACE") == "" {
		// Under -race a child would sleep 1s at exit waiting for reports
		// from other threads; races still fail it with exit status 66.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var stdin io.WriteCloser
	if cfg.Wait {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			out.Failed = err.Error()
			return out
		}
	}
	if err := cmd.Start(); err != nil {
		out.Failed = err.Error()
		return out
	}
	var cg string
	if cfg.Wait {
		cg = filepath.Join(cgParent, fmt.Sprintf("gcguard-bench-%d", cmd.Process.Pid))
		err := os.Mkdir(cg, 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(cg, "memory.limit_in_bytes"), []byte(strconv.Itoa(budget)), 0)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0)
		}
		if err != nil {
			out.Failed = "cgroup: " + err.Error()
			_ = cmd.Process.Kill()
		}
		_, _ = stdin.Write([]byte("go\n"))
		_ = stdin.Close()
	}
	err := cmd.Wait()
	if cg != "" {
		if b, e := os.ReadFile(filepath.Join(cg, "memory.max_usage_in_bytes")); e == nil {
			out.CgPeak, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
		if b, e := os.ReadFile(filepath.Join(cg, "memory.oom_control")); e == nil && strings.Contains(string(b), "oom_kill ") {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
					out.OOMKilled = true
				}
			}
		}
		for i := 0; i < 50; i++ { // the kernel may take a moment to let go
			if e := os.Remove(cg); e == nil || errors.Is(e, os.ErrNotExist) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			out.CPU = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
			out.PeakRSS = ru.Maxrss << 10
		}
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			out.OOMKilled = out.OOMKilled || cg != ""
		}
	}
	if err != nil && out.Failed == "" {
		out.Failed = fmt.Sprintf("%v: %s", err, lastLine(stderr.String()))
	}
	if e := json.Unmarshal(stdout.Bytes(), &out.Result); e != nil && out.Failed == "" {
		out.Failed = fmt.Sprintf("bad child output %q: %v", stdout.String(), e)
	}
	if out.Err != "" && out.Failed == "" {
		out.Failed = out.Err
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// harness runs every phase × mode runs times, modes interleaved and their
// order rotated from run to run, and returns the runs by phase and mode.
type harness struct {
	ops, runs int
	live      int
	phases    []phase
	modes     []mode
	cgParent  string // "" skips the cgroup phases
	log       func(format string, args ...any)
}

func (h harness) run(ctx context.Context) map[string]map[string][]run {
	res := map[string]map[string][]run{}
	for i := 0; i < h.runs; i++ {
		for _, ph := range h.phases {
			if ph.cgroup && h.cgParent == "" {
				continue
			}
			if res[ph.name] == nil {
				res[ph.name] = map[string][]run{}
			}
			for j := range h.modes {
				m := h.modes[(i+j)%len(h.modes)]
				if shedOnly(m) && ph.leak == 0 {
					continue
				}
				cfg := Config{Phase: ph.name, Ops: int(float64(h.ops) * ph.opsMult), LiveMiB: h.live, StepMiB: ph.step, LeakMiB: ph.leak, Ptr: ph.ptr, Tuner: m.tuner}
				if ph.step > 0 {
					cfg.Phase = "step"
				}
				if ph.leak > 0 {
					cfg.Phase = "leak"
				}
				cg := ""
				if ph.cgroup {
					cg = h.cgParent
				} else {
					cfg.Target = target
				}
				r := runChild(ctx, m, cfg, cg)
				if h.log != nil {
					h.log("run %d %-13s %-11s cpu %.2fs rss %3d MiB cycles %4d gc %.3f wall %.2fs oom %v %s",
						i, ph.name, m.name, r.CPU, r.PeakRSS>>20, r.Cycles, r.GCCPU, r.Seconds, r.OOMKilled, r.Failed)
				}
				res[ph.name][m.name] = append(res[ph.name][m.name], r)
			}
		}
	}
	return res
}

// summary is the medians of one phase × mode.
type summary struct {
	n, ok, oom                           int
	cycles, gcCPU, gcSec, cpu, opsPerSec float64
	opsPerCPU, peakRSS, cgPeak, maxGC    float64
	critAt, critGC, over25At, shed       float64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(rs []run) summary {
	var s summary
	var cyc, gc, gcs, cpu, ops, opc, rss, cgp, mgc, ca, cg, o25, shed []float64
	s.n = len(rs)
	for _, r := range rs {
		if r.OOMKilled {
			s.oom++
		}
		if r.Failed != "" || r.Seconds <= 0 {
			continue
		}
		s.ok++
		cyc = append(cyc, float64(r.Cycles))
		gc = append(gc, r.GCCPU)
		gcs = append(gcs, r.GCSec)
		cpu = append(cpu, r.CPU)
		ops = append(ops, float64(r.Ops)/r.Seconds)
		opc = append(opc, float64(r.Ops)/r.CPU)
		rss = append(rss, float64(r.PeakRSS))
		cgp = append(cgp, float64(r.CgPeak))
		mgc = append(mgc, r.MaxGCCPU)
		ca = append(ca, r.CriticalAt)
		cg = append(cg, r.CriticalGCCP)
		o25 = append(o25, r.Over25At)
		shed = append(shed, ratio(float64(r.Shed), float64(r.Ops)))
	}
	s.cycles, s.gcCPU, s.gcSec, s.cpu, s.opsPerSec = median(cyc), median(gc), median(gcs), median(cpu), median(ops)
	s.opsPerCPU, s.maxGC, s.critAt, s.critGC, s.over25At = median(opc), median(mgc), median(ca), median(cg), median(o25)
	s.shed = median(shed)
	s.peakRSS, s.cgPeak = slicesMax(rss), slicesMax(cgp) // peaks: the worst run, not the median
	return s
}

func slicesMax(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// table writes the results as a markdown table, ratios against gogc100.
func table(w io.Writer, h harness, res map[string]map[string][]run) {
	fmt.Fprintf(w, "\n%d runs per cell, %d ops (1 KiB objects; phases scale it, the leaks ×4), %d MiB live, budget %d MiB, target %.1f MiB; medians, peaks are the worst run\n",
		h.runs, h.ops, h.live, budget>>20, float64(target)/(1<<20))
	for _, ph := range h.phases {
		byMode := res[ph.name]
		if byMode == nil {
			continue
		}
		base := summarize(byMode["gogc100"])
		fmt.Fprintf(w, "\n### %s\n\n", ph.name)
		fmt.Fprintln(w, "| mode | GC cycles × | GC CPU share (×) | GC CPU s × | process CPU × | ops/s × | ops/CPU-s × | peak RSS MiB | cgroup peak MiB | max 250ms GC share | OOM | critical at (GC share) | GC>25% at | ops shed |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, m := range h.modes {
			if byMode[m.name] == nil {
				continue
			}
			s := summarize(byMode[m.name])
			crit := "-"
			if strings.HasPrefix(m.name, "gcguard") {
				crit = "never"
				if s.critAt >= 0 {
					crit = fmt.Sprintf("%.0f%% (%.2f)", s.critAt*100, s.critGC)
				}
			}
			o25 := "never"
			if s.over25At >= 0 {
				o25 = fmt.Sprintf("%.0f%%", s.over25At*100)
			}
			shed := "-"
			if shedOnly(m) {
				shed = fmt.Sprintf("%.0f%%", s.shed*100)
			}
			fmt.Fprintf(w, "| %s | %.2f | %.3f (%.2f) | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.3f | %d/%d | %s | %s | %s |\n",
				m.name, ratio(s.cycles, base.cycles), s.gcCPU, ratio(s.gcCPU, base.gcCPU), ratio(s.gcSec, base.gcSec), ratio(s.cpu, base.cpu),
				ratio(s.opsPerSec, base.opsPerSec), ratio(s.opsPerCPU, base.opsPerCPU), s.peakRSS/(1<<20), s.cgPeak/(1<<20),
				s.maxGC, s.oom, s.n, crit, o25, shed)
		}
	}
}

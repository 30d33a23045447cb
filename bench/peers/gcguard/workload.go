// Package gcguardpeers is the process-level benchmark harness for gcguard
// (moved here from bench/gcguard so that ByteDance's gctuner can be one of
// its modes without entering gotune's module graph): it runs one child
// process per GC mode, interleaved, on a fixed amount of work, and reports
// each mode against GOGC=100 from the same run. The modes are GOGC=100 and
// 300, GOMEMLIMIT at the target with GOGC=100 or off, gctuner at 70% of the
// budget (its README's advice) and at the target, and gcguard.
//
// The child is this package's test binary, re-executed with
// GCGUARD_BENCH_CHILD set; see [RunChild].
package gcguardpeers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
	"github.com/gotune/gotune/gcguard"
)

// ChildEnv carries a child's Config as JSON.
const ChildEnv = "GCGUARD_BENCH_CHILD"

// Config is one child run.
type Config struct {
	Mode    string `json:"mode"`
	Phase   string `json:"phase"`
	Ops     int    `json:"ops"`      // object replacements: the fixed work
	LiveMiB int    `json:"live_mib"` // starting live set
	StepMiB int    `json:"step_mib"` // phase "step": live set for the second half
	LeakMiB int    `json:"leak_mib"` // phase "leak": live set reached at the end
	Target  int64  `json:"target"`   // gcguard's memory target in bytes; 0 = from the cgroup
	Wait    bool   `json:"wait"`     // wait for a line on stdin before working (cgroup placement)
	// Ptr selects the pointer-rich workload: each object is a tree of 16
	// nodes of 64 bytes (two child pointers and 48 bytes of data), 1 KiB
	// like the pointer-free buffers, so the GC's mark work is pointer
	// chasing rather than skipping noscan spans.
	Ptr bool `json:"ptr,omitempty"`
	// Tuner is gctuner's threshold in bytes for the gctuner modes.
	Tuner int64 `json:"tuner,omitempty"`
}

// Result is what a child reports on stdout.
type Result struct {
	Ops      int     `json:"ops"`
	Seconds  float64 `json:"seconds"`    // wall time of the work loop
	Cycles   uint64  `json:"gc_cycles"`  // GC cycles during the work loop
	GCCPU    float64 `json:"gc_cpu"`     // GC share of non-idle CPU during the work loop (idle mark excluded)
	GCSec    float64 `json:"gc_sec"`     // GC CPU seconds during the work loop (idle mark excluded)
	MaxGCCPU float64 `json:"max_gc_cpu"` // highest GC share over any stretch (250 ms) of the loop
	// Over25At is the fraction of the work done when the GC share over a
	// stretch first exceeded 25%; -1 never.
	Over25At float64 `json:"over25_at"`
	// GOGC is the GOGC in force at the end of the work loop (before a
	// guard stops): shows what gctuner and gcguard made of it.
	GOGC int64 `json:"gogc"`
	// gcguard modes only.
	Guard *gcguard.Stats `json:"guard,omitempty"`
	// Shed is the ops a gcguard-shed child refused while the guard reported
	// pressure: like a server answering 503, such an op allocates nothing
	// and leaks nothing.
	Shed         int     `json:"shed"`
	CriticalAt   float64 `json:"critical_at"`     // fraction of the work done when the level first went critical; -1 never
	CriticalGCCP float64 `json:"critical_gc_cpu"` // the guard's windowed GC CPU share at that moment
	CriticalLive int64   `json:"critical_live"`   // live heap at that moment
	Err          string  `json:"err,omitempty"`
}

const objSize = 1024

// stretch is the span over which the GC share is sampled for MaxGCCPU and
// Over25At: short enough that a 3 s leak run has a dozen of them, long
// enough to hold several GC cycles (runtime/metrics updates the CPU
// classes per cycle).
const stretch = 250 * time.Millisecond

var cpuNames = []string{
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/gc/gogc:percent",
}

type cpuReading struct {
	cycles   uint64
	gc, busy float64
	at       time.Time
}

func readCPU(s []metrics.Sample) cpuReading {
	metrics.Read(s)
	idleMark := s[2].Value.Float64()
	return cpuReading{
		cycles: s[0].Value.Uint64(),
		gc:     s[1].Value.Float64() - idleMark,
		busy:   s[3].Value.Float64() - s[4].Value.Float64() - idleMark,
		at:     time.Now(),
	}
}

func share(a, b cpuReading) float64 {
	if b.busy <= a.busy {
		return 0
	}
	return (b.gc - a.gc) / (b.busy - a.busy)
}

// RunChild runs the workload described by the ChildEnv variable and writes
// a Result as JSON to stdout. It returns the process exit code.
func RunChild() int {
	var cfg Config
	var r Result
	r.CriticalAt, r.Over25At = -1, -1
	enc := json.NewEncoder(os.Stdout)
	defer func() { _ = enc.Encode(r) }()
	if err := json.Unmarshal([]byte(os.Getenv(ChildEnv)), &cfg); err != nil {
		r.Err = fmt.Sprintf("bad %s: %v", ChildEnv, err)
		return 2
	}
	if cfg.Wait {
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			r.Err = "waiting for go: " + err.Error()
			return 2
		}
	}

	if cfg.Ptr {
		work(cfg, &r, newTree)
	} else {
		work(cfg, &r, func() []byte { return make([]byte, objSize) })
	}
	return 0
}

// node is one node of the pointer-rich workload's trees: 64 bytes.
type node struct {
	left, right *node
	data        [6]int64
}

// treeNodes is the nodes per tree: 16 × 64 bytes = objSize.
const treeNodes = objSize / 64

// newTree builds a binary tree of treeNodes nodes, allocated one by one.
func newTree() *node {
	nodes := [treeNodes]*node{}
	for i := range nodes {
		nodes[i] = &node{data: [6]int64{int64(i)}}
	}
	for i := range nodes {
		if l := 2*i + 1; l < treeNodes {
			nodes[i].left = nodes[l]
		}
		if r := 2*i + 2; r < treeNodes {
			nodes[i].right = nodes[r]
		}
	}
	return nodes[0]
}

// work runs the workload with objects made by newObj and fills r.
func work[T any](cfg Config, r *Result, newObj func() T) {
	// The live set, one part per worker (GOMAXPROCS of them, so the GC
	// competes with the work for CPU as in a busy service), built before the
	// guard starts so that every mode starts alike.
	workers := runtime.GOMAXPROCS(0)
	parts := make([][]T, workers)
	per := func(mib int) int { return mib << 10 / workers }
	for w := range parts {
		parts[w] = make([]T, per(cfg.LiveMiB), per(max(cfg.LiveMiB, cfg.StepMiB, cfg.LeakMiB)))
		for i := range parts[w] {
			parts[w][i] = newObj()
		}
	}

	if cfg.Tuner > 0 {
		// Started where the guard starts, after the live set is built.
		gctuner.Tuning(uint64(cfg.Tuner))
	}
	var guard *gcguard.Guard
	var mu sync.Mutex // guards done and the Critical* fields of r
	var done float64  // fraction of the work done
	shedding := cfg.Mode == "gcguard-shed"
	if cfg.Mode == "gcguard" || shedding {
		opts := []gcguard.Option{}
		if cfg.Target > 0 {
			opts = append(opts, gcguard.WithMemoryTarget(cfg.Target))
		}
		g, err := gcguard.Start(opts...)
		if err != nil {
			r.Err = err.Error()
			return
		}
		guard = g
		g.OnLevel(func(l gcguard.Level) {
			mu.Lock()
			defer mu.Unlock()
			if l == gcguard.LevelCritical && r.CriticalAt < 0 {
				st := g.Stats()
				r.CriticalAt, r.CriticalGCCP, r.CriticalLive = done, st.GCCPU, st.LiveHeap
			}
		})
	}

	s := make([]metrics.Sample, len(cpuNames))
	for i, n := range cpuNames {
		s[i].Name = n
	}
	start := readCPU(s)
	win, winDone := start, 0.0
	ops := cfg.Ops / workers
	leakEvery := 0
	if cfg.Phase == "leak" && cfg.LeakMiB > cfg.LiveMiB {
		leakEvery = ops / per(cfg.LeakMiB-cfg.LiveMiB)
	}
	var wg sync.WaitGroup
	shed := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			live := parts[w]
			rng := rand.New(rand.NewPCG(42, uint64(w)))
			for i := 0; i < ops; i++ {
				if cfg.Phase == "step" && i == ops/2 {
					for len(live) < per(cfg.StepMiB) {
						live = append(live, newObj())
					}
				}
				if shedding && guard.Pressure() {
					shed[w]++
				} else if leakEvery > 0 && i%leakEvery == 0 && len(live) < per(cfg.LeakMiB) {
					live = append(live, newObj())
				} else {
					live[rng.IntN(len(live))] = newObj()
				}
				if w == 0 && i&0x3fff == 0 {
					mu.Lock()
					done = float64(i) / float64(ops)
					if now := time.Now(); now.Sub(win.at) >= stretch {
						cur := readCPU(s)
						sh := share(win, cur)
						r.MaxGCCPU = max(r.MaxGCCPU, sh)
						if sh > 0.25 && r.Over25At < 0 {
							// Somewhere in this stretch GC went past 25%:
							// count it from the stretch's start.
							r.Over25At = winDone
						}
						win, winDone = cur, done
					}
					mu.Unlock()
				}
			}
			parts[w] = live
		}()
	}
	wg.Wait()
	end := readCPU(s)
	for _, n := range shed {
		r.Shed += n
	}
	r.Ops = ops * workers
	r.Seconds = end.at.Sub(start.at).Seconds()
	r.Cycles = end.cycles - start.cycles
	r.GCCPU = share(start, end)
	r.GCSec = end.gc - start.gc
	r.GOGC = int64(s[5].Value.Uint64())
	if end.at.Sub(win.at) >= stretch/2 {
		r.MaxGCCPU = max(r.MaxGCCPU, share(win, end))
	}
	if guard != nil {
		guard.Stop()
		st := guard.Stats()
		r.Guard = &st
	}
	runtime.KeepAlive(parts)
}

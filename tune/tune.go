package tune

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/owner"
)

// origLimit is the memory limit before gotune first set one, restored when
// the cgroup limit goes away. (What gotune last set is in owner.go.)
var origLimit atomic.Int64

// Detect reads the limits and computes what [Apply] would set, changing
// nothing. On an error (a bad option, a malformed cgroup file) the report
// keeps every setting as it is and the error names the input.
func Detect(opts ...Option) (Report, error) {
	c := newConfig(opts)
	return detect(&c, false)
}

// Apply sets GOMAXPROCS, GOMEMLIMIT and GOGC as [Detect] computes them and
// returns the report and a function that undoes it: undo restores the
// settings Apply changed to their values before it (GOMAXPROCS goes back to
// the runtime's default, and its automatic updates, where that is what it
// was), and leaves a setting that another owner (gcguard, numa.Pin) has
// taken over since, or that the program changed since. undo acts once,
// however often it is called, and is safe from any goroutine. On an error
// Apply changes nothing, so the runtime's defaults stay, and undo is nil.
func Apply(opts ...Option) (r Report, undo func(), err error) {
	c := newConfig(opts)
	r, err = apply(&c, false)
	if err != nil {
		return r, nil, err
	}
	var once sync.Once
	return r, func() { once.Do(r.undo) }, nil
}

func apply(c *config, refresh bool) (Report, error) {
	r, err := detect(c, refresh)
	if err != nil {
		if c.logger != nil {
			c.logger.Error("gotune: keeping the runtime's settings", slog.Any("error", err))
		}
		return r, err
	}
	if r.GOMAXPROCS.Set {
		if r.handBack {
			if lastProcs.set(0, runtime.SetDefaultGOMAXPROCS) {
				lastProcs.release()
			} else {
				r.GOMAXPROCS = lost(owner.GOMAXPROCS, r.GOMAXPROCS)
			}
		} else if !lastProcs.set(r.GOMAXPROCS.After, func() { runtime.GOMAXPROCS(int(r.GOMAXPROCS.After)) }) {
			r.GOMAXPROCS = lost(owner.GOMAXPROCS, r.GOMAXPROCS)
		}
	}
	if r.GOMEMLIMIT.Set {
		if lastLimit.Load() == 0 {
			origLimit.Store(r.GOMEMLIMIT.Before)
		}
		if !lastLimit.set(r.GOMEMLIMIT.After, func() { debug.SetMemoryLimit(r.GOMEMLIMIT.After) }) {
			r.GOMEMLIMIT = lost(owner.GOMEMLIMIT, r.GOMEMLIMIT)
		} else if r.GOMEMLIMIT.After == origLimit.Load() {
			lastLimit.release()
		}
	}
	if r.GOGC.Set && !lastGOGC.set(r.GOGC.After, func() { debug.SetGCPercent(int(r.GOGC.After)) }) {
		r.GOGC = lost(owner.GOGC, r.GOGC)
	}
	r.Applied = true
	if c.logger != nil && (!refresh || r.changed()) {
		c.logger.LogAttrs(context.Background(), slog.LevelInfo, "gotune: "+r.String())
	}
	return r, nil
}

func (r Report) changed() bool { return r.GOMAXPROCS.Set || r.GOMEMLIMIT.Set || r.GOGC.Set }

func detect(c *config, refresh bool) (Report, error) {
	r := Report{Root: c.root, Limits: Limits{Cgroup: "none", SwapMax: -1}}
	procs := int64(runtime.GOMAXPROCS(0))
	mem := debug.SetMemoryLimit(-1)
	gogc := readGOGC()
	keep := func() {
		r.GOMAXPROCS = Setting{Before: procs, After: procs, Source: SourceDefault, Reason: "unchanged after an error"}
		r.GOMEMLIMIT = Setting{Before: mem, After: mem, Source: SourceDefault, Reason: "unchanged after an error"}
		r.GOGC = Setting{Before: gogc, After: gogc, Source: SourceDefault, Reason: "unchanged after an error"}
	}
	if c.err != nil {
		keep()
		return r, c.err
	}
	lim, err := cgroup.Read(c.root)
	if err != nil {
		keep()
		return r, err
	}
	cpus, err := allowedCPUs(c, lim, &r.Warnings)
	if err != nil {
		keep()
		return r, err
	}
	r.dirs = lim.Dirs
	r.Limits = Limits{
		Cgroup:       lim.Version.String(),
		Path:         lim.Path,
		CPUQuota:     lim.CPUQuota,
		LeafCPUQuota: lim.LeafCPUQuota,
		CPUs:         len(cpus),
		CPUList:      cpulist.Format(cpus),
		MemoryMax:    lim.MemoryMax,
		MemoryHigh:   lim.MemoryHigh,
		SwapMax:      lim.SwapMax,
	}
	files := map[string]string{
		"cpu_quota": lim.CPUQuotaFile, "cpuset": lim.CPUSetFile,
		"memory_max": lim.MemoryMaxFile, "memory_high": lim.MemoryHighFile, "swap_max": lim.SwapMaxFile,
	}
	for k, v := range files {
		if v == "" {
			delete(files, k)
		}
	}
	if len(files) > 0 {
		r.Limits.Files = files
	}
	r.GOMAXPROCS = c.decideProcs(&r, procs, refresh)
	r.GOMEMLIMIT = c.decideMemLimit(&r, mem)
	r.GOGC = c.decideGOGC(&r, gogc)
	return r, nil
}

// allowedCPUs is the affinity mask intersected with the cgroup's cpuset. On
// the live host the mask comes from sched_getaffinity; under a root from
// proc/self/status, falling back to the online CPUs.
func allowedCPUs(c *config, lim cgroup.Limits, warnings *[]string) ([]int, error) {
	var (
		cpus []int
		err  error
	)
	if c.live() {
		if cpus, err = cgroup.Affinity(); err != nil {
			cpus = seq(c.numCPU())
		}
	} else {
		if cpus, err = rootCPUs(c, warnings); err != nil {
			return nil, err
		}
	}
	if lim.CPUSet != nil {
		if in := cpulist.Intersect(cpus, lim.CPUSet); len(in) > 0 {
			cpus = in
		}
	}
	if len(cpus) == 0 {
		cpus = seq(1)
	}
	return cpus, nil
}

// rootCPUs is the affinity under a root: Cpus_allowed_list from
// proc/self/status, within the online CPUs of sys/devices/system/cpu/online,
// as sched_getaffinity gives it on the live host (the kernel's mask may
// hold every possible CPU, more than are online, on a VM that can hot-add
// CPUs). A list wider than the online CPUs is read as their intersection
// and reported with a warning naming the file and both lists, so
// Cpus_allowed_list: 0-16383 on a 4-CPU host gives 4, never 16384; one that
// shares no CPU with them is an error, and nothing is changed. Ids past
// cpulist.MaxID (0-65535) are a parse error naming the file. Without an
// online file the list is taken as it is: this host's CPU count says
// nothing about a root captured elsewhere.
func rootCPUs(c *config, warnings *[]string) ([]int, error) {
	online, haveOnline, err := cgroup.OnlineCPUs(c.root)
	if err != nil {
		return nil, err
	}
	set, ok, err := cgroup.AllowedCPUs(c.root)
	if err != nil {
		return nil, err
	}
	status, onlineFile := filepath.Join(c.root, "proc/self/status"), filepath.Join(c.root, "sys/devices/system/cpu/online")
	switch {
	case ok && haveOnline:
		in := cpulist.Intersect(set, online)
		if len(in) == 0 {
			return nil, fmt.Errorf("tune: %s: Cpus_allowed_list %s names none of the %d CPUs online (%s %s)",
				status, quoteList(set), len(online), onlineFile, quoteList(online))
		}
		if len(in) < len(set) {
			*warnings = append(*warnings, fmt.Sprintf("%s: Cpus_allowed_list %s names %d CPUs, %d of them online (%s %s): using those %d",
				status, quoteList(set), len(set), len(in), onlineFile, quoteList(online), len(in)))
		}
		set = in
	case !ok && haveOnline:
		set = online
	case !ok:
		// Nothing under the root says how many CPUs there are.
		set = seq(c.numCPU())
		*warnings = append(*warnings, fmt.Sprintf("no proc/self/status or sys/devices/system/cpu/online under %s: assuming this host's %d CPUs", c.root, len(set)))
	}
	return set, nil
}

// quoteList formats ids for an error, cut to 64 bytes.
func quoteList(ids []int) string {
	s := cpulist.Format(ids)
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// runtimeProcs is the Go runtime's rule: the quota rounded up, at least 2,
// at most the allowed CPUs.
func runtimeProcs(quota float64, cpus int) int64 {
	if quota <= 0 {
		return int64(cpus)
	}
	return int64(min(cpus, max(2, int(math.Ceil(quota)))))
}

// floorProcs is automaxprocs' rule: the quota rounded down, at least 1, at
// most the allowed CPUs.
func floorProcs(quota float64, cpus int) int64 {
	if quota <= 0 {
		return int64(cpus)
	}
	return int64(min(cpus, max(1, int(math.Floor(quota)))))
}

func (c *config) decideProcs(r *Report, cur int64, refresh bool) Setting {
	s := Setting{Before: cur, After: cur, Source: SourceDefault}
	if heldByOther(owner.GOMAXPROCS, &s, formatInt) {
		return s
	}
	lim := r.Limits
	if v, ok := c.lookupEnv("GOMAXPROCS"); ok && v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			s.Source, s.Reason = SourceEnv, fmt.Sprintf("GOMAXPROCS=%s in the environment", v)
			return s
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("GOMAXPROCS=%q in the environment is not a positive integer; the runtime ignores it", v))
	}
	if c.procs == MaxProcsOff {
		s.Reason = "left alone by policy"
		return s
	}
	godebugEnv, _ := c.lookupEnv("GODEBUG")
	cm, cmExplicit := godebug(godebugEnv, "containermaxprocs")
	if cm == "0" && cmExplicit {
		s.Source, s.Reason = SourceEnv, "GODEBUG=containermaxprocs=0 in the environment"
		return s
	}
	runtimeActs := cm != "0"
	if refresh {
		if upd, _ := godebug(godebugEnv, "updatemaxprocs"); upd == "0" {
			runtimeActs = false
		}
	}
	// What the runtime picks by itself: it reads only the leaf's quota.
	runtimeDefault := int64(lim.CPUs)
	if runtimeActs {
		runtimeDefault = runtimeProcs(lim.LeafCPUQuota, lim.CPUs)
	}
	if c.live() {
		if cur != runtimeDefault && cur != lastProcs.Load() && !c.overrideCode {
			s.Source, s.Reason = SourceCode, fmt.Sprintf("set in code to %d; kept", cur)
			return s
		}
		r.procsDefault = cur == runtimeDefault && cur != lastProcs.Load()
	}

	want, src := runtimeProcs(lim.CPUQuota, lim.CPUs), SourceCgroup
	if c.procs == MaxProcsFloor {
		want, src = floorProcs(lim.CPUQuota, lim.CPUs), SourcePolicy
	}
	quota := formatQuota(lim.CPUQuota)
	ours := lastProcs.Load()
	if c.live() && runtimeActs && want == runtimeDefault {
		// The runtime gives this answer by itself: leave it the job, and
		// hand it back (which also restarts its updates) if gotune had
		// taken it over.
		s.After, s.Source = want, SourceRuntime
		s.Reason = fmt.Sprintf("the runtime follows the cpu quota %s", quota)
		if lim.CPUQuota == 0 {
			s.Source, s.Reason = SourceDefault, fmt.Sprintf("no cpu quota; %d CPUs allowed", lim.CPUs)
		}
		if ours != 0 {
			s.Set, r.handBack = true, true
		}
		return s
	}
	switch {
	case c.procs == MaxProcsFloor && lim.CPUQuota > 0:
		s.Reason = fmt.Sprintf("floor of cpu quota %s, %d CPUs allowed", quota, lim.CPUs)
	case lim.CPUQuota > 0 && lim.CPUQuota < lim.LeafCPUQuota || lim.CPUQuota > 0 && lim.LeafCPUQuota == 0:
		s.Reason = fmt.Sprintf("an ancestor's cpu quota %s is tighter than the leaf's %s, which the runtime reads", quota, formatQuota(lim.LeafCPUQuota))
	case lim.CPUQuota > 0 && !c.live():
		s.Reason = fmt.Sprintf("cpu quota %s read under %s", quota, c.root)
	case lim.CPUQuota > 0:
		s.Reason = fmt.Sprintf("cpu quota %s; the runtime's cgroup support is off", quota)
	default:
		s.Reason = fmt.Sprintf("no cpu quota; %d CPUs allowed", lim.CPUs)
		src = SourceDefault
	}
	s.After, s.Source = want, src
	// Setting it once also switches the runtime's own updates off, which
	// would otherwise undo it; after that only a new value needs a call.
	s.Set = want != cur || (c.live() && runtimeActs && ours != want)
	return s
}

func (c *config) decideMemLimit(r *Report, cur int64) Setting {
	s := Setting{Before: cur, After: cur, Source: SourceDefault}
	if heldByOther(owner.GOMEMLIMIT, &s, FormatBytes) {
		return s
	}
	if v, ok := c.lookupEnv("GOMEMLIMIT"); ok && v != "" {
		s.Source, s.Reason = SourceEnv, fmt.Sprintf("GOMEMLIMIT=%s in the environment", v)
		if _, err := ParseBytes(v); err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("GOMEMLIMIT=%q in the environment is malformed", v))
		}
		return s
	}
	if c.memOff {
		s.Reason = "left alone by option"
		return s
	}
	ours := lastLimit.Load()
	lim := r.Limits
	limit := cgroup.Tightest(lim.MemoryMax, lim.MemoryHigh)
	if limit == 0 {
		s.Reason = "no cgroup memory limit"
		switch {
		case ours != 0 && cur == ours:
			// gotune set it and the limit is gone: give the old value back.
			s.After, s.Set, s.Source = origLimit.Load(), true, SourceCgroup
			s.Reason = "cgroup memory limit removed"
		case cur != math.MaxInt64:
			s.Source, s.Reason = SourceCode, "no cgroup memory limit; keeping the limit set in code"
		}
		return s
	}
	// automemlimit's provider machinery computes the ratio, so the
	// rounding is the one its users know.
	v, err := memlimit.ApplyRatio(memlimit.Limit(uint64(limit)), c.ratio)()
	if err != nil {
		r.Warnings = append(r.Warnings, err.Error())
		return s
	}
	target := int64(v) - c.reserve
	which := "memory.max"
	if lim.MemoryHigh > 0 && (lim.MemoryMax == 0 || lim.MemoryHigh < lim.MemoryMax) {
		which = "memory.high"
	}
	reason := fmt.Sprintf("%v × %s %s", c.ratio, which, FormatBytes(limit))
	if c.reserve > 0 {
		reason += " − reserve " + FormatBytes(c.reserve)
	}
	if target <= 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("memory reserve %s leaves nothing of the %s limit %s; GOMEMLIMIT left alone", FormatBytes(c.reserve), which, FormatBytes(limit)))
		s.Reason = "reserve exceeds the limit"
		return s
	}
	if target < cgroup.MinMemory {
		// The runtime's minimum heap goal is 4 MiB: a limit below it makes
		// the collector run without pause and still cannot be met.
		r.Warnings = append(r.Warnings, fmt.Sprintf("GOMEMLIMIT of %s from the %s limit %s is below the %s floor; GOMEMLIMIT left alone", FormatBytes(target), which, FormatBytes(limit), FormatBytes(cgroup.MinMemory)))
		s.Reason = "below the 4 MiB floor"
		return s
	}
	if cur != math.MaxInt64 && cur != ours && !c.overrideCode {
		s.Source, s.Reason = SourceCode, fmt.Sprintf("set in code to %s; kept (cgroup gives %s)", FormatBytes(cur), FormatBytes(target))
		return s
	}
	s.After, s.Source, s.Reason, s.Set = target, SourceCgroup, reason, target != cur
	return s
}

func (c *config) decideGOGC(r *Report, cur int64) Setting {
	s := Setting{Before: cur, After: cur, Source: SourceDefault, Reason: "runtime default"}
	if heldByOther(owner.GOGC, &s, formatGOGC) {
		return s
	}
	if v, ok := c.lookupEnv("GOGC"); ok && v != "" {
		s.Source, s.Reason = SourceEnv, fmt.Sprintf("GOGC=%s in the environment", v)
		if _, err := strconv.Atoi(v); err != nil && v != "off" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("GOGC=%q in the environment is malformed; the runtime uses 100", v))
		}
		return s
	}
	if !c.gogcSet {
		if cur != 100 {
			s.Source, s.Reason = SourceCode, "set in code; kept"
		}
		return s
	}
	if ours := lastGOGC.Load(); ours != 0 && cur != ours && !c.overrideCode {
		// Changed since gotune set it (gcguard, or code): theirs now.
		s.Source, s.Reason = SourceCode, fmt.Sprintf("changed to %s since gotune set %s; kept", formatGOGC(cur), formatGOGC(ours))
		return s
	}
	if c.gogc == GOGCOff && r.GOMEMLIMIT.After == math.MaxInt64 {
		r.Warnings = append(r.Warnings, "GOGC=off asked for, but no memory limit bounds the heap; GOGC left alone")
		s.Reason = "off needs a memory limit"
		return s
	}
	s.After, s.Source, s.Set = int64(c.gogc), SourcePolicy, int64(c.gogc) != cur
	s.Reason = "policy"
	if c.gogc == GOGCOff {
		s.Reason = "policy: off, the memory limit bounds the heap"
	}
	return s
}

func readGOGC() int64 {
	sample := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	v := int64(sample[0].Value.Uint64())
	if v < 0 || v > math.MaxInt32 {
		// The runtime reports GOGC=off as a percent it cannot hold.
		return GOGCOff
	}
	return v
}

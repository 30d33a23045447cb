package tune

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cgstat"
)

// Source says where a setting's value comes from.
type Source string

// The sources a setting can have.
const (
	SourceDefault Source = "default" // the runtime's plain default; no limit asked for more
	SourceEnv     Source = "env"     // an environment variable (GOMAXPROCS, GOMEMLIMIT, GOGC, GODEBUG)
	SourceCode    Source = "code"    // the program set it before gotune
	SourceRuntime Source = "runtime" // the runtime's own cgroup support
	SourceCgroup  Source = "cgroup"  // gotune, from the cgroup limits
	SourcePolicy  Source = "policy"  // gotune, from an explicit policy option
	SourceGCGuard Source = "gcguard" // gcguard owns it while it runs (GOGC, and GOMEMLIMIT where handed over)
	SourceNUMA    Source = "numa"    // numa.Pin owns it while the pin stands (GOMAXPROCS)
)

// Limits are the limits that bind the process.
type Limits struct {
	// Cgroup is the layout the limits were read from: "v1", "v2", "hybrid"
	// or "none".
	Cgroup string `json:"cgroup"`
	// Path is the process's cgroup path.
	Path string `json:"path,omitempty"`
	// CPUQuota is the tightest CPU bandwidth quota over the cgroup and its
	// ancestors, in CPUs; 0 means no quota.
	CPUQuota float64 `json:"cpu_quota"`
	// LeafCPUQuota is the cgroup's own quota, the one the Go runtime reads.
	LeafCPUQuota float64 `json:"leaf_cpu_quota"`
	// CPUs is the number of CPUs this process may run on: its affinity
	// mask intersected with the cgroup's cpuset.
	CPUs int `json:"cpus"`
	// CPUList is the same set in list form, for example "0-3,8".
	CPUList string `json:"cpu_list"`
	// MemoryMax and MemoryHigh are the tightest memory.max (v1:
	// memory.limit_in_bytes) and memory.high over the ancestors, in bytes;
	// 0 means no limit.
	MemoryMax  int64 `json:"memory_max"`
	MemoryHigh int64 `json:"memory_high"`
	// SwapMax is the swap the cgroup may use, in bytes; -1 means no limit.
	SwapMax int64 `json:"swap_max"`
	// Files names the file, under the root, that gave each binding value.
	Files map[string]string `json:"files,omitempty"`
}

// Setting is what happened to one runtime setting.
type Setting struct {
	Before int64  `json:"before"`
	After  int64  `json:"after"`
	Source Source `json:"source"`
	// Reason says why, in a few words, for the log line and the report.
	Reason string `json:"reason"`
	// Set is true where gotune changed (or, from Detect, would change) it.
	Set bool `json:"set"`
}

// Report is what [Detect] found and what [Apply] set. It prints as one
// readable line and marshals to JSON. GOMEMLIMIT values are bytes, with
// math.MaxInt64 meaning no limit; GOGC values are percent, with -1 meaning off.
type Report struct {
	Root       string   `json:"root"`
	Limits     Limits   `json:"limits"`
	GOMAXPROCS Setting  `json:"gomaxprocs"`
	GOMEMLIMIT Setting  `json:"gomemlimit"`
	GOGC       Setting  `json:"gogc"`
	Applied    bool     `json:"applied"`
	Warnings   []string `json:"warnings,omitempty"`

	// dirs are where the cgroup's stat files are, for Tuner.Signals.
	dirs cgstat.Dirs

	// procsDefault records that GOMAXPROCS was the runtime's own default
	// before Apply, so Undo hands it back to the runtime.
	procsDefault bool
	// handBack asks Apply to give GOMAXPROCS back to the runtime
	// (runtime.SetDefaultGOMAXPROCS) rather than set a number.
	handBack bool
}

// String gives the one line that tune/auto logs.
func (r Report) String() string {
	var b strings.Builder
	if !r.Applied {
		b.WriteString("would set ")
	}
	fmt.Fprintf(&b, "GOMAXPROCS=%d (%s: %s) GOMEMLIMIT=%s (%s: %s) GOGC=%s (%s: %s); limits: cgroup %s, cpu quota %s, %d CPUs [%s], memory.max %s, memory.high %s",
		r.GOMAXPROCS.After, r.GOMAXPROCS.Source, r.GOMAXPROCS.Reason,
		FormatBytes(r.GOMEMLIMIT.After), r.GOMEMLIMIT.Source, r.GOMEMLIMIT.Reason,
		formatGOGC(r.GOGC.After), r.GOGC.Source, r.GOGC.Reason,
		r.Limits.Cgroup, formatQuota(r.Limits.CPUQuota), r.Limits.CPUs, r.Limits.CPUList,
		FormatBytes(r.Limits.MemoryMax), FormatBytes(r.Limits.MemoryHigh))
	for _, w := range r.Warnings {
		b.WriteString("; warning: ")
		b.WriteString(w)
	}
	return b.String()
}

// undo restores the settings r's apply changed; see [Apply].
func (r Report) undo() {
	if r.GOMAXPROCS.Set {
		if r.procsDefault {
			lastProcs.restore(runtime.SetDefaultGOMAXPROCS)
		} else {
			lastProcs.restore(func() { runtime.GOMAXPROCS(int(r.GOMAXPROCS.Before)) })
		}
	}
	if r.GOMEMLIMIT.Set {
		lastLimit.restore(func() { debug.SetMemoryLimit(r.GOMEMLIMIT.Before) })
	}
	if r.GOGC.Set {
		lastGOGC.restore(func() { debug.SetGCPercent(int(r.GOGC.Before)) })
	}
}

func formatQuota(q float64) string {
	if q <= 0 {
		return "none"
	}
	return strconv.FormatFloat(q, 'f', -1, 64)
}

func formatGOGC(v int64) string {
	if v < 0 {
		return "off"
	}
	return strconv.FormatInt(v, 10)
}

// FormatBytes prints a byte count with a binary suffix ("460MiB"), "none" for
// 0 and "off" for math.MaxInt64.
func FormatBytes(n int64) string {
	switch {
	case n == math.MaxInt64:
		return "off"
	case n <= 0:
		return "none"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + units[i]
}

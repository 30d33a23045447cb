package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/internal/cgstat"
	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/internal/fsread"
)

// Version says which cgroup hierarchies the limits were read from.
type Version int

// The layouts a host can have.
const (
	None   Version = iota // no cgroup information (not Linux, or no cgroupfs)
	V1                    // only v1 hierarchies
	V2                    // only the v2 unified hierarchy
	Hybrid                // v1 controllers beside a v2 unified mount
)

func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	case Hybrid:
		return "hybrid"
	}
	return "none"
}

// MarshalText makes a Version print as its name in JSON.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Limits are the limits that bind the process. Zero means "no limit" for
// every field but SwapMax, where 0 is a real limit (no swap) and -1 means
// none. Each *File field names the file, relative to the root, that gave the
// binding value, so a report can say why.
type Limits struct {
	Version Version `json:"version"`
	// Path is the process's cgroup path as /proc/self/cgroup shows it for
	// the CPU controller (or the unified hierarchy).
	Path string `json:"path,omitempty"`

	CPUQuota     float64 `json:"cpu_quota"` // CPUs, tightest over the ancestors
	CPUQuotaFile string  `json:"cpu_quota_file,omitempty"`
	LeafCPUQuota float64 `json:"leaf_cpu_quota"` // CPUs, the leaf's own quota: what the Go runtime reads

	CPUSet     []int  `json:"cpuset,omitempty"` // effective cpuset; nil when unknown
	CPUSetFile string `json:"cpuset_file,omitempty"`
	MemSet     []int  `json:"memset,omitempty"` // effective memory nodes; nil when unknown
	MemSetFile string `json:"memset_file,omitempty"`

	MemoryMax      int64  `json:"memory_max"`
	MemoryMaxFile  string `json:"memory_max_file,omitempty"`
	MemoryHigh     int64  `json:"memory_high"`
	MemoryHighFile string `json:"memory_high_file,omitempty"`
	SwapMax        int64  `json:"swap_max"`
	SwapMaxFile    string `json:"swap_max_file,omitempty"`

	// Dirs are the process's cgroup directories, relative to the root,
	// where internal/cgstat reads how the limits bite (throttling, memory
	// events, pressure).
	Dirs cgstat.Dirs `json:"-"`
}

// MemoryLimit is min(MemoryMax, MemoryHigh) over the ones that are set, or
// 0 when neither is.
func (l Limits) MemoryLimit() int64 {
	return Tightest(l.MemoryMax, l.MemoryHigh)
}

// readFile is the one way this package reads files (fsread's bounded
// reader), a variable so tests can inject EACCES and other failures.
var readFile = fsread.ReadFile

// MinMemory is the smallest memory limit taken from a cgroup file: 4 MiB,
// the Go runtime's own minimum heap goal (the heap size below which it
// never starts a cycle at GOGC=100). A limit below it cannot hold a Go
// program's heap, let alone the runtime around it; such a value (2 bytes,
// 0) says the file is broken or hostile, not that the service must fit in
// it, so it is reported as an error naming the file and not used.
const MinMemory = 4 << 20

// Read reads the limits of the process whose /proc/self is under root
// ("/" for this process on this host). A host without cgroups gives zero
// Limits and no error. Malformed files give an error naming each file; the
// limits read from the other files are still returned.
func Read(root string) (Limits, error) {
	l := Limits{SwapMax: -1}
	r := &reader{root: root}
	pc, ok, err := r.file("proc/self/cgroup")
	if err != nil || !ok {
		return l, err
	}
	members, err := ParseProcCgroup(pc)
	if err != nil {
		return l, err
	}
	mounts, ok, err := r.mountinfo()
	if err != nil || !ok {
		return l, err
	}
	l.Version = layout(mounts)

	if h, ok := resolve("cpu", members, mounts); ok {
		l.Path = h.path
		r.cpu(&l, h)
		l.Dirs.CPU, l.Dirs.CPUV2 = relDir(h.dirs[0]), h.v2
		if d := path.Dir(l.CPUQuotaFile); l.CPUQuotaFile != "" && d != l.Dirs.CPU {
			l.Dirs.CPUTightest = d
		}
	}
	if h, ok := resolve("cpuset", members, mounts); ok {
		if l.Path == "" {
			l.Path = h.path
		}
		r.cpuset(&l, h)
	}
	if h, ok := resolve("memory", members, mounts); ok {
		if l.Path == "" {
			l.Path = h.path
		}
		r.memory(&l, h)
		l.Dirs.Memory, l.Dirs.MemoryV2 = relDir(h.dirs[0]), h.v2
	}
	if h, ok := resolve("", members, mounts); ok && h.v2 {
		l.Dirs.Unified = relDir(h.dirs[0])
	}
	return l, errors.Join(r.errs...)
}

// relDir writes a directory as the *File fields are written: relative to
// the root.
func relDir(dir string) string { return strings.TrimPrefix(dir, "/") }

// hierarchy is one controller's place: the directories from the process's
// cgroup up to the hierarchy's mount point, leaf first, relative to root.
type hierarchy struct {
	v2   bool
	path string   // as /proc/self/cgroup says
	dirs []string // leaf first
}

func layout(mounts []Mount) Version {
	var v1, v2 bool
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = true
		}
	}
	switch {
	case v1 && v2:
		return Hybrid
	case v1:
		return V1
	case v2:
		return V2
	}
	return None
}

// resolve finds the hierarchy that holds controller: a v1 hierarchy that
// names it, or else the v2 unified hierarchy.
func resolve(controller string, members []Membership, mounts []Mount) (hierarchy, bool) {
	for _, m := range members {
		if !slices.Contains(m.Controllers, controller) {
			continue
		}
		if mp, ok := bestMount(mounts, "cgroup", controller, m.Path); ok {
			return hierarchy{path: m.Path, dirs: walk(mp, m.Path)}, true
		}
	}
	for _, m := range members {
		if m.ID != 0 || len(m.Controllers) != 0 {
			continue
		}
		if mp, ok := bestMount(mounts, "cgroup2", "", m.Path); ok {
			return hierarchy{v2: true, path: m.Path, dirs: walk(mp, m.Path)}, true
		}
	}
	return hierarchy{}, false
}

// bestMount picks, among the mounts of fstype (holding controller, for v1),
// the one whose root is the longest prefix of the cgroup path; a mount whose
// root is not a prefix (a namespaced or bind-mounted view) is a fallback.
func bestMount(mounts []Mount, fstype, controller, cgPath string) (Mount, bool) {
	var best Mount
	bestLen, found := -1, false
	for _, m := range mounts {
		if m.FSType != fstype || (controller != "" && !slices.Contains(m.Options, controller)) {
			continue
		}
		n := -1
		if under(cgPath, m.Root) {
			n = len(m.Root)
		}
		if !found || n > bestLen {
			best, bestLen, found = m, n, true
		}
	}
	return best, found
}

func under(p, root string) bool {
	return root == "/" || p == root || strings.HasPrefix(p, root+"/")
}

// walk lists the directories from the process's cgroup up to the mount
// point. When the mount's root is not above the cgroup path (a container
// that sees only its own subtree under a different name), the mount point
// itself is the process's cgroup, as far as this mount namespace can tell.
func walk(m Mount, cgPath string) []string {
	if cgPath == "/.." || strings.HasPrefix(cgPath, "/../") {
		// The process sits outside its cgroup namespace's root; all that
		// this view can see is the mount itself.
		return []string{m.MountPoint}
	}
	rel := ""
	if under(cgPath, m.Root) && m.Root != "/" {
		rel = strings.TrimPrefix(cgPath, m.Root)
	} else if m.Root == "/" {
		rel = cgPath
	}
	rel = path.Clean("/" + rel)
	var dirs []string
	for {
		dirs = append(dirs, path.Join(m.MountPoint, rel))
		if rel == "/" {
			return dirs
		}
		rel = path.Dir(rel)
	}
}

type reader struct {
	root string
	errs []error
}

// file reads name under the root. Missing and unreadable files report
// ok=false and no error: they mean "no limit here".
func (r *reader) file(name string) ([]byte, bool, error) {
	b, err := readFile(r.root, name)
	switch {
	case err == nil:
		return b, true, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("cgroup: %w", err) // names the file
}

// mountinfo streams proc/self/mountinfo through the parser, which keeps
// only the cgroup mounts, so its size does not matter below fsread's cap.
func (r *reader) mountinfo() ([]Mount, bool, error) {
	const name = "proc/self/mountinfo"
	f, err := fsread.Open(r.root, name)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	m, err := ReadMountInfo(f)
	if err != nil {
		return nil, false, fmt.Errorf("%w (in %s)", err, f.Name())
	}
	return m, true, nil
}

// value reads a one-line file and runs parse on it, recording an error that
// names the file and quotes the content when parse fails.
func value[T any](r *reader, name string, parse func(string) (T, error)) (T, bool) {
	var zero T
	b, ok, err := r.file(name)
	if err != nil {
		r.errs = append(r.errs, err)
		return zero, false
	}
	if !ok {
		return zero, false
	}
	v, err := parse(strings.TrimSpace(string(b)))
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("cgroup: parse %s: %w", name, err))
		return zero, false
	}
	return v, true
}

func (r *reader) cpu(l *Limits, h hierarchy) {
	for i, dir := range h.dirs {
		var (
			q    float64
			ok   bool
			file string
		)
		if h.v2 {
			file = path.Join(dir, "cpu.max")
			q, ok = value(r, file, ParseCPUMax)
		} else {
			file = path.Join(dir, "cpu.cfs_quota_us")
			var quota, period string
			quota, ok = value(r, file, identity)
			if ok {
				period, ok = value(r, path.Join(dir, "cpu.cfs_period_us"), identity)
			}
			if ok {
				var err error
				if q, err = ParseCFS(quota, period); err != nil {
					r.errs = append(r.errs, fmt.Errorf("cgroup: parse %s: %w", file, err))
					ok = false
				}
			}
		}
		if !ok || q <= 0 {
			continue
		}
		if i == 0 {
			l.LeafCPUQuota = q
		}
		if l.CPUQuota == 0 || q < l.CPUQuota {
			l.CPUQuota, l.CPUQuotaFile = q, strings.TrimPrefix(file, "/")
		}
	}
}

func identity(s string) (string, error) { return s, nil }

func (r *reader) cpuset(l *Limits, h hierarchy) {
	cpus := []string{"cpuset.effective_cpus", "cpuset.cpus"}
	mems := []string{"cpuset.effective_mems", "cpuset.mems"}
	if h.v2 {
		cpus = []string{"cpuset.cpus.effective"}
		mems = []string{"cpuset.mems.effective"}
	}
	l.CPUSet, l.CPUSetFile = r.nearestList(h, cpus)
	l.MemSet, l.MemSetFile = r.nearestList(h, mems)
}

// nearestList reads the nearest non-empty list among names, leaf first: an
// effective set already folds in the ancestors, and a child's set is always
// within its parent's.
func (r *reader) nearestList(h hierarchy, names []string) ([]int, string) {
	for _, dir := range h.dirs {
		for _, n := range names {
			file := path.Join(dir, n)
			set, ok := value(r, file, cpulist.Parse)
			if ok && len(set) > 0 {
				return set, strings.TrimPrefix(file, "/")
			}
		}
	}
	return nil, ""
}

func (r *reader) memory(l *Limits, h hierarchy) {
	tighten := func(cur *int64, curFile *string, v int64, file string) {
		if v > 0 && (*cur == 0 || v < *cur) {
			*cur, *curFile = v, strings.TrimPrefix(file, "/")
		}
	}
	for _, dir := range h.dirs {
		if h.v2 {
			f := path.Join(dir, "memory.max")
			if v, ok := value(r, f, parseMemLimit); ok {
				tighten(&l.MemoryMax, &l.MemoryMaxFile, v, f)
			}
			f = path.Join(dir, "memory.high")
			if v, ok := value(r, f, parseMemLimit); ok {
				tighten(&l.MemoryHigh, &l.MemoryHighFile, v, f)
			}
			f = path.Join(dir, "memory.swap.max")
			if v, ok := value(r, f, parseSwap); ok && v >= 0 && (l.SwapMax < 0 || v < l.SwapMax) {
				l.SwapMax, l.SwapMaxFile = v, strings.TrimPrefix(f, "/")
			}
			continue
		}
		f := path.Join(dir, "memory.limit_in_bytes")
		mem, ok := value(r, f, parseMemLimit)
		if ok {
			tighten(&l.MemoryMax, &l.MemoryMaxFile, mem, f)
		}
		// v1 limits memory+swap together; the swap allowance is the
		// difference at the same level.
		sf := path.Join(dir, "memory.memsw.limit_in_bytes")
		if sw, ok2 := value(r, sf, ParseBytes); ok && ok2 && sw > 0 && mem > 0 && sw >= mem {
			if s := sw - mem; l.SwapMax < 0 || s < l.SwapMax {
				l.SwapMax, l.SwapMaxFile = s, strings.TrimPrefix(sf, "/")
			}
		}
	}
}

// parseMemLimit is ParseBytes for a memory limit, refusing a number below
// MinMemory; "max" and the unlimited sentinels still give 0.
func parseMemLimit(s string) (int64, error) {
	v, err := ParseBytes(s)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		n, perr := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if perr != nil || n >= v1Unlimited || n > math.MaxInt64 {
			return 0, nil // "max", "-1" or a sentinel: no limit
		}
	}
	if v < MinMemory {
		return 0, fmt.Errorf("limit %d bytes is below the %d-byte (4 MiB) floor a Go program needs; ignored", v, MinMemory)
	}
	return v, nil
}

// parseSwap is ParseBytes for memory.swap.max, where 0 is a real limit:
// "max" yields -1.
func parseSwap(s string) (int64, error) {
	if s == "max" {
		return -1, nil
	}
	v, err := ParseBytes(s)
	if err == nil && v == 0 && s != "0" {
		return -1, nil // a v1-style unlimited sentinel
	}
	return v, err
}

// Tightest returns the lower of two limits, where zero or a negative value
// means none (as cgroup files and Limits spell "max"), and 0 when neither
// is set. It is the one place gotune combines limits: memory.max with
// memory.high, a leaf's with an ancestor's.
func Tightest(a, b int64) int64 {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0:
		return a
	}
	return min(a, b)
}

// Share returns ratio × limit rounded down, the rule by which GOMEMLIMIT
// (tune) and a memory target (gcguard) follow a limit. It is the rounding
// of automemlimit's memlimit.ApplyRatio, which tune uses and a test holds
// Share to. ratio must be in (0, 1]; callers validate it.
func Share(limit int64, ratio float64) int64 {
	if limit <= 0 {
		return 0
	}
	v := float64(limit) * ratio
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

//go:build linux

// Package cgtest makes real cgroups for tests: a group with CPU and memory
// limits written into it, and a command that starts inside it.
//
// On a cgroup v1 host (or a hybrid one whose cpu and memory controllers are
// on v1) the group is made in the cpu and memory hierarchies. On a cgroup v2
// host it is made in the unified hierarchy, as a child of the test
// process's own cgroup where that cgroup is writable and can hand the cpu
// and memory controllers down (its cgroup.subtree_control takes "+cpu
// +memory"; the kernel refuses this with EBUSY while the cgroup holds
// processes and is not the root, the "no internal processes" rule), and
// otherwise as a child of the hierarchy's root where that is writable with
// the controllers enabled. Tests skip, with the reason, where neither
// works: not root, a read-only cgroupfs in a container, controllers not
// delegated.
package cgtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FS is where the cgroup hierarchies are mounted.
const FS = "/sys/fs/cgroup"

// Group is a cgroup made for one test. On v2 CPU and Memory are the same
// directory.
type Group struct {
	V2          bool
	CPU, Memory string // directories
}

// host is where New looks: the cgroup mount and this process's
// /proc/self/cgroup, replaced in tests of the package itself.
type host struct {
	fs         string
	procCgroup string
}

var live = host{fs: FS, procCgroup: "/proc/self/cgroup"}

// New creates a group named for the test under parent (nil: see the package
// documentation) and removes it when the test ends, after the test's other
// cleanups (a child process started in it has exited by then).
func New(t testing.TB, parent *Group, name string) *Group {
	t.Helper()
	return live.new(t, parent, name)
}

func (h host) new(t testing.TB, parent *Group, name string) *Group {
	t.Helper()
	leaf := fmt.Sprintf("gotune-%d-%s", os.Getpid(), name)
	if parent != nil {
		if parent.V2 {
			return h.newV2(t, parent.CPU, leaf)
		}
		return h.newV1(t, *parent, leaf)
	}
	v1 := true
	for _, f := range []string{"cpu/cpu.cfs_quota_us", "memory/memory.limit_in_bytes"} {
		if _, err := os.Stat(filepath.Join(h.fs, f)); err != nil {
			v1 = false
		}
	}
	if v1 {
		return h.newV1(t, Group{CPU: filepath.Join(h.fs, "cpu"), Memory: filepath.Join(h.fs, "memory")}, leaf)
	}
	if _, err := os.Stat(filepath.Join(h.fs, "cgroup.controllers")); err != nil {
		t.Skipf("neither cgroup v1 cpu and memory hierarchies nor cgroup v2 mounted under %s: %v", h.fs, err)
	}
	base, why := h.v2Base()
	if base == "" {
		t.Skipf("cgroup v2 under %s: %s", h.fs, why)
	}
	return h.newV2(t, base, leaf)
}

func (h host) newV1(t testing.TB, base Group, leaf string) *Group {
	t.Helper()
	g := &Group{CPU: filepath.Join(base.CPU, leaf), Memory: filepath.Join(base.Memory, leaf)}
	for _, d := range []string{g.CPU, g.Memory} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Skipf("cannot create cgroup %s (needs root and a writable cgroup v1 hierarchy): %v", d, err)
		}
		t.Cleanup(func() { remove(t, d) })
	}
	return g
}

// v2Base finds the directory to make v2 groups in: this process's own
// cgroup, else the hierarchy's root; "" and the reason where neither can
// give its children the cpu and memory controllers.
func (h host) v2Base() (string, string) {
	self, err := selfV2(h.procCgroup)
	if err != nil {
		return "", err.Error()
	}
	var reasons []string
	for _, dir := range []string{filepath.Join(h.fs, self), h.fs} {
		if err := delegate(dir); err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		return dir, ""
	}
	return "", strings.Join(reasons, "; ")
}

// selfV2 reads the process's v2 cgroup path ("0::/a/b") from procCgroup.
func selfV2(procCgroup string) (string, error) {
	b, err := os.ReadFile(procCgroup)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "/..") {
				return "", fmt.Errorf("%s: own cgroup %q is outside this cgroup namespace", procCgroup, p)
			}
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("%s has no cgroup v2 (0::) line", procCgroup)
}

// delegate makes sure dir hands the cpu and memory controllers to its
// children: they must be available in dir (cgroup.controllers) and enabled
// in its cgroup.subtree_control, which is written if they are not.
func delegate(dir string) error {
	avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	for _, c := range []string{"cpu", "memory"} {
		if !slices.Contains(strings.Fields(string(avail)), c) {
			return fmt.Errorf("%s: controller %s not available (cgroup.controllers %q)", dir, c, strings.TrimSpace(string(avail)))
		}
	}
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	on, err := os.ReadFile(ctl)
	if err != nil {
		return fmt.Errorf("%s: %v", ctl, err)
	}
	if f := strings.Fields(string(on)); slices.Contains(f, "cpu") && slices.Contains(f, "memory") {
		return nil
	}
	if err := os.WriteFile(ctl, []byte("+cpu +memory"), 0o644); err != nil {
		return fmt.Errorf("cannot enable cpu and memory in %s (not root, or the cgroup holds processes: the no-internal-processes rule): %v", ctl, err)
	}
	return nil
}

func (h host) newV2(t testing.TB, base, leaf string) *Group {
	t.Helper()
	if err := delegate(base); err != nil {
		t.Skipf("cgroup v2: %v", err)
	}
	d := filepath.Join(base, leaf)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Skipf("cannot create cgroup %s (needs a writable cgroup v2 hierarchy): %v", d, err)
	}
	t.Cleanup(func() { remove(t, d) })
	return &Group{V2: true, CPU: d, Memory: d}
}

func remove(t testing.TB, dir string) {
	// The kernel may take a moment to let go of a group whose last task
	// just exited.
	for range 100 {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("cgtest: could not remove cgroup %s", dir)
}

// v2Names maps the v1 files that tests write to their v2 equivalents, so a
// test written for v1 runs on v2 unchanged.
var v2Names = map[string]string{
	"memory.limit_in_bytes":       "memory.max",
	"memory.memsw.limit_in_bytes": "memory.swap.max", // not the same meaning: v2 counts swap alone
}

// Set writes value into file, in the memory hierarchy for memory.* files and
// the cpu hierarchy otherwise. On v2, memory.limit_in_bytes is written as
// memory.max; the CFS files have no single v2 equivalent (use [Group.Quota]).
func (g *Group) Set(t testing.TB, file, value string) {
	t.Helper()
	dir := g.CPU
	if strings.HasPrefix(file, "memory.") {
		dir = g.Memory
	}
	if g.V2 {
		if n, ok := v2Names[file]; ok {
			file = n
		}
		if strings.HasPrefix(file, "cpu.cfs_") {
			t.Fatalf("cgtest: %s is a cgroup v1 file; on v2 use Quota (cpu.max)", file)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		t.Fatalf("cgtest: write %s = %s: %v", filepath.Join(dir, file), value, err)
	}
}

// Quota sets a CPU bandwidth quota of cpus CPUs over a 100ms period
// (cpu.cfs_quota_us and cpu.cfs_period_us on v1, cpu.max on v2).
func (g *Group) Quota(t testing.TB, cpus float64) {
	t.Helper()
	quota := strconv.Itoa(int(cpus * 100000))
	if g.V2 {
		g.Set(t, "cpu.max", quota+" 100000")
		return
	}
	g.Set(t, "cpu.cfs_period_us", "100000")
	g.Set(t, "cpu.cfs_quota_us", quota)
}

// MemoryMax sets the hard memory limit (memory.limit_in_bytes on v1,
// memory.max on v2).
func (g *Group) MemoryMax(t testing.TB, bytes int64) {
	t.Helper()
	g.Set(t, "memory.limit_in_bytes", strconv.FormatInt(bytes, 10))
}

// MemoryHigh sets memory.high, the throttling limit that only cgroup v2 has;
// on v1 the test is skipped.
func (g *Group) MemoryHigh(t testing.TB, bytes int64) {
	t.Helper()
	if !g.V2 {
		t.Skip("memory.high exists on cgroup v2 only; this group is v1")
	}
	g.Set(t, "memory.high", strconv.FormatInt(bytes, 10))
}

// Command returns a command that runs bin with args inside g from its first
// instruction: a shell moves itself into the groups and then execs bin.
func (g *Group) Command(bin string, args ...string) *exec.Cmd {
	script := `echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"`
	if g.V2 {
		// One hierarchy: one move. ("$2" is the same directory.)
		script = `echo $$ > "$1/cgroup.procs" && shift 2 && exec "$@"`
	}
	return exec.Command("/bin/sh", append([]string{"-c", script, "sh", g.CPU, g.Memory, bin}, args...)...)
}

// CleanEnv is os.Environ without the variables that change what gotune
// decides (GOMAXPROCS, GOMEMLIMIT, GOGC, GODEBUG, GOTUNE*, AUTOMEMLIMIT).
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GOMAXPROCS", k == "GOMEMLIMIT", k == "GOGC", k == "GODEBUG", k == "AUTOMEMLIMIT", strings.HasPrefix(k, "GOTUNE"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Build builds the package at pkg (a path go build accepts) into dir and
// returns the binary's path.
func Build(t testing.TB, pkg, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "prog")
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

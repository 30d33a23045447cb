//go:build linux

// Package cgtest makes real cgroup v1 groups for tests: a group in the cpu
// and memory hierarchies, limits written into it, and a command that starts
// inside it. Tests skip, with the reason, where cgroup v1 is not mounted or
// not writable (not root, or a v2-only host).
package cgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FS is where the cgroup hierarchies are mounted.
const FS = "/sys/fs/cgroup"

// Group is a cgroup made for one test in the cpu and memory hierarchies.
type Group struct {
	CPU, Memory string // directories
}

// New creates a group named for the test under parent (nil: the hierarchy
// roots) and removes it when the test ends, after the test's other cleanups
// (a child process started in it has exited by then).
func New(t testing.TB, parent *Group, name string) *Group {
	t.Helper()
	for _, f := range []string{"cpu/cpu.cfs_quota_us", "memory/memory.limit_in_bytes"} {
		if _, err := os.Stat(filepath.Join(FS, f)); err != nil {
			t.Skipf("cgroup v1 %s not mounted under %s: %v", filepath.Dir(f), FS, err)
		}
	}
	base := Group{CPU: filepath.Join(FS, "cpu"), Memory: filepath.Join(FS, "memory")}
	if parent != nil {
		base = *parent
	}
	leaf := fmt.Sprintf("gotune-%d-%s", os.Getpid(), name)
	g := &Group{CPU: filepath.Join(base.CPU, leaf), Memory: filepath.Join(base.Memory, leaf)}
	for _, d := range []string{g.CPU, g.Memory} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Skipf("cannot create cgroup %s (needs root and a writable cgroup v1 hierarchy): %v", d, err)
		}
		t.Cleanup(func() { remove(t, d) })
	}
	return g
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

// Set writes value into file, in the memory hierarchy for memory.* files and
// the cpu hierarchy otherwise.
func (g *Group) Set(t testing.TB, file, value string) {
	t.Helper()
	dir := g.CPU
	if strings.HasPrefix(file, "memory.") {
		dir = g.Memory
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		t.Fatalf("cgtest: write %s = %s: %v", filepath.Join(dir, file), value, err)
	}
}

// Quota sets a CFS quota of cpus CPUs over a 100ms period.
func (g *Group) Quota(t testing.TB, cpus float64) {
	t.Helper()
	g.Set(t, "cpu.cfs_period_us", "100000")
	g.Set(t, "cpu.cfs_quota_us", strconv.Itoa(int(cpus*100000)))
}

// Command returns a command that runs bin with args inside g from its first
// instruction: a shell moves itself into the groups and then execs bin.
func (g *Group) Command(bin string, args ...string) *exec.Cmd {
	script := `echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"`
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

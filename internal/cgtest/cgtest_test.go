//go:build linux

package cgtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeV2 lays out a fake cgroup v2 mount: the root and the process's own
// cgroup /a/b, both offering cpu and memory, with subtree_control files
// that are plain files here (the kernel's check is not modelled).
func fakeV2(t *testing.T, self string) host {
	t.Helper()
	fs := t.TempDir()
	for _, d := range []string{fs, filepath.Join(fs, "a/b")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(d, "cgroup.controllers"), "cpuset cpu io memory pids\n")
		write(t, filepath.Join(d, "cgroup.subtree_control"), "")
	}
	proc := filepath.Join(t.TempDir(), "cgroup")
	write(t, proc, self)
	return host{fs: fs, procCgroup: proc}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// emptyOnCleanup removes the files a fake group holds, which the kernel
// would not let exist, so that remove can take the directory; it must be
// registered after New so that it runs first.
func emptyOnCleanup(t *testing.T, g *Group) {
	t.Cleanup(func() {
		ents, _ := os.ReadDir(g.CPU)
		for _, e := range ents {
			if !e.IsDir() {
				os.Remove(filepath.Join(g.CPU, e.Name()))
			}
		}
	})
}

func TestV2Layout(t *testing.T) {
	h := fakeV2(t, "0::/a/b\n")
	g := h.new(t, nil, "x")
	emptyOnCleanup(t, g)
	want := filepath.Join(h.fs, "a/b", "gotune-"+strconv.Itoa(os.Getpid())+"-x")
	if !g.V2 || g.CPU != want || g.Memory != want {
		t.Fatalf("new = %+v, want a v2 group at %s", g, want)
	}
	if got := read(t, filepath.Join(h.fs, "a/b/cgroup.subtree_control")); got != "+cpu +memory" {
		t.Errorf("own cgroup's subtree_control = %q, want the controllers enabled", got)
	}
	g.Quota(t, 1.5)
	g.MemoryMax(t, 512<<20)
	g.MemoryHigh(t, 400<<20)
	g.Set(t, "memory.limit_in_bytes", "268435456") // a v1 name, as the tune/auto tests write it
	for file, want := range map[string]string{"cpu.max": "150000 100000", "memory.max": "268435456", "memory.high": "419430400"} {
		if got := read(t, filepath.Join(g.CPU, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	cmd := g.Command("/bin/true", "arg")
	if s := strings.Join(cmd.Args, " "); !strings.Contains(s, `echo $$ > "$1/cgroup.procs" && shift 2`) || !strings.HasSuffix(s, g.CPU+" "+g.Memory+" /bin/true arg") {
		t.Errorf("Command args = %q", s)
	}

	// A child of the group: the group must hand the controllers down.
	write(t, filepath.Join(g.CPU, "cgroup.controllers"), "cpu memory\n")
	write(t, filepath.Join(g.CPU, "cgroup.subtree_control"), "")
	leaf := h.new(t, g, "leaf")
	emptyOnCleanup(t, leaf)
	if !leaf.V2 || filepath.Dir(leaf.CPU) != g.CPU {
		t.Errorf("new(parent) = %+v, want a v2 child of %s", leaf, g.CPU)
	}
}

// TestV2FallsBackToRoot: where the own cgroup cannot delegate (here: it
// lacks the memory controller), the group is made under the hierarchy's
// root.
func TestV2FallsBackToRoot(t *testing.T) {
	h := fakeV2(t, "0::/a/b\n")
	write(t, filepath.Join(h.fs, "a/b/cgroup.controllers"), "cpu\n")
	g := h.new(t, nil, "y")
	emptyOnCleanup(t, g)
	if filepath.Dir(g.CPU) != h.fs {
		t.Errorf("new = %+v, want a group under the root %s", g, h.fs)
	}
}

func TestV2Skips(t *testing.T) {
	for name, setup := range map[string]func(h host){
		"no-controllers": func(h host) {
			write(t, filepath.Join(h.fs, "a/b/cgroup.controllers"), "cpu\n")
			write(t, filepath.Join(h.fs, "cgroup.controllers"), "cpu io\n")
		},
		"outside-namespace": func(h host) { write(t, h.procCgroup, "0::/../../x\n") },
		"no-v2-line":        func(h host) { write(t, h.procCgroup, "4:memory:/a\n") },
		"no-cgroupfs":       func(h host) { os.Remove(filepath.Join(h.fs, "cgroup.controllers")) },
	} {
		h := fakeV2(t, "0::/a/b\n")
		setup(h)
		ok := t.Run(name, func(t *testing.T) {
			h.new(t, nil, "z") // skips, with the reason
			t.Errorf("new made a group, want a skip")
		})
		if !ok {
			t.Errorf("%s: subtest failed, want it skipped", name)
		}
	}
}

func TestV1Layout(t *testing.T) {
	fs := t.TempDir()
	for _, f := range []string{"cpu/cpu.cfs_quota_us", "memory/memory.limit_in_bytes"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(fs, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(fs, f), "-1\n")
	}
	h := host{fs: fs, procCgroup: "/nonexistent"}
	g := h.new(t, nil, "v1")
	t.Cleanup(func() {
		for _, d := range []string{g.CPU, g.Memory} {
			ents, _ := os.ReadDir(d)
			for _, e := range ents {
				os.Remove(filepath.Join(d, e.Name()))
			}
		}
	})
	if g.V2 || filepath.Dir(g.CPU) != filepath.Join(fs, "cpu") || filepath.Dir(g.Memory) != filepath.Join(fs, "memory") {
		t.Fatalf("new = %+v, want v1 groups", g)
	}
	g.Quota(t, 0.5)
	g.MemoryMax(t, 64<<20)
	if read(t, filepath.Join(g.CPU, "cpu.cfs_quota_us")) != "50000" || read(t, filepath.Join(g.Memory, "memory.limit_in_bytes")) != "67108864" {
		t.Errorf("v1 limits not written where expected")
	}
	t.Run("memory.high", func(t *testing.T) {
		g.MemoryHigh(t, 1)
		t.Error("MemoryHigh on v1 did not skip")
	})
}

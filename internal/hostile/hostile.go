//go:build linux

// Package hostile builds broken and hostile /proc and /sys trees at test
// time, for the tests of every package that reads them (internal/cgroup,
// internal/sysnode, tune, numa): a well-formed base tree, and for each file
// that a reader opens, copies of the tree in which that file is a FIFO, a
// symlink to /dev/zero, a device, a directory, a 100 MB sparse file, a
// valid value repeated past the size cap, and so on; mountinfo also gets
// relative and escaping mount points and huge numbers of lines. [Run]
// runs a reader on one case under a deadline and an allocation check.
package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Base is the content of the well-formed tree: a cgroup v2 process in
// /app with a 2-CPU quota, 512 MiB memory.max and a 4-CPU cpuset, on a
// one-node host with CPUs 0-3.
var Base = map[string]string{
	"proc/self/cgroup":        "0::/app\n",
	"proc/self/mountinfo":     "25 30 0:22 / /proc rw - proc proc rw\n30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
	"proc/self/status":        "Name:\tsvc\nThreads:\t4\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\nMems_allowed:\t1\nMems_allowed_list:\t0\n",
	"proc/self/numa_maps":     "00400000 default file=/svc mapped=10 N0=10 kernelpagesize_kB=4\n",
	"proc/self/task/1/status": "Cpus_allowed_list:\t0-3\n",
	"proc/meminfo":            "MemTotal:       8000000 kB\nMemFree:        4000000 kB\n",

	"sys/devices/system/cpu/online":           "0-3\n",
	"sys/fs/cgroup/cgroup.controllers":        "cpuset cpu memory\n",
	"sys/fs/cgroup/app/cpu.max":               "200000 100000\n",
	"sys/fs/cgroup/app/memory.max":            "536870912\n",
	"sys/fs/cgroup/app/memory.high":           "max\n",
	"sys/fs/cgroup/app/memory.swap.max":       "max\n",
	"sys/fs/cgroup/app/cpuset.cpus.effective": "0-3\n",
	"sys/fs/cgroup/app/cpuset.mems.effective": "0\n",

	"sys/devices/system/node/online":         "0\n",
	"sys/devices/system/node/has_memory":     "0\n",
	"sys/devices/system/node/node0/cpulist":  "0-3\n",
	"sys/devices/system/node/node0/distance": "10\n",
	"sys/devices/system/node/node0/meminfo":  "Node 0 MemTotal:       8000000 kB\nNode 0 MemFree:        4000000 kB\nNode 0 MemUsed:        4000000 kB\n",
	"sys/devices/system/node/node0/numastat": "numa_hit 10\nnuma_miss 0\n",
}

// Case is one broken tree.
type Case struct {
	Name string // "<file>/<attack>"
	Root string
	File string // the file, relative to Root, that was made hostile
	// Refused says the attack is on the file's kind or size (a FIFO, a
	// device, an escaping link, an oversized file): every reader of the
	// file must fail with an error that names it. A value attack (0, 1,
	// 2^64, garbage) may instead be read as a sane value.
	Refused bool
}

// Write writes files (relative name → content) under root.
func Write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// link makes root a copy of the tree tmpl whose files are hard links.
func link(t testing.TB, tmpl, root string) {
	t.Helper()
	made := map[string]bool{}
	for name := range Base {
		d := filepath.Dir(filepath.Join(root, name))
		if !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			made[d] = true
		}
		if err := os.Link(filepath.Join(tmpl, name), filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
}

type attack struct {
	name    string
	refused bool
	make    func(t testing.TB, root, p, file string) // p = root/file, already removed
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// repeat repeats s until the result is longer than n bytes.
func repeat(s string, n int) string { return strings.Repeat(s, n/len(s)+1) }

var kindAttacks = []attack{
	{"fifo", true, func(t testing.TB, root, p, file string) {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}},
	{"symlink-dev-zero", true, func(t testing.TB, root, p, file string) { symlink(t, "/dev/zero", p) }},
	{"relative-symlink-dev-zero", true, func(t testing.TB, root, p, file string) {
		rel, err := filepath.Rel(filepath.Dir(p), "/dev/zero")
		if err != nil {
			t.Fatal(err)
		}
		symlink(t, rel, p)
	}},
	{"symlink-escaping", true, func(t testing.TB, root, p, file string) {
		symlink(t, strings.Repeat("../", strings.Count(file, "/")+3)+"etc/passwd", p)
	}},
	{"device-inside-root", true, func(t testing.TB, root, p, file string) {
		// A character device (1,5 is /dev/zero) inside the root, reached
		// through a symlink that stays inside it; mknod needs root, and a
		// FIFO stands in without it.
		dev := filepath.Join(root, "zero-device")
		if _, err := os.Lstat(dev); err != nil {
			if err := syscall.Mknod(dev, syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
				if err := syscall.Mkfifo(dev, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		rel, err := filepath.Rel(filepath.Dir(p), dev)
		if err != nil {
			t.Fatal(err)
		}
		symlink(t, rel, p)
	}},
	{"directory", true, func(t testing.TB, root, p, file string) {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}},
	{"sparse-100MB", true, func(t testing.TB, root, p, file string) {
		writeFile(t, p, "")
		if err := os.Truncate(p, 100<<20); err != nil {
			t.Fatal(err)
		}
	}},
}

// valueAttacks replace the content. The one named "repeated" is the file's
// own valid content repeated past 64 KiB (fsread.MaxSize), and is refused,
// but for the files that are streamed (mountinfo, numa_maps), whose cap is
// 16 MiB.
func valueAttacks(file, base string) []attack {
	streamed := strings.HasSuffix(file, "mountinfo") || strings.HasSuffix(file, "numa_maps")
	set := func(name, content string, refused bool) attack {
		return attack{name, refused, func(t testing.TB, root, p, _ string) { writeFile(t, p, content) }}
	}
	out := []attack{
		set("repeated", repeat(base, 70<<10), !streamed),
		set("empty", "", false),
		set("binary", "\x00\xff\xfe\x01garbage\x00\n", false),
		set("zero", "0\n", false),
		set("one", "1\n", false),
		set("two", "2\n", false),
		set("negative", "-2\n", false),
		set("2^63", "9223372036854775808\n", false),
		set("2^64", "18446744073709551616\n", false),
		set("max", "max\n", false),
		set("ids-past-NR_CPUS", "0-65535\n", false),
		set("wide-range-repeated-in-cap", repeat("0-16383,", 60<<10)+"0\n", false),
	}
	if strings.HasSuffix(file, "mountinfo") {
		cg := "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
		other := "40 1 0:50 / /var/lib/kubelet/pods/0123456789abcdef/volumes/kubernetes.io~projected/kube-api-access rw - tmpfs tmpfs rw\n"
		out = append(out,
			set("relative-mount-point", "30 1 0:26 / sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", true),
			set("escaping-mount-point", "30 1 0:26 / /sys/fs/cgroup/../../../../etc rw - cgroup2 cgroup2 rw\n", true),
			set("relative-root", "30 1 0:26 ../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", true),
			set("many-cgroup-lines", repeat(cg, 1100*len(cg)), true),
			// 17 MB, past fsread.MaxStream (refused on its size, so the
			// lines after the first are a sparse hole); and 2 MB of lines
			// under it, which are read, costing only the cgroup mount held.
			attack{"lines-past-cap", true, func(t testing.TB, root, p, _ string) {
				writeFile(t, p, cg)
				if err := os.Truncate(p, 17<<20); err != nil {
					t.Fatal(err)
				}
			}},
			set("many-lines-in-cap", repeat(other, 2<<20)+cg, false),
		)
	}
	return out
}

// Cases builds, under a test temp directory, one tree per attack on each
// of files (names in [Base]; all of Base when files is empty).
func Cases(t testing.TB, files ...string) []Case {
	t.Helper()
	if len(files) == 0 {
		for f := range Base {
			files = append(files, f)
		}
	}
	dir := t.TempDir()
	// Each case's tree is hard links to one written tree: far cheaper than
	// writing every file again, and a case replaces its file by removing
	// the link, which leaves the others' alone.
	tmpl := filepath.Join(dir, "base")
	Write(t, tmpl, Base)
	var out []Case
	n := 0
	for _, file := range files {
		base, ok := Base[file]
		if !ok {
			t.Fatalf("hostile: %s is not in Base", file)
		}
		for _, a := range append(append([]attack{}, kindAttacks...), valueAttacks(file, base)...) {
			n++
			root := filepath.Join(dir, fmt.Sprint(n))
			link(t, tmpl, root)
			p := filepath.Join(root, file)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			a.make(t, root, p, file)
			out = append(out, Case{Name: file + "/" + a.name, Root: root, File: file, Refused: a.refused})
		}
	}
	return out
}

// MaxAlloc is the most one read of a hostile tree may allocate.
const MaxAlloc = 1 << 20

// Timeout is how long one read of a hostile tree may take. It is a hang
// check: every case finishes in microseconds to milliseconds.
const Timeout = time.Second

// Run runs read and returns its error. The test fails if read takes longer
// than [Timeout] or allocates more than [MaxAlloc] bytes, measured as the
// process's total allocation while it runs (so run cases one at a time).
func Run(t testing.TB, c Case, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() { done <- read() }()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		t.Fatalf("%s: the read did not return within %v (hang)", c.Name, Timeout)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > MaxAlloc {
		t.Errorf("%s: the read allocated %d bytes, want at most %d", c.Name, n, MaxAlloc)
	}
	return err
}

// Check runs read on c and checks the outcome: a refused case must fail
// with an error that names c.File; any error must name it too, and stay
// short (a few KiB: a 100 MB error string was seen).
func Check(t testing.TB, c Case, read func() error) error {
	t.Helper()
	err := Run(t, c, read)
	switch {
	case err == nil && c.Refused:
		t.Errorf("%s: no error, want one naming %s", c.Name, c.File)
	case err != nil && !strings.Contains(err.Error(), c.File):
		t.Errorf("%s: error %q does not name %s", c.Name, err, c.File)
	case err != nil && len(err.Error()) > 4096:
		t.Errorf("%s: error is %d bytes long", c.Name, len(err.Error()))
	}
	return err
}

//go:build linux

package sysnode

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/gotune/gotune/internal/fsread"
	"github.com/gotune/gotune/internal/hostile"
)

// TestHostileTree runs every reader of the package on trees in which one
// file is a FIFO, a device, an escaping link, oversized, repeated, or holds
// a nonsense value (issue 15): each returns within the deadline, allocates
// under 1 MiB, and either refuses the file with an error naming it or
// reads a sane value.
func TestHostileTree(t *testing.T) {
	readers := map[string]func(root string) error{
		"proc/self/status":                       func(r string) error { _, err := ReadStatus(r, "proc/self/status"); return err },
		"proc/meminfo":                           func(r string) error { _, err := ReadMeminfo(r); return err },
		"sys/devices/system/cpu/online":          func(r string) error { _, err := OnlineCPUs(r); return err },
		"proc/self/numa_maps":                    func(r string) error { _, err := ReadNumaMaps(r, 100000); return err },
		"sys/devices/system/node/node0/numastat": func(r string) error { _, err := ReadNumastat(r, 0); return err },
		"sys/devices/system/node/node0/meminfo":  func(r string) error { _, err := ReadNodeMeminfo(r, 0); return err },
	}
	for _, f := range []string{"online", "has_memory", "node0/cpulist", "node0/distance", "node0/meminfo"} {
		readers[NodeDir+"/"+f] = func(r string) error { _, err := ReadNodes(r); return err }
	}
	var files []string
	for f := range readers {
		files = append(files, f)
	}
	for _, c := range hostile.Cases(t, files...) {
		hostile.Check(t, c, func() error { return readers[c.File](c.Root) })
		if c.File == NodeDir+"/node0/meminfo" {
			// ReadNodes reads it too.
			hostile.Check(t, c, func() error { _, err := ReadNodes(c.Root); return err })
		}
	}
}

// TestHostileTaskDir: /proc/self/task that is a FIFO, a link out of the
// root, or that holds more than MaxTasks entries is refused, never opened
// for reading (os.ReadDir on a FIFO blocks for ever).
func TestHostileTaskDir(t *testing.T) {
	for name, make := range map[string]func(p string) error{
		"fifo":     func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"escaping": func(p string) error { return os.Symlink("/proc/self/task", p) },
		"file":     func(p string) error { return os.WriteFile(p, []byte("1\n"), 0o644) },
	} {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "proc/self"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := make(filepath.Join(root, "proc/self/task")); err != nil {
			t.Fatal(err)
		}
		c := hostile.Case{Name: "task/" + name, Root: root, File: "proc/self/task", Refused: true}
		hostile.Check(t, c, func() error { _, err := Tasks(root); return err })
	}
	// More entries than the bound: shown with a small bound, since
	// 65537 directories take too long to make in a unit test.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc/self/task"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 40; i++ {
		if err := os.Mkdir(filepath.Join(root, "proc/self/task", strconv.Itoa(i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fsread.ReadDirNames(root, "proc/self/task", 39); !errors.Is(err, fsread.ErrTooLarge) {
		t.Errorf("ReadDirNames(40 tasks, max 39) error = %v, want ErrTooLarge", err)
	}
	if tids, err := Tasks(root); err != nil || len(tids) != 40 {
		t.Errorf("Tasks = %v, %v, want 40 ids", tids, err)
	}
}

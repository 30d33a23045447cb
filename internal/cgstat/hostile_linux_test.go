//go:build linux

package cgstat_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/cgstat"
)

// TestReadHostileFiles: a FIFO, a symlink to /dev/zero, and a huge file in
// place of a stat file each give an error naming the file, without
// blocking or reading the whole thing.
func TestReadHostileFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "cg", "cpu.stat"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(root, "cg", "memory.current")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(root, "cg", "memory.events"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(100 << 20)
	f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := cgstat.Read(root, cgstat.Dirs{CPU: "cg", CPUV2: true, Memory: "cg", MemoryV2: true})
		done <- err
	}()
	select {
	case err := <-done:
		for _, want := range []string{"cpu.stat", "memory.current", "memory.events"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Read on hostile files: error %v, want it to name %s", err, want)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read on a FIFO, /dev/zero and a 100 MB file did not return in 10 s")
	}
}

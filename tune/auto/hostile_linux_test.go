//go:build linux

package auto

import (
	"bytes"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/hostile"
	"github.com/gotune/gotune/tune"
)

// TestHostileTreeKeepsDefaults runs the import's start over hostile trees
// (issue 15: a FIFO as memory.max hung the import at init, a symlink to
// /dev/zero took gigabytes): for each refused file it returns within the
// deadline, keeps the runtime's GOMAXPROCS and GOMEMLIMIT, records the
// error, and logs exactly one line, which names the file.
func TestHostileTreeKeepsDefaults(t *testing.T) {
	mu.Lock()
	saved := struct {
		tuner *tune.Tuner
		err   error
	}{tuner, err}
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		tuner, err = saved.tuner, saved.err
		mu.Unlock()
	})
	files := []string{
		"proc/self/cgroup", "proc/self/mountinfo", "proc/self/status", "sys/devices/system/cpu/online",
		"sys/fs/cgroup/app/cpu.max", "sys/fs/cgroup/app/memory.max", "sys/fs/cgroup/app/memory.high",
	}
	// Refreshing off: no goroutine to stop.
	env := map[string]string{"GOTUNE_REFRESH": "0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, c := range hostile.Cases(t, files...) {
		if !c.Refused {
			continue
		}
		procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
		mu.Lock()
		err = nil
		mu.Unlock()
		var log bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&log, nil))
		hostile.Run(t, c, func() error {
			start(lookup, logger, tune.WithRoot(c.Root))
			return nil
		})
		if runtime.GOMAXPROCS(0) != procs || debug.SetMemoryLimit(-1) != limit {
			t.Fatalf("%s: the runtime's settings changed", c.Name)
		}
		if Err() == nil || !strings.Contains(Err().Error(), c.File) {
			t.Errorf("%s: Err() = %v, want an error naming %s", c.Name, Err(), c.File)
		}
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], c.File) || !strings.Contains(lines[0], "keeping the runtime's settings") {
			t.Errorf("%s: logged %d lines, want one naming %s:\n%s", c.Name, len(lines), c.File, log.String())
		}
	}
}

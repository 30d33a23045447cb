package cgroup_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// checkAlloc fails t if fn allocates more than limit bytes: every parser
// must cost what its input is worth (issue 15).
func checkAlloc(t *testing.T, name string, limit int, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(limit) {
		t.Fatalf("%s allocated %d bytes, want at most %d", name, n, limit)
	}
}

func mkdirWrite(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

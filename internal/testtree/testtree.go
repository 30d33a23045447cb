// Package testtree writes fixture trees for tests: a fake /proc and /sys
// (or any files) under a temporary root, each file replaced atomically as
// the kernel's files change for a reader, so a test can rewrite a file
// under a running reader. It is for tests only.
package testtree

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes each name → content under root, creating directories,
// through a temporary file and a rename. It fails t on any error.
func Write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
}

// V2Pod is a cgroup v2 process in /pod on one CPU: the files every reader
// needs before the test adds its own (a cgroup.events marks /pod a
// non-root cgroup). Merge the test's files over it with [With].
func V2Pod() map[string]string {
	return map[string]string{
		"proc/self/cgroup":                "0::/pod\n",
		"proc/self/mountinfo":             "32 27 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"proc/self/status":                "Cpus_allowed_list:\t0\n",
		"sys/devices/system/cpu/online":   "0\n",
		"sys/fs/cgroup/pod/cgroup.events": "populated 1\nfrozen 0\n",
	}
}

// With returns base with files added or replaced (base is not changed).
func With(base, files map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(files))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

//go:build linux

package fsread_test

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/gotune/gotune/internal/fsread"
)

// hostile builds a tree with one file of each kind the reader must refuse.
func hostile(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("FIFOs, sockets and /dev/zero as built here are Linux-only")
	}
	root := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok", "max\n")
	write("empty", "")
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(root, "abs-zero")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, "/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, filepath.Join(root, "rel-zero")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("fifo", filepath.Join(root, "to-fifo")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ok", filepath.Join(root, "to-ok")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(root, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	write("big", strings.Repeat("0-65535,", fsread.MaxSize/8+1))
	// A Unix socket; a short relative name keeps it under the 108-byte limit.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	// A character device node inside the root (the same as /dev/null);
	// needs root, and is skipped in the cases below otherwise.
	_ = syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o644, 1<<8|3)
	return root
}

func TestReadFileRefuses(t *testing.T) {
	root := hostile(t)
	tests := []struct {
		name string
		want error
	}{
		{"fifo", fsread.ErrNotRegular},
		{"to-fifo", fsread.ErrNotRegular},
		{"dir", fsread.ErrNotRegular},
		{"sock", fsread.ErrNotRegular},
		{"null", fsread.ErrNotRegular},
		{"abs-zero", fsread.ErrEscapes},
		{"rel-zero", fsread.ErrEscapes},
		{"../outside", fsread.ErrEscapes},
		{"a/../../outside", fsread.ErrEscapes},
		{"huge", fsread.ErrTooLarge},
		{"big", fsread.ErrTooLarge},
		{"missing", fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "null" {
				if _, err := os.Lstat(filepath.Join(root, "null")); err != nil {
					t.Skip("no device node (mknod needs root)")
				}
			}
			var b []byte
			var err error
			allocs := testing.AllocsPerRun(1, func() { b, err = fsread.ReadFile(root, tc.name) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadFile(%q) = %q, %v, want %v", tc.name, b, err, tc.want)
			}
			if !strings.Contains(err.Error(), fsread.Path(root, tc.name)) && !strings.Contains(err.Error(), root) {
				t.Errorf("ReadFile(%q) error %q does not name the path", tc.name, err)
			}
			if allocs > 100 {
				t.Errorf("ReadFile(%q) made %v allocations", tc.name, allocs)
			}
		})
	}
}

func TestReadFileHostRoot(t *testing.T) {
	root := hostile(t)
	// Under "/" a symlink to /dev/zero stays inside the root, and is refused
	// because it is not a regular file.
	for _, name := range []string{"abs-zero", "rel-zero", "fifo", "to-fifo"} {
		_, err := fsread.ReadFile("/", filepath.Join(root, name))
		if !errors.Is(err, fsread.ErrNotRegular) {
			t.Errorf("ReadFile(/, %s) error = %v, want ErrNotRegular", name, err)
		}
	}
	b, err := fsread.ReadFile("/", filepath.Join(root, "ok"))
	if err != nil || string(b) != "max\n" {
		t.Errorf("ReadFile(/, ok) = %q, %v", b, err)
	}
}

func TestReadFile(t *testing.T) {
	root := hostile(t)
	for name, want := range map[string]string{"ok": "max\n", "to-ok": "max\n", "/ok": "max\n", "empty": "", "dir/../ok": "max\n"} {
		b, err := fsread.ReadFile(root, name)
		if err != nil || string(b) != want {
			t.Errorf("ReadFile(%q) = %q, %v, want %q", name, b, err, want)
		}
	}
	// Exactly MaxSize is allowed.
	exact := strings.Repeat("x", fsread.MaxSize)
	if err := os.WriteFile(filepath.Join(root, "exact"), []byte(exact), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := fsread.ReadFile(root, "exact"); err != nil || len(b) != fsread.MaxSize {
		t.Errorf("ReadFile(exact) = %d bytes, %v, want %d", len(b), err, fsread.MaxSize)
	}
}

func TestReadFileProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	// procfs reports size 0: the reader must read to the end anyway.
	b, err := fsread.ReadFile("/", "proc/self/status")
	if err != nil || !strings.Contains(string(b), "Cpus_allowed_list") {
		t.Fatalf("ReadFile(/proc/self/status) = %q, %v", b, err)
	}
}

func TestOpen(t *testing.T) {
	root := hostile(t)
	for name, want := range map[string]error{"fifo": fsread.ErrNotRegular, "abs-zero": fsread.ErrEscapes, "huge": fsread.ErrTooLarge, "dir": fsread.ErrNotRegular} {
		if f, err := fsread.Open(root, name); !errors.Is(err, want) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q) error = %v, want %v", name, err, want)
		}
	}
	f, err := fsread.Open(root, "big") // over MaxSize but under MaxStream
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if err != nil || n != int64(len(strings.Repeat("0-65535,", fsread.MaxSize/8+1))) {
		t.Errorf("reading %s: %d bytes, %v", f.Name(), n, err)
	}
}

func TestOpenStreamCap(t *testing.T) {
	root := t.TempDir()
	// A regular file that grows after the open's size check: the stream
	// still stops at MaxStream.
	p := filepath.Join(root, "grows")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fsread.Open(root, "grows")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(p, fsread.MaxStream+10); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, f); !errors.Is(err, fsread.ErrTooLarge) {
		t.Errorf("reading a file grown past MaxStream: %v, want ErrTooLarge", err)
	}
}

func TestReadDirNames(t *testing.T) {
	root := hostile(t)
	if _, err := fsread.ReadDirNames(root, "fifo", 10); !errors.Is(err, fsread.ErrNotRegular) {
		t.Errorf("ReadDirNames(fifo) error = %v, want ErrNotRegular", err)
	}
	if _, err := fsread.ReadDirNames(root, ".", 3); !errors.Is(err, fsread.ErrTooLarge) {
		t.Errorf("ReadDirNames(., 3) error = %v, want ErrTooLarge", err)
	}
	if _, err := fsread.ReadDirNames(root, "..", 3); !errors.Is(err, fsread.ErrEscapes) {
		t.Errorf("ReadDirNames(..) error = %v, want ErrEscapes", err)
	}
	names, err := fsread.ReadDirNames(root, ".", 100)
	if err != nil || len(names) < 10 {
		t.Errorf("ReadDirNames(.) = %v, %v", names, err)
	}
	if _, err := fsread.Stat(root, "abs-zero"); !errors.Is(err, fsread.ErrEscapes) {
		t.Errorf("Stat(abs-zero) error = %v, want ErrEscapes", err)
	}
}

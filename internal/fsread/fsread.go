package fsread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The bounds on one read; see the package documentation for why these.
const (
	// MaxSize is the most [ReadFile] reads.
	MaxSize = 64 << 10
	// MaxStream is the most a [File] from [Open] reads.
	MaxStream = 16 << 20
	// Deadline is how long reading one file may take.
	Deadline = 2 * time.Second
)

// Errors that the reads wrap, for callers that branch on them.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("file too large")
	ErrDeadline   = errors.New("read deadline exceeded")
	ErrEscapes    = errors.New("path escapes the root")
)

// Path joins root and name the way errors print them.
func Path(root, name string) string { return filepath.Join(root, local(name)) }

// local makes name relative to the root: a leading slash means "from the
// root", as mountinfo's mount points are written.
func local(name string) string { return strings.TrimLeft(filepath.ToSlash(name), "/") }

func isHostRoot(root string) bool { return filepath.Clean(root) == "/" }

// opener resolves names under one root.
type opener struct {
	root string
	r    *os.Root // nil for "/"
}

func openRoot(root, name string) (*opener, error) {
	if root == "" {
		return nil, fmt.Errorf("fsread: %s: empty root", name)
	}
	rel := local(name)
	if rel == "" {
		rel = "."
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, fmt.Errorf("fsread: %s: %w", Path(root, name), ErrEscapes)
	}
	o := &opener{root: root}
	if isHostRoot(root) {
		return o, nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("fsread: root %s: %w", root, err)
	}
	o.r = r
	return o, nil
}

func (o *opener) close() {
	if o.r != nil {
		o.r.Close()
	}
}

func (o *opener) stat(name string) (fs.FileInfo, error) {
	if o.r == nil {
		return os.Stat(Path(o.root, name))
	}
	return o.r.Stat(local(name))
}

func (o *opener) open(name string, flag int) (*os.File, error) {
	if o.r == nil {
		return os.OpenFile(Path(o.root, name), os.O_RDONLY|flag, 0)
	}
	return o.r.OpenFile(local(name), os.O_RDONLY|flag, 0)
}

// wrap names the path in err and maps os.Root's escape error to ErrEscapes.
func wrap(root, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	// os.Root does not export the error it returns for a path that
	// leaves the root; its text is stable ("path escapes from parent").
	if strings.Contains(err.Error(), "escapes") {
		err = ErrEscapes
	}
	return fmt.Errorf("fsread: %s: %w", Path(root, name), err)
}

// openRegular opens root/name if it is a regular file: stat first, so that
// nothing else is ever opened (opening some devices has effects), then
// open without blocking and fstat, in case it changed in between.
func openRegular(root, name string) (*os.File, int64, error) {
	o, err := openRoot(root, name)
	if err != nil {
		return nil, 0, err
	}
	defer o.close()
	fi, err := o.stat(name)
	if err != nil {
		return nil, 0, wrap(root, name, err)
	}
	if err := regular(root, name, fi); err != nil {
		return nil, 0, err
	}
	f, err := o.open(name, openFileFlags)
	if err != nil {
		return nil, 0, wrap(root, name, err)
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, 0, wrap(root, name, err)
	}
	if err := regular(root, name, fi); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func regular(root, name string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("fsread: %s: %w (%s)", Path(root, name), ErrNotRegular, kind(fi.Mode()))
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "mode " + m.String()
}

// ReadFile reads root/name, a regular file of at most [MaxSize] bytes,
// within [Deadline].
func ReadFile(root, name string) ([]byte, error) {
	f, size, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > MaxSize {
		return nil, fmt.Errorf("fsread: %s: %w: %d bytes, more than %d", Path(root, name), ErrTooLarge, size, MaxSize)
	}
	return readAll(f, Path(root, name), size, MaxSize, time.Now().Add(Deadline))
}

// readAll reads r to its end, failing past limit bytes or the deadline.
// size is the file's size as fstat gave it (0 for most of /proc and /sys).
func readAll(r io.Reader, path string, size, limit int64, deadline time.Time) ([]byte, error) {
	n := int64(512)
	if size > 0 {
		n = size + 1 // one more to see the end of file without growing
	}
	buf := make([]byte, 0, min(n, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, fmt.Errorf("fsread: %s: %w: more than %d bytes", path, ErrTooLarge, limit)
			}
			buf = append(buf, 0)[:len(buf)]
			buf = buf[:len(buf):min(int64(cap(buf)), limit+1)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, fmt.Errorf("fsread: %s: %w: more than %d bytes", path, ErrTooLarge, limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("fsread: %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fsread: %s: %w (%v)", path, ErrDeadline, Deadline)
		}
	}
}

// File is a regular file opened by [Open], read as a stream: at most
// [MaxStream] bytes, within [Deadline] of the Open. It is not safe for
// concurrent use.
type File struct {
	f        *os.File
	path     string
	n        int64
	deadline time.Time
}

// Open opens root/name, a regular file, to be read as a stream. The caller
// must Close it.
func Open(root, name string) (*File, error) {
	f, size, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	if size > MaxStream {
		f.Close()
		return nil, fmt.Errorf("fsread: %s: %w: %d bytes, more than %d", Path(root, name), ErrTooLarge, size, MaxStream)
	}
	return &File{f: f, path: Path(root, name), deadline: time.Now().Add(Deadline)}, nil
}

// Name is the file's path: the root joined with the name.
func (f *File) Name() string { return f.path }

// Read reads the next bytes, failing with [ErrTooLarge] once more than
// [MaxStream] bytes have been read and with [ErrDeadline] after [Deadline].
func (f *File) Read(p []byte) (int, error) {
	if time.Now().After(f.deadline) {
		return 0, fmt.Errorf("fsread: %s: %w (%v)", f.path, ErrDeadline, Deadline)
	}
	if f.n > MaxStream {
		return 0, fmt.Errorf("fsread: %s: %w: more than %d bytes", f.path, ErrTooLarge, MaxStream)
	}
	if rest := MaxStream + 1 - f.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.f.Read(p)
	f.n += int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("fsread: %s: %w", f.path, err)
	}
	return n, err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Stat returns the file information of root/name, following symlinks inside
// the root only.
func Stat(root, name string) (fs.FileInfo, error) {
	o, err := openRoot(root, name)
	if err != nil {
		return nil, err
	}
	defer o.close()
	fi, err := o.stat(name)
	if err != nil {
		return nil, wrap(root, name, err)
	}
	return fi, nil
}

// ReadDirNames lists the names in the directory root/name, at most max of
// them: a directory with more fails with [ErrTooLarge]. Anything but a
// directory is refused with [ErrNotRegular] without being opened.
func ReadDirNames(root, name string, max int) ([]string, error) {
	o, err := openRoot(root, name)
	if err != nil {
		return nil, err
	}
	defer o.close()
	fi, err := o.stat(name)
	if err != nil {
		return nil, wrap(root, name, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fsread: %s: %w: want a directory, found %s", Path(root, name), ErrNotRegular, kind(fi.Mode()))
	}
	f, err := o.open(name, openDirFlags)
	if err != nil {
		return nil, wrap(root, name, err)
	}
	defer f.Close()
	deadline := time.Now().Add(Deadline)
	var names []string
	for {
		batch, err := f.Readdirnames(256)
		names = append(names, batch...)
		if len(names) > max {
			return nil, fmt.Errorf("fsread: %s: %w: more than %d entries", Path(root, name), ErrTooLarge, max)
		}
		if err == io.EOF || (err == nil && len(batch) == 0) {
			return names, nil
		}
		if err != nil {
			return nil, wrap(root, name, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fsread: %s: %w (%v)", Path(root, name), ErrDeadline, Deadline)
		}
	}
}

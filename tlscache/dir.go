package tlscache

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Dir is a [Loader] that reads "<name>.crt" (PEM chain) and "<name>.key"
// (PEM private key) from a directory. A wildcard certificate for
// "*.example.com" lives in "_.example.com.crt" and "_.example.com.key" ("*"
// is not portable in file names) and serves names one label below
// example.com that have no file of their own. The empty name (no SNI) reads
// "default.crt" and "default.key".
//
// Dir remembers each parsed pair with the files' sizes and modification
// times and parses again only when they change, so a [Cache] whose TTL is
// short (a minute, say) picks up replaced files at its next background
// refresh while reloads of unchanged files cost two stat calls.
//
// Names are validated as host names before they become paths: the client
// chooses SNI, so "../x" or "a/b" must never reach the file system.
//
// Dir is safe for concurrent use.
type Dir struct {
	dir string

	mu     sync.Mutex
	parsed map[string]dirPair // by file stem; bounded by the files present
}

type dirPair struct {
	crt, key fileStamp
	cert     *tls.Certificate
}

type fileStamp struct {
	size int64
	mod  int64 // UnixNano
}

// NewDir returns a loader reading certificates from dir.
func NewDir(dir string) *Dir {
	return &Dir{dir: dir, parsed: make(map[string]dirPair)}
}

// Load returns the certificate for name from the directory: "<name>.crt",
// else the covering wildcard's "_.<parent>.crt". Missing files give an
// error wrapping [ErrNotFound], unusable names [ErrInvalidName].
func (d *Dir) Load(ctx context.Context, name string) (*tls.Certificate, error) {
	name = normalize(name)
	if name == "" {
		return d.loadStem(ctx, "default")
	}
	if !validHostname(name) {
		return nil, fmt.Errorf("tlscache: dir %q: name %s: %w", d.dir, quoteName(name), ErrInvalidName)
	}
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		return d.loadStem(ctx, "_."+rest)
	}
	cert, err := d.loadStem(ctx, name)
	if !errors.Is(err, ErrNotFound) {
		return cert, err
	}
	if wk, ok := wildcardKey(name); ok {
		return d.loadStem(ctx, "_"+wk)
	}
	return nil, err
}

func (d *Dir) loadStem(ctx context.Context, stem string) (*tls.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	crtPath := filepath.Join(d.dir, stem+".crt")
	keyPath := filepath.Join(d.dir, stem+".key")
	crt, err := stat(crtPath)
	if err != nil {
		return nil, err
	}
	key, err := stat(keyPath)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	p, ok := d.parsed[stem]
	d.mu.Unlock()
	if ok && p.crt == crt && p.key == key {
		return p.cert, nil
	}
	crtPEM, err := os.ReadFile(crtPath)
	if err != nil {
		return nil, fmt.Errorf("tlscache: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("tlscache: %w", err)
	}
	cert, err := tls.X509KeyPair(crtPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlscache: %s: %w", crtPath, err)
	}
	d.mu.Lock()
	d.parsed[stem] = dirPair{crt: crt, key: key, cert: &cert}
	d.mu.Unlock()
	return &cert, nil
}

func stat(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, fmt.Errorf("tlscache: %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return fileStamp{}, fmt.Errorf("tlscache: %w", err)
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime().UnixNano()}, nil
}

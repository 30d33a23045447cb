package tlscache_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
)

func TestStatic(t *testing.T) {
	a := yearCert(t, "a.test", "www.a.test")
	w := newCert(t, rsaKey, time.Now().Add(time.Hour), "*.w.test")
	s := tlscache.NewStatic()
	if err := s.AddPEM(a.certPEM, a.keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPEM(w.certPEM, w.keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPEM(a.certPEM, a.keyPEM, "Alias.Test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want *testCert
	}{
		{"a.test", &a},
		{"WWW.a.test.", &a},
		{"alias.test", &a},
		{"", &a}, // the first certificate added
		{"x.w.test", &w},
		{"w.test", nil},
		{"x.y.w.test", nil},
		{"other.test", nil},
	} {
		got, err := s.Load(context.Background(), tc.name)
		if tc.want == nil {
			if !errors.Is(err, tlscache.ErrNotFound) {
				t.Errorf("Load(%q) = %v, want ErrNotFound", tc.name, err)
			}
			continue
		}
		if err != nil || !bytesEqual(got.Certificate[0], tc.want.cert.Certificate[0]) || got.Leaf == nil {
			t.Errorf("Load(%q) = %v, %v, want %v with Leaf", tc.name, got, err, tc.want.cert.Leaf.Subject)
		}
	}
	// The same pointer each time: parsed once.
	p1, _ := s.Load(context.Background(), "a.test")
	p2, _ := s.Load(context.Background(), "a.test")
	if p1 != p2 {
		t.Errorf("Load returned %p then %p, want one parsed certificate", p1, p2)
	}
	for _, tc := range []struct{ name, cert, key string }{
		{"garbage", "not pem", "not pem"},
		{"mismatched", string(a.certPEM), string(w.keyPEM)},
		{"empty", "", ""},
	} {
		if err := s.AddPEM([]byte(tc.cert), []byte(tc.key)); err == nil {
			t.Errorf("AddPEM(%s) = nil, want an error", tc.name)
		}
	}
	if _, err := tlscache.StaticPEM([]byte("x"), []byte("y")); err == nil {
		t.Error("StaticPEM(garbage) = nil error")
	}
}

func writePair(t *testing.T, dir, stem string, c testCert) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, stem+".crt"), c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stem+".key"), c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	a := yearCert(t, "a.test")
	w := yearCert(t, "*.w.test")
	d := yearCert(t, "default")
	writePair(t, dir, "a.test", a)
	writePair(t, dir, "_.w.test", w)
	writePair(t, dir, "default", d)
	// A file outside the directory that a traversal would reach.
	writePair(t, filepath.Dir(dir), "escape", a)
	ld := tlscache.NewDir(dir)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		want    *testCert
		wantErr error
	}{
		{"a.test", &a, nil},
		{"A.TEST.", &a, nil},
		{"x.w.test", &w, nil},
		{"*.w.test", &w, nil},
		{"", &d, nil},
		{"b.test", nil, tlscache.ErrNotFound},
		{"x.y.w.test", nil, tlscache.ErrNotFound},
		{"../escape", nil, tlscache.ErrInvalidName},
		{"a/../../escape", nil, tlscache.ErrInvalidName},
		{"..", nil, tlscache.ErrInvalidName},
		{"a\x00", nil, tlscache.ErrInvalidName},
	} {
		got, err := ld.Load(ctx, tc.name)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Load(%q) = %v, want %v", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !bytesEqual(got.Certificate[0], tc.want.cert.Certificate[0]) {
			t.Errorf("Load(%q) = %v, want %s", tc.name, err, tc.want.cert.Leaf.Subject.CommonName)
		}
	}

	// Unchanged files are not parsed again; replaced files are.
	p1, _ := ld.Load(ctx, "a.test")
	p2, _ := ld.Load(ctx, "a.test")
	if p1 != p2 {
		t.Error("unchanged files parsed again")
	}
	a2 := newCert(t, rsaKey, time.Now().Add(time.Hour), "a.test")
	writePair(t, dir, "a.test", a2)
	future := time.Now().Add(time.Minute) // make the change visible on coarse mtime file systems
	os.Chtimes(filepath.Join(dir, "a.test.crt"), future, future)
	p3, err := ld.Load(ctx, "a.test")
	if err != nil || !bytesEqual(p3.Certificate[0], a2.cert.Certificate[0]) {
		t.Errorf("Load after replacing files = %v, want the new certificate", err)
	}

	// A broken pair is an error that names the file.
	os.WriteFile(filepath.Join(dir, "bad.test.crt"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.test.key"), []byte("junk"), 0o600)
	if _, err := ld.Load(ctx, "bad.test"); err == nil || errors.Is(err, tlscache.ErrNotFound) {
		t.Errorf("Load(bad.test) = %v, want a parse error", err)
	}
	// Only the certificate present: the key is missing.
	os.WriteFile(filepath.Join(dir, "half.test.crt"), a.certPEM, 0o600)
	if _, err := ld.Load(ctx, "half.test"); !errors.Is(err, tlscache.ErrNotFound) {
		t.Errorf("Load(half.test) = %v, want ErrNotFound", err)
	}
}

// TestDirThroughCache: a cache with a short TTL over Dir picks up a
// replaced certificate at its background refresh.
func TestDirThroughCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		v1 := yearCert(t, "d.test")
		writePair(t, dir, "d.test", v1)
		clk := newTestClock()
		cache := mustNew(t, tlscache.NewDir(dir), tlscache.WithNow(clk.Now), tlscache.WithTTL(time.Minute),
			tlscache.WithRefreshAhead(20*time.Second))
		defer cache.Close()
		leaf := func() *x509.Certificate {
			c, err := cache.GetCertificate(hello("d.test"))
			if err != nil {
				t.Fatal(err)
			}
			return c.Leaf
		}
		if !bytesEqual(leaf().Raw, v1.cert.Certificate[0]) {
			t.Fatal("not v1")
		}
		v2 := yearCert(t, "d.test")
		writePair(t, dir, "d.test", v2)
		future := time.Now().Add(time.Minute)
		os.Chtimes(filepath.Join(dir, "d.test.crt"), future, future)
		clk.Advance(50 * time.Second)
		eventually(t, "the replaced file to be served", func() bool { return bytesEqual(leaf().Raw, v2.cert.Certificate[0]) })
	})
}

// FuzzStaticAddPEM: arbitrary PEM input gives an error or a loadable
// certificate, never a panic.
func FuzzStaticAddPEM(f *testing.F) {
	c := newCert(f, ecdsaKey, time.Now().Add(time.Hour), "f.test")
	f.Add(c.certPEM, c.keyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), c.keyPEM)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		s := tlscache.NewStatic()
		if err := s.AddPEM(certPEM, keyPEM); err != nil {
			return
		}
		if _, err := s.Load(context.Background(), ""); err != nil {
			t.Errorf("Load(\"\") after a successful AddPEM = %v", err)
		}
	})
}

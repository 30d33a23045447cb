package tlscache_test

import (
	"net"
	"strings"
	"testing"

	"github.com/gotune/gotune/tlscache"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"EXAMPLE.com.", "example.com"},
		{"", ""},
		{".", ""},
	} {
		if got := tlscache.Normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWildcardKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a.example.com", ".example.com", true},
		{"a.b.example.com", ".b.example.com", true},
		{"example.com", ".com", true},
		{"api.localhost", ".localhost", true},
		{"localhost", "", false},
		{".example.com", "", false},
		{"a.", "", false},
		{"", "", false},
	} {
		got, ok := tlscache.WildcardKey(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wildcardKey(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidHostname(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"*.example.com", true},
		{"a_b.example.com", true},
		{"xn--bcher-kva.example", true},
		{"", false},
		{"../etc/passwd", false},
		{"a/b", false},
		{`a\b`, false},
		{"a..b", false},
		{"-a.com", false},
		{"a*.example.com", false},
		{"*", false},
		{"a.*.com", false},
		{"a b", false},
		{"a\x00b", false},
		{strings.Repeat("a", 64) + ".com", false},
	} {
		if got := tlscache.ValidHostname(tc.in); got != tc.want {
			t.Errorf("validHostname(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzName checks the invariants the cache and the file loader rely on for
// client-chosen names: normalisation is idempotent and lower-case, and a
// name the file loader accepts can never step outside its directory.
func FuzzName(f *testing.F) {
	for _, s := range []string{"example.com", "A.Example.COM.", "*.example.com", "../x", "a/b", "", ".", "a..b", "_.x.y", "\x00", "É.com", "127.0.0.1", "::1", "1.2.3.4."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := tlscache.Normalize(s)
		if tlscache.Normalize(n) != n && !strings.HasSuffix(n, ".") {
			t.Errorf("normalize(normalize(%q)) = %q, want %q", s, tlscache.Normalize(n), n)
		}
		if strings.IndexFunc(n, func(r rune) bool { return 'A' <= r && r <= 'Z' }) >= 0 {
			t.Errorf("normalize(%q) = %q has upper case ASCII", s, n)
		}
		if tlscache.ValidHostname(n) {
			if strings.ContainsAny(n, `/\:`+"\x00") || strings.Contains(n, "..") {
				t.Errorf("validHostname(%q) = true for a path-like name", n)
			}
		}
		if tlscache.CheckServerName(n) == "" {
			if !tlscache.ValidHostname(n) || len(n) > 253 || net.ParseIP(n) != nil || strings.ContainsAny(n, "*:/") {
				t.Errorf("checkServerName(%q) accepted a name that is not a host name", n)
			}
		}
		if k, ok := tlscache.WildcardKey(n); ok && (!strings.HasPrefix(k, ".") || !strings.HasSuffix(n, k)) {
			t.Errorf("wildcardKey(%q) = %q, not a dot-prefixed suffix", n, k)
		}
	})
}

package netx_test

import (
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// FuzzParseRetryAfter feeds arbitrary Retry-After values (outside input:
// any server can send one) and checks the result is bounded and that
// malformed values are refused rather than read as zero.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "3600", " 7 ", "-1", "1e3", "99999999999999999999",
		"Fri, 02 Jan 2026 03:04:15 GMT", "Friday, 02-Jan-26 03:04:15 GMT", "Fri Jan  2 03:04:15 2026", "soon", "\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := netx.ParseRetryAfter(s, now)
		if d < 0 || d > 24*time.Hour {
			t.Errorf("parseRetryAfter(%q) = %v, want within [0, 24h]", s, d)
		}
		if !ok && d != 0 {
			t.Errorf("parseRetryAfter(%q) = %v, false; want 0 when refused", s, d)
		}
	})
}

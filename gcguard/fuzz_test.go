package gcguard

import "testing"

// FuzzLevelText checks that any text either parses to a level that
// round-trips or is rejected with an error, never a panic.
func FuzzLevelText(f *testing.F) {
	for _, s := range []string{"ok", "elevated", "critical", "", "OK", "high", "critical\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var l Level
		if err := l.UnmarshalText([]byte(s)); err != nil {
			return
		}
		b, err := l.MarshalText()
		if err != nil || string(b) != s {
			t.Errorf("UnmarshalText(%q) = %v, MarshalText = %q, %v; want the same text back", s, l, b, err)
		}
	})
}

package status

import (
	"fmt"
	"strings"
)

// Level grades a summary row or a history series: [OK], [Warn] or [Bad].
// Rows and series above OK are repeated at the top of the page.
type Level int

// The levels, in order of concern.
const (
	OK Level = iota
	Warn
	Bad
)

// String gives "ok", "warn" or "bad".
func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Bad:
		return "bad"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText writes the level's name, so the JSON reads "warn", not 1.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (l *Level) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "ok", "":
		*l = OK
	case "warn":
		*l = Warn
	case "bad":
		*l = Bad
	default:
		return fmt.Errorf("status: bad level %q: want ok, warn or bad", b)
	}
	return nil
}

// Row is one line of the page's summary: one decision, what it is, who made
// it and why. Value is already in human units ("460 MiB", "2", "off"); the
// exact figures stay in the section's snapshot.
type Row struct {
	// Name is the decision: "GOMAXPROCS", "in-flight limit".
	Name string `json:"name"`
	// Value is the decision's value in human units.
	Value string `json:"value"`
	// Source names who set it: "runtime default", "tune (cgroup)",
	// "gcguard", "environment".
	Source string `json:"source"`
	// Reason says why, in one sentence.
	Reason string `json:"reason"`
	// Level above OK highlights the row and repeats it at the top.
	Level Level `json:"level"`
}

// Alert is one abnormal state shown at the top of the page.
type Alert struct {
	Level   Level  `json:"level"`
	Section string `json:"section"`
	Text    string `json:"text"`
}

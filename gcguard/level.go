package gcguard

import (
	"fmt"
)

// Level is the memory pressure the guard reports. Levels are ordered: a
// higher value means more pressure, so callers may compare them with >=.
type Level int32

// The pressure levels.
const (
	// LevelOK means the live heap is comfortably below the memory target
	// and the GC is cheap.
	LevelOK Level = iota
	// LevelElevated means the live heap is approaching the memory target or
	// the GC is getting expensive: a good moment to drop caches and idle
	// pooled objects.
	LevelElevated
	// LevelCritical means the process is at or near its memory target and
	// the GC is fighting for it (the GC CPU limiter engaged, the effective
	// GOGC collapsed, the live heap past the critical threshold, or GC CPU
	// above budget while the target takes a GOGC under 200): shed load.
	LevelCritical
)

var levelNames = [...]string{"ok", "elevated", "critical"}

// String returns "ok", "elevated" or "critical".
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int32(l))
}

// MarshalText encodes the level as its name, so a Level marshals to a JSON
// string.
func (l Level) MarshalText() ([]byte, error) {
	if l < 0 || int(l) >= len(levelNames) {
		return nil, fmt.Errorf("gcguard: invalid level %d", int32(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText decodes a level name written by [Level.MarshalText].
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if string(b) == n {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("gcguard: unknown level %q (want ok, elevated or critical)", b)
}

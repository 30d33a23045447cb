package cgstat

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// maxKeys bounds a flat-keyed file: the kernel's largest (memory.stat) has
// about 60 keys; cpu.stat and memory.events have under 10.
const maxKeys = 128

// quote quotes at most the first 64 bytes of b, so an error never carries
// a whole hostile file.
func quote(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "…"
	}
	return strconv.Quote(string(b))
}

// ParseFlatKeyed parses a cgroup "flat keyed" file: one "key value" pair a
// line, value an unsigned decimal (cpu.stat, memory.events,
// memory.oom_control). Unknown keys are kept: callers pick what they know.
// A line that is not two fields, a value that is not a number, a repeated
// key or more than 128 keys is an error quoting the line.
func ParseFlatKeyed(data []byte) (map[string]uint64, error) {
	out := make(map[string]uint64, 8)
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok || len(k) == 0 || bytes.IndexByte(v, ' ') >= 0 {
			return nil, fmt.Errorf("line %s is not \"key value\"", quote(line))
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %s: value is not an unsigned number", quote(line))
		}
		if _, dup := out[string(k)]; dup {
			return nil, fmt.Errorf("line %s: key repeated", quote(line))
		}
		if len(out) == maxKeys {
			return nil, fmt.Errorf("more than %d keys", maxKeys)
		}
		out[string(k)] = n
	}
	return out, nil
}

// ParseUint parses a file that holds one unsigned decimal
// (memory.current, memory.usage_in_bytes, memory.failcnt).
func ParseUint(data []byte) (uint64, error) {
	s := bytes.TrimSpace(data)
	n, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("value %s is not an unsigned number", quote(s))
	}
	return n, nil
}

// PSILine is one line of a pressure file: the share of wall time in which
// some (or all, for full) runnable tasks of the group were stalled on the
// resource, as running averages over 10 s, 60 s and 300 s (0 to 100), and
// the total stall time since the group was created.
type PSILine struct {
	Avg10  float64       `json:"avg10_percent"`
	Avg60  float64       `json:"avg60_percent"`
	Avg300 float64       `json:"avg300_percent"`
	Total  time.Duration `json:"total_ns"`
}

// PSI is a pressure file. Full is absent (nil) where the kernel writes no
// "full" line (cpu.pressure before Linux 5.13).
type PSI struct {
	Some PSILine  `json:"some"`
	Full *PSILine `json:"full,omitempty"`
}

// ParsePSI parses a pressure file:
//
//	some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// total is in microseconds. Fields may come in any order; unknown fields
// are ignored (a later kernel may add some). A missing "some" line, a
// repeated kind, an unknown kind, an average outside [0, 100] or a total
// that is not a number is an error quoting the line.
func ParsePSI(data []byte) (PSI, error) {
	var p PSI
	var seenSome bool
	lines := 0
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if lines++; lines > 2 {
			return PSI{}, fmt.Errorf("more than two lines (%s)", quote(line))
		}
		kind, rest, _ := bytes.Cut(line, []byte{' '})
		var l PSILine
		var have uint8 // a bit per field: avg10, avg60, avg300, total
		for f := range bytes.FieldsSeq(rest) {
			k, v, ok := bytes.Cut(f, []byte{'='})
			if !ok {
				return PSI{}, fmt.Errorf("line %s: field %s is not key=value", quote(line), quote(f))
			}
			switch string(k) {
			case "avg10", "avg60", "avg300":
				x, err := strconv.ParseFloat(string(v), 64)
				if err != nil || !(x >= 0 && x <= 100) {
					return PSI{}, fmt.Errorf("line %s: %s=%s is not a percentage", quote(line), k, quote(v))
				}
				switch string(k) {
				case "avg10":
					l.Avg10, have = x, have|1
				case "avg60":
					l.Avg60, have = x, have|2
				default:
					l.Avg300, have = x, have|4
				}
			case "total":
				us, err := strconv.ParseUint(string(v), 10, 64)
				if err != nil {
					return PSI{}, fmt.Errorf("line %s: total=%s is not a number of microseconds", quote(line), quote(v))
				}
				l.Total = usec(us)
				have |= 8
			}
		}
		if have != 15 {
			return PSI{}, fmt.Errorf("line %s: want avg10, avg60, avg300 and total", quote(line))
		}
		switch string(kind) {
		case "some":
			if seenSome {
				return PSI{}, fmt.Errorf("line %s: \"some\" repeated", quote(line))
			}
			p.Some, seenSome = l, true
		case "full":
			if p.Full != nil {
				return PSI{}, fmt.Errorf("line %s: \"full\" repeated", quote(line))
			}
			p.Full = &l
		default:
			return PSI{}, fmt.Errorf("line %s: kind %s is neither some nor full", quote(line), quote(kind))
		}
	}
	if !seenSome {
		return PSI{}, fmt.Errorf("no \"some\" line in %s", quote(data))
	}
	return p, nil
}

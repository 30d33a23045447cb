package tune

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DefaultRefresh is how often tune/auto re-reads the limits.
const DefaultRefresh = 10 * time.Second

// EnvConfig is what the GOTUNE* environment variables ask for. tune/auto
// reads it with [ParseEnv]; a program that calls tune itself can too.
type EnvConfig struct {
	Off     bool          // GOTUNE=off
	Quiet   bool          // GOTUNE_LOG=off
	Refresh time.Duration // GOTUNE_REFRESH, a Go duration; negative (GOTUNE_REFRESH=0) turns refreshing off, as for NewTuner
	Options []Option      // from GOTUNE_MAXPROCS, GOTUNE_MEMORY_RATIO, GOTUNE_MEMORY_RESERVE, GOTUNE_GOGC
}

// ErrBadEnv is wrapped by every error about a malformed GOTUNE* variable.
var ErrBadEnv = errors.New("bad environment variable")

// ParseEnv reads the GOTUNE* variables through lookup (os.LookupEnv in
// production):
//
//	GOTUNE                 on (default) or off
//	GOTUNE_LOG             info (default) or off
//	GOTUNE_REFRESH         a Go duration, default 10s; 0 turns refreshing off
//	GOTUNE_MAXPROCS        runtime (default), floor or off
//	GOTUNE_MEMORY_RATIO    share of the memory limit for GOMEMLIMIT, in (0, 1]; default 0.9
//	GOTUNE_MEMORY_RESERVE  bytes taken off GOMEMLIMIT, GOMEMLIMIT syntax ("64MiB")
//	GOTUNE_GOGC            a positive percent, or off (only where a memory limit is set)
//
// An empty variable counts as unset. Every malformed value is reported, each
// error naming the variable and quoting the value, and wrapping [ErrBadEnv].
func ParseEnv(lookup func(string) (string, bool)) (EnvConfig, error) {
	e := EnvConfig{Refresh: DefaultRefresh}
	var errs []error
	bad := func(name, val, want string) {
		errs = append(errs, fmt.Errorf("tune: %w %s=%q: want %s", ErrBadEnv, name, val, want))
	}
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		return v, ok && v != ""
	}
	if v, ok := get("GOTUNE"); ok {
		switch v {
		case "on":
		case "off":
			e.Off = true
		default:
			bad("GOTUNE", v, "on or off")
		}
	}
	if v, ok := get("GOTUNE_LOG"); ok {
		switch v {
		case "info":
		case "off":
			e.Quiet = true
		default:
			bad("GOTUNE_LOG", v, "info or off")
		}
	}
	if v, ok := get("GOTUNE_REFRESH"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < 100*time.Millisecond) {
			bad("GOTUNE_REFRESH", v, "a duration of at least 100ms, or 0")
		} else if d == 0 {
			e.Refresh = -1 // off, in NewTuner's terms, where zero is the default
		} else {
			e.Refresh = d
		}
	}
	if v, ok := get("GOTUNE_MAXPROCS"); ok {
		if p, err := ParseMaxProcsPolicy(v); err != nil {
			bad("GOTUNE_MAXPROCS", v, "runtime, floor or off")
		} else {
			e.Options = append(e.Options, WithMaxProcs(p))
		}
	}
	if v, ok := get("GOTUNE_MEMORY_RATIO"); ok {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r <= 1) {
			bad("GOTUNE_MEMORY_RATIO", v, "a number in (0, 1]")
		} else {
			e.Options = append(e.Options, WithMemoryRatio(r))
		}
	}
	if v, ok := get("GOTUNE_MEMORY_RESERVE"); ok {
		n, err := ParseBytes(v)
		if err != nil || n == 1<<63-1 {
			bad("GOTUNE_MEMORY_RESERVE", v, "a byte count such as 64MiB")
		} else {
			e.Options = append(e.Options, WithMemoryReserve(n))
		}
	}
	if v, ok := get("GOTUNE_GOGC"); ok {
		if v == "off" {
			e.Options = append(e.Options, WithGOGC(GOGCOff))
		} else if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			bad("GOTUNE_GOGC", v, "a positive percent or off")
		} else {
			e.Options = append(e.Options, WithGOGC(n))
		}
	}
	return e, errors.Join(errs...)
}

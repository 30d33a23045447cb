// Package owner is the registry through which gotune's packages claim the
// process-wide runtime settings (GOGC, GOMEMLIMIT, GOMAXPROCS) before they
// change them, so that each setting has one owner at a time, a second
// claimant gets an error or an explicit hand-over, and every report can
// name the real owner instead of guessing it from values.
//
// # Rules
//
// A [Claim] is taken with [Take]. While it is the top claim of its setting
// its holder owns the setting: [Claim.Set] changes the value under the
// registry's lock and records it. Take fails with [ErrClaimed] while
// another claimant owns the setting, unless the caller names that claimant
// as one it may take over from: then the new claim sits on top of the old
// one, the old holder's [Claim.Set] reports false until the new claim is
// released, and on release the old holder owns the setting again.
//
// The registry records values, it does not enforce them: code outside
// gotune can still call debug.SetGCPercent. A value in force that differs
// from the one the owner last set (or, with no owner, from the runtime's
// default) is the user's, and callers leave it alone; see [Holder].
//
// All functions are safe for concurrent use.
package owner

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
)

// Setting names a process-wide runtime setting.
type Setting int

// The settings the registry knows.
const (
	GOGC Setting = iota
	GOMEMLIMIT
	GOMAXPROCS
	numSettings
)

func (s Setting) String() string {
	switch s {
	case GOGC:
		return "GOGC"
	case GOMEMLIMIT:
		return "GOMEMLIMIT"
	case GOMAXPROCS:
		return "GOMAXPROCS"
	}
	return fmt.Sprintf("Setting(%d)", int(s))
}

// The claimants, as reports name them.
const (
	Tune    = "tune"
	GCGuard = "gcguard"
	NUMA    = "numa"
)

// ErrClaimed is returned by [Take] while another claimant owns the setting.
var ErrClaimed = errors.New("owner: setting already claimed")

// A Claim is one claimant's hold on one setting.
type Claim struct {
	s    Setting
	who  string
	last int64 // guarded by mu: the value the holder last set or found
	gone bool  // guarded by mu: released
}

var (
	mu     sync.Mutex
	stacks [numSettings][]*Claim // bottom first; the last one owns the setting
)

// Current reads the setting's value in force without changing it: GOGC in
// percent (-1 for off), GOMEMLIMIT in bytes (math.MaxInt64 for none),
// GOMAXPROCS.
func Current(s Setting) int64 {
	switch s {
	case GOGC:
		sample := [1]metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(sample[:])
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 100
		}
		if v := sample[0].Value.Uint64(); v <= math.MaxInt32 {
			return int64(v)
		}
		return -1 // the runtime reports off as the largest uint64
	case GOMEMLIMIT:
		return debug.SetMemoryLimit(-1) // a negative input only reads it
	case GOMAXPROCS:
		return int64(runtime.GOMAXPROCS(0))
	}
	panic(fmt.Sprintf("owner: unknown %v", s))
}

// Take claims s for who. It fails with an error wrapping [ErrClaimed], and
// naming the holder, while a claimant other than those in from owns s (who
// itself included: a claimant holds a setting once). Where the holder is
// in from, the new claim is handed the setting over it. The claim records
// the value in force as its holder's last.
func Take(s Setting, who string, from ...string) (*Claim, error) {
	mu.Lock()
	defer mu.Unlock()
	st := stacks[s]
	if n := len(st); n > 0 {
		if top := st[n-1]; !slices.Contains(from, top.who) || top.who == who {
			return nil, fmt.Errorf("%w: %v is held by %s (it last set %d), wanted by %s", ErrClaimed, s, top.who, top.last, who)
		}
	}
	c := &Claim{s: s, who: who, last: Current(s)}
	stacks[s] = append(st, c)
	return c, nil
}

// Set runs apply under the registry's lock if c owns its setting, records
// v as the value its holder set, and reports whether it did. A released
// claim, or one another claimant took over from, sets nothing. A nil
// claim sets nothing.
func (c *Claim) Set(v int64, apply func()) bool {
	if c == nil {
		return false
	}
	mu.Lock()
	defer mu.Unlock()
	if c.gone || !c.top() {
		return false
	}
	if apply != nil {
		apply()
	}
	c.last = v
	return true
}

// Owns reports whether c owns its setting now.
func (c *Claim) Owns() bool {
	if c == nil {
		return false
	}
	mu.Lock()
	defer mu.Unlock()
	return !c.gone && c.top()
}

// Last returns the value c's holder last set (or found at Take).
func (c *Claim) Last() int64 {
	if c == nil {
		return 0
	}
	mu.Lock()
	defer mu.Unlock()
	return c.last
}

func (c *Claim) top() bool {
	st := stacks[c.s]
	return len(st) > 0 && st[len(st)-1] == c
}

// Release gives the setting up; a claim it was taken over from owns it
// again. It is safe on a nil claim and more than once.
func (c *Claim) Release() {
	if c == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if c.gone {
		return
	}
	c.gone = true
	stacks[c.s] = slices.DeleteFunc(stacks[c.s], func(x *Claim) bool { return x == c })
}

// Holder returns who owns s and the value it last set; ok is false when no
// one does. A value in force other than last was set by someone else since.
func Holder(s Setting) (who string, last int64, ok bool) {
	mu.Lock()
	defer mu.Unlock()
	st := stacks[s]
	if len(st) == 0 {
		return "", 0, false
	}
	top := st[len(st)-1]
	return top.who, top.last, true
}

// Held is [Holder] together with the value in force, read under the same
// lock, so a caller can tell the holder's value from a later one.
func Held(s Setting) (who string, last, cur int64, ok bool) {
	mu.Lock()
	defer mu.Unlock()
	cur = Current(s)
	st := stacks[s]
	if len(st) == 0 {
		return "", 0, cur, false
	}
	top := st[len(st)-1]
	return top.who, top.last, cur, true
}

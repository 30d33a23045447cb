package tune

import (
	"fmt"
	"sync"

	"github.com/gotune/gotune/internal/owner"
)

// claim is tune's hold on one runtime setting in the process-wide registry
// (internal/owner) that tune, tune/auto's refresh, gcguard and numa.Pin
// claim settings through, so each has one owner at a time.
type claim struct {
	s  owner.Setting
	mu sync.Mutex
	c  *owner.Claim // nil while tune holds no claim
}

// What tune itself last set, so that a later Apply (a refresh) does not
// mistake its own value for one the program set in code; held as claims
// so that gcguard and numa.Pin see tune as the owner and can take over.
var (
	lastProcs = &claim{s: owner.GOMAXPROCS}
	lastLimit = &claim{s: owner.GOMEMLIMIT}
	lastGOGC  = &claim{s: owner.GOGC}
)

// Load returns the value tune last set while it holds the claim, 0 where
// it holds none (no policy sets 0).
func (c *claim) Load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return 0
	}
	return c.c.Last()
}

// set claims the setting where tune holds no claim, then runs apply and
// records v; it reports false, and changes nothing, where another
// claimant owns the setting (gcguard took GOGC over, numa.Pin GOMAXPROCS).
func (c *claim) set(v int64, apply func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		cl, err := owner.Take(c.s, owner.Tune)
		if err != nil {
			return false
		}
		c.c = cl
	}
	return c.c.Set(v, apply)
}

// restore runs apply where tune still owns the setting and it still has
// the value tune last set, and gives the claim up either way: a setting
// another claimant took over is theirs to restore when they end, and one
// the program changed since is the program's.
func (c *claim) restore(apply func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return
	}
	last := c.c.Last()
	c.c.Set(0, func() {
		if owner.Current(c.s) == last {
			apply()
		}
	})
	c.c.Release()
	c.c = nil
}

// release gives the claim up and leaves the value as it is.
func (c *claim) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Release()
	c.c = nil
}

// heldByOther fills s and reports true where a claimant other than tune
// (gcguard, numa.Pin) owns the setting: it is theirs while they hold it,
// and tune's refresh leaves it alone. A value in force other than the one
// they last set was set since by the program, whose it is.
func heldByOther(which owner.Setting, s *Setting, format func(int64) string) bool {
	who, last, cur, ok := owner.Held(which)
	if !ok || who == owner.Tune {
		return false
	}
	if cur == last {
		s.Source, s.Reason = Source(who), who+" owns it while it runs; kept"
	} else {
		s.Source, s.Reason = SourceCode, fmt.Sprintf("changed to %s since %s set %s; kept", format(cur), who, format(last))
	}
	return true
}

// lost is s after another claimant took the setting between tune's
// decision and its apply.
func lost(which owner.Setting, s Setting) Setting {
	who, _, _ := owner.Holder(which)
	s.After, s.Set, s.Source = s.Before, false, Source(who)
	s.Reason = who + " took it over; kept"
	return s
}

func formatInt(v int64) string { return fmt.Sprint(v) }

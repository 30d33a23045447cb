package tlscache

import (
	"container/heap"
	"time"
)

// The negative cache remembers failed loads by name. It is bounded three
// ways: in entries (WithMaxNegativeEntries), in bytes
// (WithMaxNegativeBytes: each entry is charged for its name, its error
// message and a fixed overhead), and in time. An entry answers handshakes
// for its backoff d (until), and is kept for another d after that (forget)
// only to remember how many times in a row the name failed, so that the
// next failure backs off for longer; then it is freed, by the next failure
// recorded or, when none comes, by a sweep timer that runs while entries
// remain. When a bound is reached the entry that would be forgotten
// soonest is dropped: for a flood of one-off names that is the oldest,
// while a name that keeps failing (and so backs off for longer) stays
// remembered and keeps protecting its loader.

// negOverhead is what an entry costs besides its name and error message:
// the entry, its map slot, its heap slot and the error values that wrap
// the message (the message is charged twice for those; see negSize).
const negOverhead = 256

type negEntry struct {
	key    string
	err    error
	until  time.Time // answers handshakes until then
	forget time.Time // freed then
	fails  int
	size   int // bytes charged to negBytes
	idx    int // in negHeap, -1 when not in it
}

// negSize estimates the memory an entry holds. Errors built by wrapping
// (fmt.Errorf with %w) keep the wrapped message as well as their own, so
// the message is charged twice.
func negSize(name string, err error) int {
	return negOverhead + len(name) + 2*len(err.Error())
}

// negHeap orders entries by forget, soonest first.
type negHeap = timeHeap[*negEntry]

func (n *negEntry) heapTime() time.Time { return n.forget }
func (n *negEntry) heapIndex() *int     { return &n.idx }

func (c *Cache) addNegativeLocked(name string, err error, now time.Time) {
	if c.cfg.maxNegative == 0 { // NoNegativeCache
		return
	}
	c.sweepNegativeLocked(now)
	n := c.neg[name]
	if n == nil {
		n = &negEntry{key: name, idx: -1}
		c.neg[name] = n
	} else {
		c.negBytes -= n.size
	}
	n.fails++
	n.err = err
	d := c.backoff(n.fails)
	n.until = now.Add(d)
	n.forget = n.until.Add(d)
	n.size = negSize(name, err)
	c.negBytes += n.size
	if n.idx < 0 {
		heap.Push(&c.negHeap, n)
	} else {
		heap.Fix(&c.negHeap, n.idx)
	}
	// Over a bound: forget the failures that would lapse soonest. One
	// entry alone may exceed the byte bound (a loader's long error); it
	// is still remembered, so that its loader is not called in a loop.
	for len(c.neg) > c.cfg.maxNegative || (c.negBytes > c.cfg.maxNegBytes && len(c.neg) > 1) {
		c.removeNegativeLocked(c.negHeap[0])
		c.st.NegativeEvictions++
	}
	c.negStatsLocked()
	c.armSweepLocked(now)
}

// negativeLocked returns the remembered failure for name, if it still
// answers handshakes; one past its forget time is freed.
func (c *Cache) negativeLocked(name string, now time.Time) *negEntry {
	n := c.neg[name]
	switch {
	case n == nil:
		return nil
	case now.Before(n.until):
		return n
	case !now.Before(n.forget):
		c.removeNegativeLocked(n)
		c.negStatsLocked()
	}
	return nil
}

func (c *Cache) removeNegativeLocked(n *negEntry) {
	if n.idx >= 0 {
		heap.Remove(&c.negHeap, n.idx)
	}
	delete(c.neg, n.key)
	c.negBytes -= n.size
	n.err = nil
}

// forgetNegativeLocked drops name's remembered failure, if any.
func (c *Cache) forgetNegativeLocked(name string) {
	if n := c.neg[name]; n != nil {
		c.removeNegativeLocked(n)
		c.negStatsLocked()
	}
}

// sweepNegativeLocked frees the entries whose forget time has passed.
func (c *Cache) sweepNegativeLocked(now time.Time) {
	swept := false
	for len(c.negHeap) > 0 && !now.Before(c.negHeap[0].forget) {
		c.removeNegativeLocked(c.negHeap[0])
		swept = true
	}
	if !swept {
		return
	}
	if len(c.neg) == 0 {
		// Let the map's and the heap's memory go after a flood: neither
		// shrinks by itself.
		c.neg = make(map[string]*negEntry)
		c.negHeap = nil
	}
	c.negStatsLocked()
}

func (c *Cache) negStatsLocked() {
	c.st.NegativeEntries = len(c.neg)
	c.st.NegativeBytes = c.negBytes
}

// armSweepLocked starts the sweep timer if entries remain and it is not
// running. It fires at the soonest forget time, or one base negative TTL
// from now if that is sooner (entries added since may be due before the
// one it was armed for), so an entry is freed at most one base TTL after
// its forget time.
func (c *Cache) armSweepLocked(now time.Time) {
	if c.closed || c.sweep != nil || len(c.negHeap) == 0 {
		return
	}
	d := min(max(c.negHeap[0].forget.Sub(now), 0), c.cfg.negTTL)
	c.wg.Add(1)
	c.sweep = time.AfterFunc(d, func() {
		defer c.wg.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sweep = nil
		if c.closed {
			return
		}
		now := c.cfg.now()
		c.sweepNegativeLocked(now)
		c.armSweepLocked(now)
	})
}

// TrimNegative frees the remembered load failures that no longer answer
// handshakes (past their backoff, kept only so that the next failure of
// the same name backs off longer) and returns how many it freed. Those
// still answering handshakes stay: dropping them would send a flood of
// failing names back to the loader. It is a remedy for memory pressure,
// for [netx.WithPressure] or a gcguard level hook, and safe for
// concurrent use.
func (c *Cache) TrimNegative() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.now()
	var lapsed []*negEntry
	for _, n := range c.neg {
		if !now.Before(n.until) {
			lapsed = append(lapsed, n)
		}
	}
	for _, n := range lapsed {
		c.removeNegativeLocked(n)
	}
	if len(c.neg) == 0 {
		c.neg = make(map[string]*negEntry)
		c.negHeap = nil
	}
	c.negStatsLocked()
	return len(lapsed)
}

package pool

import (
	"math/bits"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// The TTL sweep is a time.AfterFunc timer, not a goroutine: Put arms it
// when the pool goes from empty to holding something, each sweep re-arms
// it while idle objects remain, and it stays disarmed while the pool is
// empty or closed. A sweep runs every TTL/8 and drops objects whose stamp
// is older than TTL + TTL/8; stamps lag the real Put time by at most
// TTL/8, so an object goes at an idle age between TTL and 1.25×TTL,
// whether or not a GC runs or anyone calls the pool.

// ReleaseOSInterval is the least time between two [WithReleaseOS] hints
// in one process, across all pools.
const ReleaseOSInterval = time.Minute

var (
	lastRelease  atomic.Int64 // unix ns of the last hint
	freeOSMemory = debug.FreeOSMemory
)

// releaseOS calls debug.FreeOSMemory unless another pool did within
// ReleaseOSInterval. It reports whether it did.
func releaseOS(now int64) bool {
	last := lastRelease.Load()
	if last != 0 && now-last < int64(ReleaseOSInterval) {
		return false
	}
	if !lastRelease.CompareAndSwap(last, now) {
		return false
	}
	freeOSMemory()
	return true
}

// arm starts the sweep timer unless it is running or the pool is closed.
func (p *Pool[T]) arm() {
	if !p.armed.CompareAndSwap(false, true) {
		return
	}
	now := p.now().UnixNano()
	// Objects Put while disarmed carry the stale stamp of the last sweep;
	// sweep treats stamps before armedAt as armedAt.
	p.armedAt.Store(now)
	p.clock.Store(now)
	p.timerMu.Lock()
	defer p.timerMu.Unlock()
	if p.closed.Load() {
		return
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(p.interval, p.onTimer)
	} else {
		p.timer.Reset(p.interval)
	}
}

// onTimer is the timer callback.
func (p *Pool[T]) onTimer() {
	p.sweepMu.Lock()
	defer p.sweepMu.Unlock()
	if p.closed.Load() {
		return
	}
	now := p.now().UnixNano()
	p.clock.Store(now)
	if p.sweep(now) > 0 {
		p.rearm()
		return
	}
	// Empty: disarm, then look again. A Put that loaded armed before this
	// store published before it, so the second look sees its object; a
	// later Put sees false and arms the timer itself.
	p.armed.Store(false)
	if p.idleApprox() > 0 && p.armed.CompareAndSwap(false, true) {
		p.rearm()
	}
}

func (p *Pool[T]) rearm() {
	p.timerMu.Lock()
	defer p.timerMu.Unlock()
	if !p.closed.Load() && p.timer != nil {
		p.timer.Reset(p.interval)
	}
}

// idleApprox counts full and claimed cells and overflow items.
func (p *Pool[T]) idleApprox() int {
	n := 0
	for j := range p.shards {
		s := &p.shards[j]
		w := s.word.Load()
		n += bits.OnesCount16(uint16(w) | uint16(w>>claimShift))
		s.ov.mu.Lock()
		n += len(s.ov.items)
		s.ov.mu.Unlock()
	}
	return n
}

// sweep drops objects idle longer than the TTL as of now (or all of them
// under pressure) and returns how many remain. Callers hold sweepMu.
func (p *Pool[T]) sweep(now int64) int {
	if p.pressure != nil && p.pressure() {
		n := p.drainLocked()
		p.pressed += uint64(n)
		p.logf("pool: pressure drop", n)
		return 0
	}
	// Stamps lag real time by up to one interval, so an object is expired
	// when its stamp is older than TTL + interval: never before its TTL.
	cut := now - int64(p.ttl) - int64(p.interval)
	floor := p.armedAt.Load()
	victims := p.victims[:0]
	left := 0
	var droppedBytes int64
	for j := range p.shards {
		s := &p.shards[j]
		if claimed := s.claimMoving(); claimed != 0 {
			var keep uint16
			for m := claimed; m != 0; m &= m - 1 {
				i := bits.TrailingZeros16(m)
				if max(s.c[i].stamp, floor) > cut {
					keep |= 1 << i
					left++
					continue
				}
				victims = append(victims, s.c[i].v)
				droppedBytes += int64(s.c[i].size)
				var zero T
				s.c[i].v = zero
			}
			s.releaseMoving(claimed, keep)
		}
		o := &s.ov
		o.mu.Lock()
		k := 0
		for _, it := range o.items {
			if max(it.stamp, floor) > cut {
				o.items[k] = it
				k++
				continue
			}
			victims = append(victims, it.v)
			o.idleBytes -= int64(it.size)
			droppedBytes += int64(it.size)
		}
		clear(o.items[k:])
		o.items = o.items[:k]
		left += k
		o.mu.Unlock()
	}
	dropped := len(victims)
	p.expired += uint64(dropped)
	p.destroyAll(victims)
	if dropped > 0 {
		p.logf("pool: expired idle objects", dropped)
	}
	if p.release > 0 && droppedBytes >= p.release && releaseOS(time.Now().UnixNano()) {
		p.logf("pool: returned memory to the OS", dropped)
	}
	return left
}

func (p *Pool[T]) logf(msg string, n int) {
	if p.logger != nil {
		p.logger.Debug(msg, "pool", p.name, "dropped", n)
	}
}

package pool

import (
	"math"
	"math/bits"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// The TTL sweep is a time.AfterFunc timer, not a goroutine: Put arms it
// when the pool goes from empty to holding something, each sweep re-arms
// it while idle objects remain, and it stays disarmed while the pool is
// empty or closed. A sweep runs every TTL/8.
//
// Put does not read the time: it stamps objects with p.clock, which only
// arm and the sweeps advance. So a stamp s says the Put happened after s
// and before the clock next moved past s, and the only bound the pool
// can prove is that an object stamped s was Put before the first sweep
// recorded after s. A sweep at now therefore expires an object iff some
// earlier sweep, recorded after its stamp, ran at least a TTL before now:
// iff its stamp is older than the latest sweep at least a TTL old
// (p.settled). With the timer on time that sweep is at most TTL/8 after
// the Put and the next one expires the object, so it goes at an idle age
// between TTL and 1.25×TTL, whether or not a GC runs or anyone calls the
// pool. When a sweep runs late (the process was paused, or the timer
// fired more than a TTL late), objects Put just before it carry the stale
// stamp of the previous sweep; the late sweep is the first one recorded
// after that stamp, so they stay until a TTL after it, never less than a
// TTL after their Put. (A fixed cutoff of now - TTL - TTL/8, as before,
// expired them at once.)

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

// onTimer is the timer callback. The hooks (pressure, destroy) run
// outside sweepMu, so they may call back into the pool.
func (p *Pool[T]) onTimer() {
	pressed := p.underPressure()
	p.sweepMu.Lock()
	if p.closed.Load() {
		p.sweepMu.Unlock()
		return
	}
	now := p.now().UnixNano()
	p.clock.Store(now)
	sw := p.sweep(now, pressed)
	if sw.left > 0 {
		p.rearm()
	} else {
		// Empty: disarm, then look again. A Put that loaded armed before
		// this store published before it, so the second look sees its
		// object; a later Put sees false and arms the timer itself.
		p.armed.Store(false)
		if p.idleApprox() > 0 && p.armed.CompareAndSwap(false, true) {
			p.rearm()
		}
	}
	p.sweepMu.Unlock()
	p.finish(sw)
}

// swept is what a sweep left to do once sweepMu is let go: the objects to
// destroy and the bytes they held.
type swept[T any] struct {
	left    int
	n       int // objects dropped
	victims []T // the dropped objects, where there is a destroy hook
	bytes   int64
	pressed bool
}

// finish destroys a sweep's victims and gives the OS hint. It runs
// without sweepMu.
func (p *Pool[T]) finish(sw swept[T]) {
	n := sw.n
	p.destroyAll(sw.victims)
	switch {
	case sw.pressed:
		p.logf("pool: pressure drop", n)
	case n > 0:
		p.logf("pool: expired idle objects", n)
	}
	if !sw.pressed && p.release > 0 && sw.bytes >= p.release && releaseOS(time.Now().UnixNano()) {
		p.logf("pool: returned memory to the OS", n)
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

// sweep takes out objects idle longer than the TTL as of now (or all of
// them under pressure) and returns how many remain and what the caller
// must destroy, with finish, once it lets go of sweepMu. Callers hold
// sweepMu.
func (p *Pool[T]) sweep(now int64, pressed bool) swept[T] {
	cut, ok := p.record(now)
	if pressed {
		victims, n := p.drainLocked()
		p.pressed += uint64(n)
		return swept[T]{n: n, victims: victims, pressed: true}
	}
	if !ok { // no sweep a TTL old yet: nothing can be proven expired
		cut = math.MinInt64
	}
	// Objects Put while the timer was disarmed carry the stamp of the
	// sweep before; treating them as stamped at armedAt only keeps them
	// longer.
	floor := p.armedAt.Load()
	victims := p.takeVictims()
	left, n := 0, 0
	var droppedBytes int64
	for j := range p.shards {
		s := &p.shards[j]
		if claimed := s.claimMoving(); claimed != 0 {
			var keep uint16
			for m := claimed; m != 0; m &= m - 1 {
				i := bits.TrailingZeros16(m)
				if max(s.c[i].stamp, floor) >= cut {
					keep |= 1 << i
					left++
					continue
				}
				victims = p.victim(victims, s.c[i].v)
				n++
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
			if max(it.stamp, floor) >= cut {
				o.items[k] = it
				k++
				continue
			}
			victims = p.victim(victims, it.v)
			n++
			o.idleBytes -= int64(it.size)
			droppedBytes += int64(it.size)
		}
		clear(o.items[k:])
		o.items = o.items[:k]
		left += k
		o.mu.Unlock()
	}
	p.expired += uint64(n)
	if len(victims) == 0 {
		p.victims = victims // nothing to destroy: keep the scratch
	}
	return swept[T]{left: left, n: n, victims: victims, bytes: droppedBytes}
}

// maxSweeps bounds the sweep history. The timer sweeps about nine times
// per TTL; forgetting the oldest entry when more arrive only keeps objects
// longer (their proven Put bound moves to a later sweep).
const maxSweeps = 64

// record notes a sweep at now and returns the cutoff: the latest earlier
// sweep that ran at least a TTL before now; objects stamped before it are
// expired. ok is false while there is none. Callers hold sweepMu.
func (p *Pool[T]) record(now int64) (cut int64, ok bool) {
	old := now - int64(p.ttl)
	k := 0
	for k < len(p.sweeps) && p.sweeps[k] <= old {
		if !p.hasSettled || p.sweeps[k] > p.settled {
			p.settled, p.hasSettled = p.sweeps[k], true
		}
		k++
	}
	if p.sweeps == nil {
		p.sweeps = make([]int64, 0, 16)
	}
	p.sweeps = append(p.sweeps[:copy(p.sweeps, p.sweeps[k:])], now)
	if len(p.sweeps) > maxSweeps {
		p.sweeps = p.sweeps[:copy(p.sweeps, p.sweeps[1:])]
	}
	return p.settled, p.hasSettled
}

func (p *Pool[T]) logf(msg string, n int) {
	if p.logger != nil {
		p.logger.Debug(msg, "pool", p.name, "dropped", n)
	}
}

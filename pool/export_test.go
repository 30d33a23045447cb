package pool

import "time"

// WithClock sets the clock the pool stamps and expires idle objects with
// (time.Now by default); the sweep timer itself still runs on real time.
// It is the tests' seam for the sweep arithmetic, which they drive one
// sweep at a time through SweepAt; testing/synctest covers the timer.
func WithClock(now func() time.Time) CommonOption {
	return optionFunc(func(c *config) { c.now = now })
}

// SweepAt runs one sweep as if the timer fired at now (ns on the pool's
// clock) and returns how many objects remain.
func (p *Pool[T]) SweepAt(now int64) int {
	pressed := p.underPressure()
	p.sweepMu.Lock()
	p.clock.Store(now)
	sw := p.sweep(now, pressed)
	p.sweepMu.Unlock()
	p.finish(sw)
	return sw.left
}

// Armed reports whether the sweep timer is armed.
func (p *Pool[T]) Armed() bool { return p.armed.Load() }

// Layout returns the number of shards, each shard's cell capacity and
// the overflow stacks' total capacity.
func (p *Pool[T]) Layout() (shards, shardCap, depotCap int) {
	n := 0
	for m := p.cellMask; m != 0; m >>= 1 {
		n++
	}
	for j := range p.shards {
		depotCap += p.shards[j].ov.cap
	}
	return len(p.shards), n, depotCap
}

// IdleExact counts idle objects from a consistent snapshot (see Stats).
func (p *Pool[T]) IdleExact() int { return p.Stats().Idle }

// SetFreeOSMemory replaces debug.FreeOSMemory and resets the process-wide
// rate limit; it returns a restore function.
func SetFreeOSMemory(f func()) (restore func()) {
	old := freeOSMemory
	freeOSMemory = f
	lastRelease.Store(0)
	return func() { freeOSMemory = old; lastRelease.Store(0) }
}

// SetInTransit makes f run while objects are in transit (see inTransit)
// and returns a restore function. Not safe to call concurrently with
// pool use.
func SetInTransit(f func()) (restore func()) {
	old := inTransit
	inTransit = f
	return func() { inTransit = old }
}

// FillOverflow pushes vs onto shard j's overflow stack, bypassing the
// cells.
func (p *Pool[T]) FillOverflow(j int, vs ...T) {
	for _, v := range vs {
		one := [1]item[T]{{v: v, stamp: p.clock.Load()}}
		p.toOverflow(&p.shards[j], one[:], true, nil)
	}
}

// RefillFrom runs a Get's refill from shard j's overflow stack.
func (p *Pool[T]) RefillFrom(j int) (T, bool) { return p.refill(&p.shards[j]) }

// BeginMove and EndMove announce and end a move on shard j (see
// beginMove), with no objects in it.
func (p *Pool[T]) BeginMove(j int) { p.shards[j].beginMove() }
func (p *Pool[T]) EndMove(j int)   { p.shards[j].endMove() }

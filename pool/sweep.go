package pool

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

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

// The TTL sweep is a time.AfterFunc timer, not a goroutine: Put arms it
// when the pool goes from empty to holding something, each sweep re-arms
// it while idle objects remain, and it stays disarmed while the pool is
// empty or closed. A sweep runs every TTL/8, so an object idle for the
// TTL is dropped by the next sweep (within TTL/8 plus the clock lag below)
// whether or not a GC runs or anyone calls the pool.

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
	left := p.sweep(now)
	if left > 0 {
		p.rearm()
		return
	}
	// Empty: disarm, then look again. A Put that loaded armed before this
	// store pushed before it, so the second look sees its object; a later
	// Put sees false and arms the timer itself.
	p.armed.Store(false)
	if p.idle() > 0 && p.armed.CompareAndSwap(false, true) {
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

// idle counts idle objects.
func (p *Pool[T]) idle() int {
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	p.depot.mu.Lock()
	n += len(p.depot.items)
	p.depot.mu.Unlock()
	return n
}

// sweep drops objects idle longer than the TTL as of now (or all of them
// under pressure) and returns how many remain. Callers hold sweepMu.
func (p *Pool[T]) sweep(now int64) int {
	if p.pressure != nil && p.pressure() {
		n := p.DropIdle()
		p.logf("pool: pressure drop", n)
		return 0
	}
	// Stamps lag real time by up to one interval, so an object is expired
	// when its stamp is older than TTL + interval: never before its TTL.
	cut := now - int64(p.ttl) - int64(p.interval)
	floor := p.armedAt.Load()
	victims := p.victims[:0]
	left, dropped := 0, 0
	var droppedBytes int64
	filter := func(items []item[T], c *counters) []item[T] {
		j := 0
		for i := range items {
			st := max(items[i].stamp, floor)
			if st > cut {
				items[j] = items[i]
				j++
				continue
			}
			if p.destroy != nil {
				victims = append(victims, items[i].v)
			}
			c.idleBytes -= int64(items[i].size)
			droppedBytes += int64(items[i].size)
			c.expired++
		}
		dropped += len(items) - j
		clear(items[j:])
		left += j
		return items[:j]
	}
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		s.items = filter(s.items, &s.counters)
		s.mu.Unlock()
	}
	d := &p.depot
	d.mu.Lock()
	d.items = filter(d.items, &d.counters)
	d.mu.Unlock()
	for i, v := range victims {
		p.destroy(v)
		var zero T
		victims[i] = zero
	}
	p.victims = victims[:0]
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

package pool

import (
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Pool is a typed, bounded set of reusable objects of type T.
//
// Get returns an idle object or a new one from the constructor; Put offers
// one back. Unlike sync.Pool, a Pool holds at most its [WithMaxIdle] bound,
// drops objects that stay idle longer than its [WithTTL] even when no
// garbage collection runs, can refuse oversized objects, runs reset and
// destroy hooks, counts everything in [Pool.Stats], and is drained by
// [Pool.Close].
//
// All methods are safe for concurrent use. A Pool must be made with [New];
// the zero value is not usable.
type Pool[T any] struct {
	// Read-mostly fields first; the hot path reads them on every call.
	shards   []shard[T]
	cellMask uint8 // usable cells of each shard
	batch    int   // objects moved per depot refill
	newFn    func() T
	reset    func(T)
	destroy  func(T)
	sizeFn   func(T) int
	maxSize  atomic.Int64
	closed   atomic.Bool
	armed    atomic.Bool
	clock    atomic.Int64 // coarse time (ns) stamped on Put; set by arm and sweep
	armedAt  atomic.Int64
	ttl      time.Duration
	interval time.Duration
	maxIdle  int
	now      func() time.Time
	logger   *slog.Logger
	name     string
	group    *Group
	pressure func() bool
	release  int64

	depot depot[T]

	// Slow-path counters.
	misses, oversized, closedPuts atomic.Uint64

	timerMu sync.Mutex
	timer   *time.Timer

	sweepMu sync.Mutex // serialises sweeps, DropIdle, Stats and Close
	expired uint64     // guarded by sweepMu
	pressed uint64     // guarded by sweepMu; idle objects dropped on demand
	drained uint64     // guarded by sweepMu; idle objects dropped by Close
	victims []T        // sweep scratch, guarded by sweepMu
	_       [64]byte
}

// item is one idle object in the depot, with its Put time and size.
type item[T any] struct {
	v     T
	stamp int64
	size  int
}

const (
	cells      = 8 // cells per shard; the masks below are 8 bits wide
	claimShift = 8
	hitShift   = 16
	putShift   = 40
	ctrBits    = 24
	ctrMask    = 1<<ctrBits - 1
)

// A shard is one P's cache of up to eight objects. Its state is one
// atomic word:
//
//	bits  0-7   full: the cell holds an idle object
//	bits  8-15  claimed: the sweeper, Stats or a stealer is looking at it
//	bits 16-39  hits, modulo 2^24 (the rest in hitsHi)
//	bits 40-63  puts, modulo 2^24 (the rest in putsHi)
//
// The shard's owner is the goroutine pinned to its P (see pin.go): it
// alone writes free cells, and publishes or takes a cell with one CAS on
// the word, which also counts the hit or put; so the hot path costs one
// atomic read-modify-write and touches no shared cache line. Others only
// ever claim full cells, read or empty them, and release them.
type shard[T any] struct {
	word   atomic.Uint64
	val    [cells]T
	stamp  [cells]int64
	size   [cells]int
	seq    atomic.Uint32 // odd while a counter carries into hitsHi/putsHi
	hitsHi atomic.Uint64
	putsHi atomic.Uint64
	pinState
	_ [128]byte // keep neighbouring shards off this cache line pair
}

// The depot is the shared overflow behind the shards: a full shard spills
// half its cells here, an empty one refills a batch from here, so objects
// Put on one P reach Gets on another. It also serves Ps beyond the shards.
type depot[T any] struct {
	mu               sync.Mutex
	items            []item[T]
	cap              int
	hits, puts, full uint64
	idleBytes        int64
}

// New returns a pool whose Get calls newFn when no idle object is at hand.
// newFn may be nil: Get then returns the zero T on a miss, as sync.Pool's
// Get returns nil. New starts no goroutine; the TTL sweep is a timer armed
// by Put while the pool holds idle objects.
//
// New panics if an option is invalid ([WithMaxIdle] below zero, or a hook
// whose type does not match T).
func New[T any](newFn func() T, opts ...Option) *Pool[T] {
	c := defaultConfig()
	for _, o := range opts {
		o.apply(&c)
	}
	if c.maxIdle < 0 {
		panic(fmt.Sprintf("pool: WithMaxIdle(%d): bound must not be negative", c.maxIdle))
	}
	p := &Pool[T]{
		newFn:    newFn,
		reset:    hookFor[func(T)](c.reset, "WithReset"),
		destroy:  hookFor[func(T)](c.destroy, "WithDestroy"),
		sizeFn:   hookFor[func(T) int](c.size, "WithSize"),
		ttl:      c.ttl,
		maxIdle:  c.maxIdle,
		now:      c.now,
		logger:   c.logger,
		name:     c.name,
		group:    c.group,
		pressure: c.pressure,
		release:  c.release,
	}
	p.maxSize.Store(int64(c.maxSize))
	p.layout(shardCount())
	if p.ttl > 0 {
		p.interval = max(p.ttl/8, time.Millisecond)
	} else {
		p.armed.Store(true) // never arm a sweep
	}
	if p.group != nil {
		p.group.Add(p)
	}
	return p
}

// layout splits maxIdle between n shards and the depot so the sum of
// their capacities is exactly maxIdle: the idle bound is structural and
// needs no shared counter. Shards get at most a quarter of the bound.
func (p *Pool[T]) layout(n int) {
	p.shards = make([]shard[T], n)
	per := min(cells, p.maxIdle/(4*n))
	p.cellMask = uint8(1<<per - 1)
	p.batch = max(1, per/2)
	p.depot.cap = p.maxIdle - n*per
}

// Get returns an idle object if the pool has one, and otherwise the result
// of the constructor given to [New] (or the zero T if that was nil). The
// caller owns the object until it Puts it back, if ever.
func (p *Pool[T]) Get() T {
	if s := p.pin(); s != nil {
		for {
			w := s.word.Load()
			full := uint8(w)
			if full == 0 {
				break
			}
			i := bits.Len8(full) - 1
			nw := w&^(1<<i) + 1<<hitShift
			carry := (w>>hitShift)&ctrMask == ctrMask
			if carry {
				nw = w &^ (1 << i) &^ (ctrMask << hitShift)
				s.seq.Add(1)
			}
			ok := s.word.CompareAndSwap(w, nw)
			if carry {
				if ok {
					s.hitsHi.Add(1 << ctrBits)
				}
				s.seq.Add(1)
			}
			if ok {
				v := s.val[i]
				var zero T
				s.val[i] = zero
				p.unpin(s)
				return v
			}
		}
		p.unpin(s)
	}
	return p.getSlow()
}

// getSlow refills from the depot, else steals from another shard, else
// calls the constructor. It runs unpinned.
func (p *Pool[T]) getSlow() T {
	var batch [cells]item[T]
	d := &p.depot
	d.mu.Lock()
	if n := len(d.items); n > 0 {
		k := min(n, p.batch)
		copy(batch[:k], d.items[n-k:])
		for _, it := range batch[:k] {
			d.idleBytes -= int64(it.size)
		}
		clear(d.items[n-k:])
		d.items = d.items[:n-k]
		d.hits++
		d.mu.Unlock()
		v := batch[k-1].v
		if k > 1 {
			p.stash(batch[:k-1])
		}
		return v
	}
	d.mu.Unlock()
	if v, ok := p.steal(); ok {
		return v
	}
	p.misses.Add(1)
	if p.newFn == nil {
		var zero T
		return zero
	}
	return p.newFn()
}

// stash puts refilled objects into the current P's free cells, and what
// does not fit back into the depot (or, if that filled up meanwhile,
// drops it).
func (p *Pool[T]) stash(items []item[T]) {
	if s := p.pin(); s != nil {
		var set uint8
		for len(items) > 0 {
			w := s.word.Load()
			used := uint8(w) | uint8(w>>claimShift) | ^p.cellMask
			if used == 0xFF {
				break
			}
			i := bits.TrailingZeros8(^used)
			s.val[i], s.stamp[i], s.size[i] = items[0].v, items[0].stamp, items[0].size
			if s.word.CompareAndSwap(w, w|1<<i) {
				items = items[1:]
				set |= 1 << i
			}
		}
		if set != 0 && p.closed.Load() {
			var late [cells]T
			n := s.takeBack(set, &late)
			p.unpin(s)
			p.destroyLate(late[:n])
		} else {
			p.unpin(s)
		}
	}
	if len(items) > 0 {
		p.toDepot(items)
	}
}

// toDepot pushes items onto the depot, dropping what does not fit.
func (p *Pool[T]) toDepot(items []item[T]) {
	d := &p.depot
	d.mu.Lock()
	if p.closed.Load() {
		d.mu.Unlock()
		p.closedPuts.Add(uint64(len(items)))
		for _, it := range items {
			p.destroyOne(it.v)
		}
		return
	}
	k := min(len(items), d.cap-len(d.items))
	for _, it := range items[:k] {
		d.items = append(d.items, it)
		d.idleBytes += int64(it.size)
	}
	d.full += uint64(len(items) - k)
	d.mu.Unlock()
	for _, it := range items[k:] {
		p.destroyOne(it.v)
	}
}

// steal takes one idle object from another shard by claiming its cell.
func (p *Pool[T]) steal() (v T, ok bool) {
	for j := range p.shards {
		s := &p.shards[j]
		for {
			w := s.word.Load()
			full := uint8(w)
			if full == 0 {
				break
			}
			i := bits.Len8(full) - 1
			if !s.word.CompareAndSwap(w, w&^(1<<i)|1<<(claimShift+i)) {
				continue
			}
			v = s.val[i]
			var zero T
			s.val[i] = zero
			s.release(1<<i, 0)
			p.depot.mu.Lock()
			p.depot.hits++
			p.depot.mu.Unlock()
			return v, true
		}
	}
	return v, false
}

// claimAll claims every full cell of s and returns their mask.
func (s *shard[T]) claimAll() uint8 {
	for {
		w := s.word.Load()
		full := uint8(w)
		if full == 0 || s.word.CompareAndSwap(w, w&^uint64(full)|uint64(full)<<claimShift) {
			return full
		}
	}
}

// release ends a claim on the cells in claimed, marking those in keep
// full again and the rest free.
func (s *shard[T]) release(claimed, keep uint8) {
	for {
		w := s.word.Load()
		if s.word.CompareAndSwap(w, w&^(uint64(claimed)<<claimShift)|uint64(keep)) {
			return
		}
	}
}

// counts returns the shard's hit and put totals.
func (s *shard[T]) counts() (hits, puts uint64) {
	for {
		q := s.seq.Load()
		if q&1 != 0 {
			runtime.Gosched()
			continue
		}
		hh, ph := s.hitsHi.Load(), s.putsHi.Load()
		w := s.word.Load()
		if s.seq.Load() == q {
			return hh + (w>>hitShift)&ctrMask, ph + (w>>putShift)&ctrMask
		}
	}
}

// Put offers v back to the pool. The pool keeps it unless it is closed,
// full, or v is larger than [WithMaxSize]; a refused object goes to the
// [WithDestroy] hook. The caller must not use v after Put.
func (p *Pool[T]) Put(v T) {
	size := 0
	if p.sizeFn != nil {
		size = p.sizeFn(v)
		if ms := p.maxSize.Load(); ms > 0 && int64(size) > ms {
			p.oversized.Add(1)
			p.destroyOne(v)
			return
		}
	}
	if p.reset != nil {
		p.reset(v)
	}
	s := p.pin()
	if s == nil {
		p.putSlow(v, size)
		return
	}
	var spilled [cells]item[T]
	nspill := 0
	for {
		w := s.word.Load()
		used := uint8(w) | uint8(w>>claimShift) | ^p.cellMask
		if used == 0xFF {
			if full := uint8(w) & p.cellMask; full != 0 && nspill == 0 {
				// Spill the lower half of the full cells (the older
				// ones: Put fills low cells first, Get takes high).
				take := full
				for k := bits.OnesCount8(full) / 2; k > 0 && take != 0; k-- {
					take &^= 1 << (7 - bits.LeadingZeros8(take))
				}
				if take == 0 {
					take = full
				}
				if s.word.CompareAndSwap(w, w&^uint64(take)) {
					for m := take; m != 0; m &= m - 1 {
						i := bits.TrailingZeros8(m)
						spilled[nspill] = item[T]{v: s.val[i], stamp: s.stamp[i], size: s.size[i]}
						nspill++
						var zero T
						s.val[i] = zero
					}
				}
				continue
			}
			// No usable cell (none configured, or all claimed).
			p.unpin(s)
			if nspill > 0 {
				p.toDepot(spilled[:nspill])
			}
			p.putSlow(v, size)
			return
		}
		i := bits.TrailingZeros8(^used)
		s.val[i], s.stamp[i], s.size[i] = v, p.clock.Load(), size
		nw := (w | 1<<i) + 1<<putShift
		carry := (w>>putShift)&ctrMask == ctrMask
		if carry {
			nw = (w | 1<<i) &^ (ctrMask << putShift)
			s.seq.Add(1)
		}
		ok := s.word.CompareAndSwap(w, nw)
		if carry {
			if ok {
				s.putsHi.Add(1 << ctrBits)
			}
			s.seq.Add(1)
		}
		if !ok {
			continue
		}
		if p.closed.Load() {
			// Close has begun and may already have drained this shard:
			// take the object back unless Close took it.
			var late [cells]T
			n := s.takeBack(1<<i, &late)
			p.unpin(s)
			p.destroyLate(late[:n])
		} else {
			p.unpin(s)
		}
		break
	}
	if nspill > 0 {
		p.toDepot(spilled[:nspill])
	}
	// Checked after the push: a sweep that disarms stores armed=false
	// before it looks, so either it sees this object or we see false.
	if !p.armed.Load() {
		p.arm()
	}
}

// takeBack empties the cells in mask that are still full into out and
// returns how many it took. The owner calls it, pinned, after publishing
// cells and then seeing the pool closed: Close may already have drained
// the shard, so what is still there would never be destroyed.
func (s *shard[T]) takeBack(mask uint8, out *[cells]T) int {
	for {
		w := s.word.Load()
		m := uint8(w) & mask
		if m == 0 {
			return 0 // Close took them
		}
		if s.word.CompareAndSwap(w, w&^uint64(m)) {
			n := 0
			for ; m != 0; m &= m - 1 {
				i := bits.TrailingZeros8(m)
				out[n] = s.val[i]
				n++
				var zero T
				s.val[i] = zero
			}
			return n
		}
	}
}

// destroyLate destroys objects a Put or refill published into a closed
// pool.
func (p *Pool[T]) destroyLate(vs []T) {
	p.closedPuts.Add(uint64(len(vs)))
	for _, v := range vs {
		p.destroyOne(v)
	}
}

// putSlow keeps v in the depot, for Ps without a shard or with no usable
// cell.
func (p *Pool[T]) putSlow(v T, size int) {
	d := &p.depot
	d.mu.Lock()
	d.puts++
	if p.closed.Load() {
		d.mu.Unlock()
		p.closedPuts.Add(1)
		p.destroyOne(v)
		return
	}
	if len(d.items) >= d.cap {
		d.full++
		d.mu.Unlock()
		p.destroyOne(v)
		return
	}
	d.items = append(d.items, item[T]{v: v, stamp: p.clock.Load(), size: size})
	d.idleBytes += int64(size)
	d.mu.Unlock()
	if !p.armed.Load() {
		p.arm()
	}
}

func (p *Pool[T]) destroyOne(v T) {
	if p.destroy != nil {
		p.destroy(v)
	}
}

// DropIdle drops every idle object now, passing each to the [WithDestroy]
// hook, and returns how many it dropped. It is the pressure hook: wire a
// memory-pressure signal to it directly or through a [Group]. The pool
// stays usable. Safe for concurrent use.
func (p *Pool[T]) DropIdle() int {
	p.sweepMu.Lock()
	defer p.sweepMu.Unlock()
	n := p.drainLocked()
	p.pressed += uint64(n)
	return n
}

// drainLocked empties every shard and the depot and destroys what it took
// outside the locks. Callers hold sweepMu.
func (p *Pool[T]) drainLocked() int {
	victims := p.victims[:0]
	for j := range p.shards {
		s := &p.shards[j]
		claimed := s.claimAll()
		for m := claimed; m != 0; m &= m - 1 {
			i := bits.TrailingZeros8(m)
			victims = append(victims, s.val[i])
			var zero T
			s.val[i] = zero
		}
		if claimed != 0 {
			s.release(claimed, 0)
		}
	}
	d := &p.depot
	d.mu.Lock()
	for _, it := range d.items {
		victims = append(victims, it.v)
	}
	clear(d.items)
	d.items = d.items[:0]
	d.idleBytes = 0
	d.mu.Unlock()
	n := len(victims)
	p.destroyAll(victims)
	return n
}

// destroyAll runs the destroy hook on victims, then forgets them so the
// scratch slice holds no object. Callers hold sweepMu.
func (p *Pool[T]) destroyAll(victims []T) {
	for _, v := range victims {
		p.destroyOne(v)
	}
	clear(victims)
	p.victims = victims[:0]
}

// Close drops and destroys every idle object and stops the sweep timer,
// waiting for a sweep in progress. Afterwards Put destroys what it is
// given and Get always calls the constructor. Close is idempotent and safe
// for concurrent use; it never panics.
func (p *Pool[T]) Close() {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	p.timerMu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timerMu.Unlock()
	p.sweepMu.Lock()
	n := p.drainLocked()
	p.drained += uint64(n)
	p.sweepMu.Unlock()
	if p.group != nil {
		p.group.Remove(p)
	}
	if p.logger != nil {
		p.logger.Debug("pool: closed", "pool", p.name, "destroyed", n)
	}
}

// Stats returns a snapshot of the pool's counters. To count idle objects
// exactly it briefly claims every shard's cells, during which Gets on
// other goroutines may take the slow path: call it at scrape rate, not per
// request. Safe for concurrent use.
func (p *Pool[T]) Stats() Stats {
	p.sweepMu.Lock()
	defer p.sweepMu.Unlock()
	var st Stats
	claims := make([]uint8, len(p.shards))
	for j := range p.shards {
		s := &p.shards[j]
		claims[j] = s.claimAll()
		for m := claims[j]; m != 0; m &= m - 1 {
			st.IdleBytes += int64(s.size[bits.TrailingZeros8(m)])
		}
		st.Idle += bits.OnesCount8(claims[j])
	}
	d := &p.depot
	d.mu.Lock()
	st.Idle += len(d.items)
	st.IdleBytes += d.idleBytes
	st.Hits, st.Puts, st.DropsFull = d.hits, d.puts, d.full
	d.mu.Unlock()
	for j := range p.shards {
		s := &p.shards[j]
		if claims[j] != 0 {
			s.release(claims[j], claims[j])
		}
		h, u := s.counts()
		st.Hits += h
		st.Puts += u
	}
	misses, oversized, closed := p.misses.Load(), p.oversized.Load(), p.closedPuts.Load()
	st.Gets = st.Hits + misses
	if p.newFn != nil {
		st.News = misses
	}
	// Fast-path puts are counted in the shard word; slow ones in the
	// depot. Refused puts never reach either.
	st.Puts += oversized
	st.DropsOversized = oversized
	st.DropsClosed = closed + p.drained
	st.DropsPressure = p.pressed
	st.Expired = p.expired
	st.MaxIdle = p.maxIdle
	st.TTL = p.ttl
	st.Closed = p.closed.Load()
	return st
}

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
	cellMask uint16 // usable cells of each shard
	batch    int    // objects moved per refill from an overflow stack
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
	trusted  bool // the size and reset hooks are Buffers' own (see config.trusted)

	// Slow-path counters.
	misses, oversized, closedPuts atomic.Uint64
	// hookPanics counts hook calls that panicked; badPuts the Puts whose
	// size or reset hook panicked, which dropped their object.
	hookPanics, badPuts atomic.Uint64

	timerMu sync.Mutex
	timer   *time.Timer

	sweepMu    sync.Mutex // serialises sweeps, DropIdle, Stats and Close; no hook runs under it
	expired    uint64     // guarded by sweepMu
	pressed    uint64     // guarded by sweepMu; idle objects dropped on demand
	drained    uint64     // guarded by sweepMu; idle objects dropped by Close
	victims    []T        // sweep scratch, guarded by sweepMu; nil while lent out (see takeVictims)
	sweeps     []int64    // guarded by sweepMu; clock values of recent sweeps, oldest first
	settled    int64      // guarded by sweepMu; latest sweep at least a TTL old (see sweep)
	hasSettled bool       // guarded by sweepMu
}

// item is one idle object in an overflow stack, with its Put time and
// size.
type item[T any] struct {
	v     T
	stamp int64
	size  int
}

const (
	cells      = 16 // cells per shard; the masks below are 16 bits wide
	claimShift = 16
	hitShift   = 32
	putShift   = 48
	ctrBits    = 16
	ctrMask    = 1<<ctrBits - 1
)

// A shard is one P's cache: up to sixteen cells whose state is one atomic
// word, and a mutex-guarded overflow stack behind them.
//
//	word bits  0-15  full: the cell holds an idle object
//	word bits 16-31  claimed: the sweeper, Stats or a stealer holds it
//	word bits 32-47  hits, modulo 2^16 (carries go to hitsHi)
//	word bits 48-63  puts, modulo 2^16 (carries go to putsHi)
//
// The shard's owner is the goroutine pinned to its P (see pin.go): it
// alone writes free cells, and publishes or takes a cell with one CAS on
// the word that also counts the put or hit, so the hot path costs one
// atomic read-modify-write and touches no shared cache line. Everyone
// else only claims full cells, reads or empties them, and releases them.
//
// When the cells are full, Put spills the older half into the overflow
// stack; when they are empty, Get refills a batch from it. The overflow's
// mutex is uncontended unless another P steals from it or places into it.
type shard[T any] struct {
	word   atomic.Uint64
	c      [cells]cell[T]
	seq    atomic.Uint32 // odd while a counter carries into hitsHi/putsHi
	hitsHi atomic.Uint64
	putsHi atomic.Uint64
	//lint:ignore U1000 empty here; a mutex in gotune_nolinkname and race builds.
	pinState
	ov overflow[T]
	_  [128]byte // keep neighbouring shards off these cache lines
}

// cell is one slot of a shard: an object with its Put time and size, kept
// together so a Put touches one cache line.
type cell[T any] struct {
	v     T
	stamp int64
	size  int
}

// overflow is a shard's second level, a LIFO stack under a mutex.
type overflow[T any] struct {
	mu sync.Mutex
	// moves announces objects this shard's owner or a claimer has taken
	// out of sight without handing them to a caller (see beginMove).
	moves            atomic.Uint64
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
		if o != nil {
			o.applyPool(&c)
		}
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
		trusted:  c.trusted,
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

// layout splits maxIdle between n shards' cells and overflow stacks so
// the sum of their capacities is exactly maxIdle: the idle bound is
// structural and needs no shared counter. Cells get at most half.
func (p *Pool[T]) layout(n int) {
	p.shards = make([]shard[T], n)
	per := min(cells, p.maxIdle/(2*n))
	p.cellMask = uint16(1<<per - 1)
	p.batch = max(1, per/2)
	rest := p.maxIdle - n*per
	for j := range p.shards {
		p.shards[j].ov.cap = rest / n
		if j < rest%n {
			p.shards[j].ov.cap++
		}
	}
}

// Get returns an idle object if the pool has one, and otherwise the result
// of the constructor given to [New] (or the zero T if that was nil). The
// caller owns the object until it Puts it back, if ever.
//
// Get calls the constructor only if no object stayed idle in the pool,
// and untaken by other Gets, for the whole of the call: when objects are
// in transit inside the pool (see the package doc's Design section) it
// yields and looks again rather than allocate; if other goroutines keep
// moving objects through 64 of its scans it allocates rather than spin.
// Objects Put during the call may or may not be found.
func (p *Pool[T]) Get() T {
	s := p.pin()
	if s != nil {
		for {
			w := s.word.Load()
			full := uint16(w)
			if full == 0 {
				break
			}
			i := bits.Len16(full) - 1
			if (w>>hitShift)&ctrMask == ctrMask {
				if v, ok := s.takeCarry(w, i); ok {
					p.unpin(s)
					return v
				}
				continue
			}
			if s.word.CompareAndSwap(w, w&^(1<<i)+1<<hitShift) {
				v := s.c[i].v
				var zero T
				s.c[i].v = zero
				p.unpin(s)
				return v
			}
		}
	}
	p.unpin(s)
	return p.getSlow(s)
}

// takeCarry is Get's CAS when the hit counter carries: under the seqlock
// that Stats reads with.
func (s *shard[T]) takeCarry(w uint64, i int) (v T, ok bool) {
	s.seq.Add(1)
	ok = s.word.CompareAndSwap(w, w&^(1<<i)&^(ctrMask<<hitShift))
	if ok {
		s.hitsHi.Add(1 << ctrBits)
		v = s.c[i].v
		var zero T
		s.c[i].v = zero
	}
	s.seq.Add(1)
	return v, ok
}

// Moves. Some paths take idle objects out of every place a Get looks
// without handing them to a caller: a refill carries a batch from an
// overflow stack to a P's cells, a spill carries cells to the overflow
// stacks, and Stats and the sweep claim full cells for a moment. A Get
// that scans while an object is in transit can miss it, and then it
// would call the constructor although the object is idle (a burst of
// Gets that drains a pool did so). So every such path brackets its
// transit with beginMove and endMove on a shard's moves word, and a Get
// that finds nothing trusts its scan only if no move was in flight when
// it began and none began or ended before it finished (getSlow).
//
// A moves word holds the number of moves in flight in its low 32 bits
// and counts every begin and end above them; each begin or end adds a
// positive amount below 2^33, so the sum of all shards' words cannot
// come back to the same value within one scan (that would take 2^31
// moves). No user code (hooks, constructor) runs inside a move, and no
// move waits for a Get, so the rescans cannot deadlock.

// inTransit, when set (by tests, through export_test.go), runs while a
// move is in flight: unpinned, between a refill's take and its stash,
// and in Stats while the cells are claimed.
var inTransit func()

// beginMove announces that objects are about to leave sight. It must
// happen before the CAS or the critical section that takes them.
func (s *shard[T]) beginMove() { s.ov.moves.Add(1<<32 + 1) }

// endMove ends a move after its objects are published again (or handed
// to a destroy path).
func (s *shard[T]) endMove() { s.ov.moves.Add(1<<32 - 1) }

// moveState returns the sum of the shards' moves words and whether a
// move is in flight.
func (p *Pool[T]) moveState() (sum uint64, busy bool) {
	for j := range p.shards {
		w := p.shards[j].ov.moves.Load()
		sum += w
		busy = busy || uint32(w) != 0
	}
	return sum, busy
}

// maxRescans bounds the scans of one getSlow during which moves began or
// ended. Waiting for one move in flight is not bounded: a move runs no
// user code and waits for no Get, so it ends once its goroutine runs
// again. But other goroutines spilling and refilling could begin new
// moves through every scan forever; after maxRescans such scans a Get
// calls the constructor rather than spin on.
const maxRescans = 64

// getSlow refills from the home shard's overflow, else steals from
// another shard, else calls the constructor. It runs unpinned; home is
// the shard the caller was pinned to, or nil. The scan covers every
// overflow stack and every shard's cells, whatever P the goroutine runs
// on by now; it is repeated while objects may have been in transit
// during it (see beginMove), so a Get calls the constructor only when no
// object stayed idle, and untaken by other Gets, all through its scan, or
// when new moves overlapped maxRescans of its scans.
func (p *Pool[T]) getSlow(home *shard[T]) T {
	if home == nil {
		home = p.homeShard()
	}
	for changed := 0; ; {
		before, busy := p.moveState()
		if v, ok := p.refill(home); ok {
			return v
		}
		if v, ok := p.steal(home); ok {
			return v
		}
		after, _ := p.moveState()
		if !busy && after == before {
			break
		}
		if after != before {
			if changed++; changed == maxRescans {
				break
			}
		}
		runtime.Gosched() // let the mover finish
	}
	p.misses.Add(1)
	if p.newFn == nil {
		var zero T
		return zero
	}
	return p.newFn()
}

// refill takes a batch from home's overflow stack, returns one object
// and stashes the rest in the current P's cells.
func (p *Pool[T]) refill(home *shard[T]) (v T, ok bool) {
	var batch [cells]item[T]
	o := &home.ov
	o.mu.Lock()
	n := len(o.items)
	if n == 0 {
		o.mu.Unlock()
		return v, false
	}
	k := min(n, p.batch)
	if k > 1 {
		home.beginMove() // the rest of the batch is in transit until stash ends
	}
	copy(batch[:k], o.items[n-k:])
	for _, it := range batch[:k] {
		o.idleBytes -= int64(it.size)
	}
	clear(o.items[n-k:])
	o.items = o.items[:n-k]
	o.hits++
	o.mu.Unlock()
	if k > 1 {
		p.stash(batch[:k-1], home)
	}
	return batch[k-1].v, true
}

// stash puts refilled objects into the current P's free cells, and what
// does not fit back into an overflow stack (or drops it). It ends
// mover's move once every object is in place, before any destroy hook.
func (p *Pool[T]) stash(items []item[T], mover *shard[T]) {
	if inTransit != nil {
		inTransit()
	}
	var late [cells]T
	n := 0
	s := p.pin()
	if s != nil {
		var set uint16
		for len(items) > 0 {
			w := s.word.Load()
			used := uint16(w) | uint16(w>>claimShift) | ^p.cellMask
			if used == 0xFFFF {
				break
			}
			i := bits.TrailingZeros16(^used)
			s.c[i] = cell[T](items[0])
			if s.word.CompareAndSwap(w, w|1<<i) {
				items = items[1:]
				set |= 1 << i
			}
		}
		if set != 0 && p.closed.Load() {
			n = s.takeBack(set, &late)
		}
	}
	p.unpin(s)
	if len(items) > 0 {
		p.toOverflow(s, items, false, mover)
	} else {
		mover.endMove()
	}
	if n > 0 {
		p.destroyLate(late[:n])
	}
	// The batch was invisible to a sweep while in flight; if that sweep
	// found the pool empty and disarmed, re-arm it.
	if !p.armed.Load() {
		p.arm()
	}
}

// toOverflow pushes items onto home's overflow stack, then onto other
// shards' stacks, and drops what fits nowhere. isPut says the items are
// one Put's object rather than objects moved between levels. A non-nil
// mover's move ends once the items are placed, before any destroy hook
// runs. It runs unpinned.
func (p *Pool[T]) toOverflow(home *shard[T], items []item[T], isPut bool, mover *shard[T]) {
	if home == nil {
		home = p.homeShard()
	}
	dropped := 0
	var late []item[T]
	p.visit(home, func(s *shard[T]) bool {
		o := &s.ov
		o.mu.Lock()
		if isPut && s == home {
			o.puts++
		}
		if p.closed.Load() {
			o.mu.Unlock()
			late, items = items, nil
			return true
		}
		k := min(len(items), o.cap-len(o.items))
		for _, it := range items[:k] {
			o.items = append(o.items, it)
			o.idleBytes += int64(it.size)
		}
		items = items[k:]
		o.mu.Unlock()
		return len(items) == 0
	})
	if mover != nil {
		mover.endMove()
	}
	if len(late) > 0 {
		p.destroyLate(itemValues(late))
	}
	if len(items) > 0 {
		dropped = len(items)
		o := &home.ov
		o.mu.Lock()
		o.full += uint64(dropped)
		o.mu.Unlock()
		for _, it := range items {
			p.destroyOne(it.v)
		}
	}
}

func itemValues[T any](items []item[T]) []T {
	vs := make([]T, len(items))
	for i, it := range items {
		vs[i] = it.v
	}
	return vs
}

// visit calls f on home and then on every other shard until f is true.
func (p *Pool[T]) visit(home *shard[T], f func(*shard[T]) bool) bool {
	if f(home) {
		return true
	}
	for j := range p.shards {
		if s := &p.shards[j]; s != home && f(s) {
			return true
		}
	}
	return false
}

// steal takes one idle object from another shard: from its overflow
// stack, else by claiming one of its cells.
func (p *Pool[T]) steal(home *shard[T]) (v T, ok bool) {
	ok = p.visit(home, func(s *shard[T]) bool {
		if s == home {
			return false // its overflow was just found empty
		}
		o := &s.ov
		o.mu.Lock()
		if n := len(o.items); n > 0 {
			it := o.items[n-1]
			o.items[n-1] = item[T]{}
			o.items = o.items[:n-1]
			o.idleBytes -= int64(it.size)
			o.hits++
			o.mu.Unlock()
			v = it.v
			return true
		}
		o.mu.Unlock()
		return false
	})
	if ok {
		return v, true
	}
	ok = p.visit(home, func(s *shard[T]) bool {
		for {
			w := s.word.Load()
			full := uint16(w)
			if full == 0 {
				return false
			}
			i := bits.Len16(full) - 1
			if !s.word.CompareAndSwap(w, w&^(1<<i)|1<<(claimShift+i)) {
				continue
			}
			v = s.c[i].v
			var zero T
			s.c[i].v = zero
			s.release(1<<i, 0)
			s.ov.mu.Lock()
			s.ov.hits++
			s.ov.mu.Unlock()
			return true
		}
	})
	return v, ok
}

// claimMoving claims every full cell of s as claimAll does, inside a move
// so that a Get that misses the claimed objects scans again. It returns 0
// without a move when s has no full cell; a nonzero claim must be given
// back with releaseMoving.
func (s *shard[T]) claimMoving() uint16 {
	if uint16(s.word.Load()) == 0 {
		return 0
	}
	s.beginMove()
	claimed := s.claimAll()
	if claimed == 0 {
		s.endMove()
	}
	return claimed
}

// releaseMoving ends a claim made by claimMoving, keeping the cells in
// keep, and ends its move.
func (s *shard[T]) releaseMoving(claimed, keep uint16) {
	s.release(claimed, keep)
	s.endMove()
}

// claimAll claims every full cell of s and returns their mask.
func (s *shard[T]) claimAll() uint16 {
	for {
		w := s.word.Load()
		full := uint16(w)
		if full == 0 || s.word.CompareAndSwap(w, w&^uint64(full)|uint64(full)<<claimShift) {
			return full
		}
	}
}

// release ends a claim on the cells in claimed, marking those in keep
// full again and the rest free.
func (s *shard[T]) release(claimed, keep uint16) {
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

// takeBack empties the cells in mask that are still full into out and
// returns how many it took. The owner calls it, pinned, after publishing
// cells and then seeing the pool closed: Close may already have drained
// the shard, so what is still there would never be destroyed.
func (s *shard[T]) takeBack(mask uint16, out *[cells]T) int {
	for {
		w := s.word.Load()
		m := uint16(w) & mask
		if m == 0 {
			return 0 // Close took them
		}
		if s.word.CompareAndSwap(w, w&^uint64(m)) {
			n := 0
			for ; m != 0; m &= m - 1 {
				i := bits.TrailingZeros16(m)
				out[n] = s.c[i].v
				n++
				var zero T
				s.c[i].v = zero
			}
			return n
		}
	}
}

// destroyLate destroys objects published into a closed pool.
func (p *Pool[T]) destroyLate(vs []T) {
	p.closedPuts.Add(uint64(len(vs)))
	for _, v := range vs {
		p.destroyOne(v)
	}
}

// Put offers v back to the pool. The pool keeps it unless it is closed,
// full, or v is larger than [WithMaxSize]; a refused object goes to the
// [WithDestroy] hook. The caller must not use v after Put.
func (p *Pool[T]) Put(v T) {
	size := 0
	if p.sizeFn != nil || p.reset != nil {
		over, ok := false, true
		if p.trusted {
			size, over = p.hooks(v)
		} else {
			size, over, ok = p.prepare(v)
		}
		if !ok {
			p.badPuts.Add(1)
			p.destroyOne(v)
			return
		}
		if over {
			p.oversized.Add(1)
			p.destroyOne(v)
			return
		}
	}
	s := p.pin()
	if s == nil {
		p.unpin(nil)
		p.putSlow(nil, v, size)
		return
	}
	for {
		w := s.word.Load()
		used := uint16(w) | uint16(w>>claimShift) | ^p.cellMask
		if used == 0xFFFF {
			p.putSpill(s, v, size) // unpins
			return
		}
		i := bits.TrailingZeros16(^used)
		s.c[i].v, s.c[i].stamp, s.c[i].size = v, p.clock.Load(), size
		if (w>>putShift)&ctrMask == ctrMask {
			if !s.publishCarry(w, i) {
				continue
			}
		} else if !s.word.CompareAndSwap(w, (w|1<<i)+1<<putShift) {
			continue
		}
		if p.closed.Load() {
			p.putClosed(s, 1<<i) // unpins
			return
		}
		p.unpin(s)
		break
	}
	// Checked after the publish: a sweep that disarms stores armed=false
	// before it looks, so either it sees this object or we see false.
	if !p.armed.Load() {
		p.arm()
	}
}

// publishCarry is Put's CAS when the put counter carries.
func (s *shard[T]) publishCarry(w uint64, i int) bool {
	s.seq.Add(1)
	ok := s.word.CompareAndSwap(w, (w|1<<i)&^(ctrMask<<putShift))
	if ok {
		s.putsHi.Add(1 << ctrBits)
	}
	s.seq.Add(1)
	return ok
}

// putClosed takes back cells published into a closed pool and destroys
// them. Called pinned; unpins.
func (p *Pool[T]) putClosed(s *shard[T], mask uint16) {
	var late [cells]T
	n := s.takeBack(mask, &late)
	p.unpin(s)
	p.destroyLate(late[:n])
}

// putSpill runs pinned when s has no free cell: it moves the older half
// of the full cells to the overflow stack and publishes v in their place,
// or, with no full cell to move, puts v in the overflow. Unpins.
func (p *Pool[T]) putSpill(s *shard[T], v T, size int) {
	var spilled [cells]item[T]
	n := 0
	s.beginMove() // the spilled half is in transit until toOverflow places it
	for {
		w := s.word.Load()
		full := uint16(w) & p.cellMask
		if full == 0 {
			break
		}
		// Put fills low cells first and Get takes high ones, so the low
		// half holds the older objects.
		take := full
		for k := bits.OnesCount16(full) / 2; k > 0; k-- {
			take &^= 1 << (bits.Len16(take) - 1)
		}
		if !s.word.CompareAndSwap(w, w&^uint64(take)) {
			continue
		}
		for m := take; m != 0; m &= m - 1 {
			i := bits.TrailingZeros16(m)
			spilled[n] = item[T]{v: s.c[i].v, stamp: s.c[i].stamp, size: s.c[i].size}
			n++
			var zero T
			s.c[i].v = zero
		}
		i := bits.TrailingZeros16(take)
		s.c[i].v, s.c[i].stamp, s.c[i].size = v, p.clock.Load(), size
		for {
			w := s.word.Load()
			if (w>>putShift)&ctrMask == ctrMask {
				if s.publishCarry(w, i) {
					break
				}
			} else if s.word.CompareAndSwap(w, (w|1<<i)+1<<putShift) {
				break
			}
		}
		var late [cells]T
		k := 0
		if p.closed.Load() {
			k = s.takeBack(1<<i, &late)
		}
		p.unpin(s)
		p.toOverflow(s, spilled[:n], false, s) // ends the move
		if k > 0 {
			p.destroyLate(late[:k])
		}
		if !p.armed.Load() {
			p.arm()
		}
		return
	}
	s.endMove()
	p.unpin(s)
	p.putSlow(s, v, size)
}

// putSlow keeps v in an overflow stack, for Ps without a shard or with no
// usable cell. It runs unpinned.
func (p *Pool[T]) putSlow(home *shard[T], v T, size int) {
	one := [1]item[T]{{v: v, stamp: p.clock.Load(), size: size}}
	p.toOverflow(home, one[:], true, nil)
	if !p.armed.Load() {
		p.arm()
	}
}

// hooks runs the size and reset hooks on an object Put, for trusted hooks
// that cannot panic: the deferred recover in prepare costs a few ns a Put,
// which Buffers' hot path need not pay.
func (p *Pool[T]) hooks(v T) (size int, oversized bool) {
	if p.sizeFn != nil {
		size = p.sizeFn(v)
		if ms := p.maxSize.Load(); ms > 0 && int64(size) > ms {
			return size, true
		}
	}
	if p.reset != nil {
		p.reset(v)
	}
	return size, false
}

// prepare runs the size and reset hooks on an object Put. ok is false
// where one panicked: the panic is recovered and counted, and the object,
// in a state no one knows, is not kept.
func (p *Pool[T]) prepare(v T) (size int, oversized, ok bool) {
	hook := "size"
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked(hook, r)
			ok = false
		}
	}()
	if p.sizeFn != nil {
		size = p.sizeFn(v)
		if ms := p.maxSize.Load(); ms > 0 && int64(size) > ms {
			return size, true, true
		}
	}
	if p.reset != nil {
		hook = "reset"
		p.reset(v)
	}
	return size, false, true
}

// destroyOne runs the destroy hook on v; a panic in it is recovered and
// counted, so it cannot unwind through the pool.
func (p *Pool[T]) destroyOne(v T) {
	if p.destroy == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("destroy", r)
		}
	}()
	p.destroy(v)
}

// underPressure asks the WithPressure signal, recovering a panic in it
// (counted; read as no pressure). It runs outside the pool's locks, so the
// signal may call back into the pool.
func (p *Pool[T]) underPressure() (on bool) {
	if p.pressure == nil {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("pressure", r)
			on = false
		}
	}()
	return p.pressure()
}

func (p *Pool[T]) hookPanicked(hook string, r any) {
	p.hookPanics.Add(1)
	if p.logger != nil {
		p.logger.Error("pool: hook panicked", "pool", p.name, "hook", hook, "panic", fmt.Sprint(r))
	}
}

// DropIdle drops every idle object now, passing each to the [WithDestroy]
// hook, and returns how many it dropped. It is the pressure hook: wire a
// memory-pressure signal to it directly or through a [Group]. The pool
// stays usable. Safe for concurrent use.
func (p *Pool[T]) DropIdle() int {
	p.sweepMu.Lock()
	victims, n := p.drainLocked()
	p.pressed += uint64(n)
	p.sweepMu.Unlock()
	p.destroyAll(victims)
	return n
}

// takeVictims lends out the scratch slice for objects to destroy; the
// caller gives it back through destroyAll. Callers hold sweepMu.
func (p *Pool[T]) takeVictims() []T {
	v := p.victims[:0]
	p.victims = nil
	return v
}

// victim adds v to the objects a sweep or drain hands to the destroy hook.
// Without a hook nothing is kept: the caller zeroes the slot under
// sweepMu, so once Stats reports an object gone no reference to it is
// left in the pool and the next GC frees it (a lent victims slice would
// hold the whole batch until the sweep's finish ran, and a GC marking in
// between kept all of it for another cycle).
func (p *Pool[T]) victim(victims []T, v T) []T {
	if p.destroy == nil {
		return victims
	}
	return append(victims, v)
}

// drainLocked empties every shard and returns how many objects it took
// and, where there is a destroy hook, the objects, for the caller to
// destroy with destroyAll once it has let go of sweepMu. Callers hold
// sweepMu.
func (p *Pool[T]) drainLocked() (victims []T, n int) {
	victims = p.takeVictims()
	for j := range p.shards {
		s := &p.shards[j]
		claimed := s.claimAll()
		for m := claimed; m != 0; m &= m - 1 {
			i := bits.TrailingZeros16(m)
			victims = p.victim(victims, s.c[i].v)
			n++
			var zero T
			s.c[i].v = zero
		}
		if claimed != 0 {
			s.release(claimed, 0)
		}
		o := &s.ov
		o.mu.Lock()
		for _, it := range o.items {
			victims = p.victim(victims, it.v)
		}
		n += len(o.items)
		clear(o.items)
		o.items = o.items[:0]
		o.idleBytes = 0
		o.mu.Unlock()
	}
	if len(victims) == 0 {
		p.victims = victims // nothing to destroy: keep the scratch
	}
	return victims, n
}

// destroyAll runs the destroy hook on victims, then forgets them and
// gives the scratch slice back. Callers do not hold sweepMu: a hook may
// call back into the pool (Stats, DropIdle, Get).
func (p *Pool[T]) destroyAll(victims []T) {
	if len(victims) == 0 {
		return // nothing to give back: the pool keeps the slice it lent
	}
	for _, v := range victims {
		p.destroyOne(v)
	}
	clear(victims)
	p.sweepMu.Lock()
	if p.victims == nil {
		p.victims = victims[:0]
	}
	p.sweepMu.Unlock()
}

// Close drops and destroys every idle object and stops the sweep timer,
// waiting for a sweep in progress. A sweep runs the destroy hook on what
// it expired after it lets go of the pool's lock (so the hook may call the
// pool, Close included): such a hook may still be running when Close
// returns. Afterwards Put destroys what it is
// given and Get always calls the constructor. Close is idempotent, safe
// for concurrent use and on a nil Pool; it never panics, even where the
// destroy hook does (see [Stats.HookPanics]).
func (p *Pool[T]) Close() {
	if p == nil || !p.closed.CompareAndSwap(false, true) {
		return
	}
	p.timerMu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timerMu.Unlock()
	p.sweepMu.Lock()
	victims, n := p.drainLocked()
	p.drained += uint64(n)
	p.sweepMu.Unlock()
	p.destroyAll(victims)
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
	claims := make([]uint16, len(p.shards))
	for j := range p.shards {
		s := &p.shards[j]
		claims[j] = s.claimMoving()
		for m := claims[j]; m != 0; m &= m - 1 {
			st.IdleBytes += int64(s.c[bits.TrailingZeros16(m)].size)
		}
		st.Idle += bits.OnesCount16(claims[j])
	}
	if inTransit != nil {
		inTransit()
	}
	for j := range p.shards {
		o := &p.shards[j].ov
		o.mu.Lock()
		st.Idle += len(o.items)
		st.IdleBytes += o.idleBytes
		st.Hits += o.hits
		st.Puts += o.puts
		st.DropsFull += o.full
		o.mu.Unlock()
	}
	for j := range p.shards {
		s := &p.shards[j]
		if claims[j] != 0 {
			s.releaseMoving(claims[j], claims[j])
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
	st.Puts += oversized + p.badPuts.Load()
	st.HookPanics = p.hookPanics.Load()
	st.DropsOversized = oversized
	st.DropsClosed = closed + p.drained
	st.DropsPressure = p.pressed
	st.Expired = p.expired
	st.MaxIdle = p.maxIdle
	st.TTL = p.ttl
	st.Closed = p.closed.Load()
	return st
}

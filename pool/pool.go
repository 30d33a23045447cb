package pool

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxShardCap bounds one shard's stack so a spill or sweep moves little.
const maxShardCap = 64

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
	mask     int
	shardCap int
	batch    int
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

	timerMu sync.Mutex
	timer   *time.Timer
	sweepMu sync.Mutex // serialises sweeps and Close
	victims []T        // sweep scratch, guarded by sweepMu
}

// item is one idle object with its Put time and size.
type item[T any] struct {
	v     T
	stamp int64
	size  int
}

// counters are per shard and guarded by the shard's mutex, so counting on
// the hot path costs no extra atomic operation and no shared cache line.
type counters struct {
	hits, misses, puts                      uint64
	full, oversized, closed, expired, dropt uint64
	idleBytes                               int64
}

func (c *counters) add(o *counters) {
	c.hits += o.hits
	c.misses += o.misses
	c.puts += o.puts
	c.full += o.full
	c.oversized += o.oversized
	c.closed += o.closed
	c.expired += o.expired
	c.dropt += o.dropt
	c.idleBytes += o.idleBytes
}

// A shard is a small LIFO stack chosen by the calling goroutine's P. Its
// mutex is almost never contended (one P at a time uses it), so Lock and
// Unlock are one uncontended atomic operation each.
type shard[T any] struct {
	mu    sync.Mutex
	items []item[T]
	counters
	_ [128]byte // keep neighbouring shards off this cache line pair
}

// The depot is the shared overflow behind the shards: a full shard spills
// its older half here and an empty shard refills a batch from here, so
// objects Put on one P reach Gets on another.
type depot[T any] struct {
	mu    sync.Mutex
	items []item[T]
	cap   int
	counters
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
	p.layout(runtime.GOMAXPROCS(0))
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

// layout splits maxIdle between procs shards and the depot so the sum of
// their capacities is exactly maxIdle: the idle bound is structural and
// needs no shared counter.
func (p *Pool[T]) layout(procs int) {
	n := 1
	for n < procs {
		n <<= 1
	}
	p.shards = make([]shard[T], n)
	p.mask = n - 1
	p.shardCap = min(maxShardCap, p.maxIdle/(2*n))
	p.batch = max(1, p.shardCap/2)
	p.depot.cap = p.maxIdle - n*p.shardCap
}

func (p *Pool[T]) shard() *shard[T] {
	return &p.shards[procHint()&p.mask]
}

// Get returns an idle object if the pool has one, and otherwise the result
// of the constructor given to [New] (or the zero T if that was nil). The
// caller owns the object until it Puts it back, if ever.
func (p *Pool[T]) Get() T {
	s := p.shard()
	s.mu.Lock()
	if n := len(s.items); n > 0 {
		it := &s.items[n-1]
		v := it.v
		s.idleBytes -= int64(it.size)
		*it = item[T]{}
		s.items = s.items[:n-1]
		s.hits++
		s.mu.Unlock()
		return v
	}
	return p.getSlow(s)
}

// getSlow runs with s locked and empty: refill from the depot, else miss.
func (p *Pool[T]) getSlow(s *shard[T]) T {
	d := &p.depot
	d.mu.Lock()
	if n := len(d.items); n > 0 {
		k := min(n, p.batch, p.shardCap+1)
		top := d.items[n-1]
		d.idleBytes -= int64(top.size)
		// Move the k-1 items below the top into the shard, oldest first,
		// so the shard stays ordered by age.
		if k > 1 {
			if s.items == nil {
				s.items = make([]item[T], 0, p.shardCap)
			}
			for _, it := range d.items[n-k : n-1] {
				s.items = append(s.items, it)
				s.idleBytes += int64(it.size)
				d.idleBytes -= int64(it.size)
			}
		}
		clear(d.items[n-k:])
		d.items = d.items[:n-k]
		d.mu.Unlock()
		s.hits++
		s.mu.Unlock()
		return top.v
	}
	d.mu.Unlock()
	s.mu.Unlock()
	// Steal from the other shards, as sync.Pool does. No lock is held
	// here, so waiting on another shard's lock cannot deadlock.
	if v, ok := p.steal(s); ok {
		return v
	}
	s.mu.Lock()
	s.misses++
	s.mu.Unlock()
	if p.newFn == nil {
		var zero T
		return zero
	}
	return p.newFn()
}

// Put offers v back to the pool. The pool keeps it unless it is closed,
// full, or v is larger than [WithMaxSize]; a refused object goes to the
// [WithDestroy] hook. The caller must not use v after Put.
func (p *Pool[T]) Put(v T) {
	size := 0
	if p.sizeFn != nil {
		size = p.sizeFn(v)
		if ms := p.maxSize.Load(); ms > 0 && int64(size) > ms {
			s := p.shard()
			s.mu.Lock()
			s.puts++
			s.oversized++
			s.mu.Unlock()
			p.destroyOne(v)
			return
		}
	}
	if p.reset != nil {
		p.reset(v)
	}
	s := p.shard()
	s.mu.Lock()
	s.puts++
	if p.closed.Load() {
		s.closed++
		s.mu.Unlock()
		p.destroyOne(v)
		return
	}
	if len(s.items) < p.shardCap {
		if s.items == nil {
			s.items = make([]item[T], 0, p.shardCap)
		}
		s.items = append(s.items, item[T]{v: v, stamp: p.clock.Load(), size: size})
		s.idleBytes += int64(size)
		s.mu.Unlock()
	} else if !p.spill(s, v, size) {
		s.mu.Unlock()
		if !p.place(s, v, size) {
			s.mu.Lock()
			s.full++
			s.mu.Unlock()
			p.destroyOne(v)
			return
		}
	}
	// Checked after the push: a sweep that disarms stores armed=false
	// before it scans, so either it sees this object or we see false.
	if !p.armed.Load() {
		p.arm()
	}
}

// spill runs with s locked and full: it moves the older half of s to the
// depot and pushes v, or puts v straight into the depot when shards hold
// nothing. It reports false, with s still locked, when there is no room.
// On true it has unlocked s.
func (p *Pool[T]) spill(s *shard[T], v T, size int) bool {
	d := &p.depot
	d.mu.Lock()
	room := d.cap - len(d.items)
	if room <= 0 {
		d.mu.Unlock()
		return false
	}
	stamp := p.clock.Load()
	if p.shardCap == 0 {
		d.items = append(d.items, item[T]{v: v, stamp: stamp, size: size})
		d.idleBytes += int64(size)
		d.mu.Unlock()
		s.mu.Unlock()
		return true
	}
	m := min(room, max(1, len(s.items)/2))
	for _, it := range s.items[:m] {
		d.items = append(d.items, it)
		d.idleBytes += int64(it.size)
		s.idleBytes -= int64(it.size)
	}
	d.mu.Unlock()
	n := copy(s.items, s.items[m:])
	clear(s.items[n:])
	s.items = append(s.items[:n], item[T]{v: v, stamp: stamp, size: size})
	s.idleBytes += int64(size)
	s.mu.Unlock()
	return true
}

// others calls f on each shard but s, in order from s, until f is true.
func (p *Pool[T]) others(s *shard[T], f func(o *shard[T]) bool) bool {
	n := len(p.shards)
	if n == 1 {
		return false
	}
	i := 0
	for ; &p.shards[i] != s; i++ {
	}
	for j := 1; j < n; j++ {
		if f(&p.shards[(i+j)&p.mask]) {
			return true
		}
	}
	return false
}

// steal takes the newest idle object from another shard.
func (p *Pool[T]) steal(s *shard[T]) (v T, ok bool) {
	ok = p.others(s, func(o *shard[T]) bool {
		o.mu.Lock()
		n := len(o.items)
		if n == 0 {
			o.mu.Unlock()
			return false
		}
		it := &o.items[n-1]
		v = it.v
		o.idleBytes -= int64(it.size)
		*it = item[T]{}
		o.items = o.items[:n-1]
		o.hits++
		o.mu.Unlock()
		return true
	})
	return v, ok
}

// place pushes v onto another shard with room, when its own shard and
// the depot are full, so the whole idle bound is usable from one P. Like
// steal it runs with no lock held.
func (p *Pool[T]) place(s *shard[T], v T, size int) bool {
	if p.shardCap == 0 {
		return false
	}
	return p.others(s, func(o *shard[T]) bool {
		o.mu.Lock()
		if len(o.items) >= p.shardCap || p.closed.Load() {
			o.mu.Unlock()
			return false
		}
		if o.items == nil {
			o.items = make([]item[T], 0, p.shardCap)
		}
		o.items = append(o.items, item[T]{v: v, stamp: p.clock.Load(), size: size})
		o.idleBytes += int64(size)
		o.mu.Unlock()
		return true
	})
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
	return p.drain(func(c *counters, n int) { c.dropt += uint64(n) })
}

// drain empties every shard and the depot, counts with count, and destroys
// what it took outside the locks.
func (p *Pool[T]) drain(count func(*counters, int)) int {
	var victims []T
	take := func(items []item[T], c *counters) []item[T] {
		for i := range items {
			if p.destroy != nil {
				victims = append(victims, items[i].v)
			}
		}
		count(c, len(items))
		c.idleBytes = 0
		clear(items)
		return items[:0]
	}
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.items = take(s.items, &s.counters)
		s.mu.Unlock()
	}
	d := &p.depot
	d.mu.Lock()
	n += len(d.items)
	d.items = take(d.items, &d.counters)
	d.mu.Unlock()
	for _, v := range victims {
		p.destroy(v)
	}
	return n
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
	n := p.drain(func(c *counters, n int) { c.closed += uint64(n) })
	p.sweepMu.Unlock()
	if p.group != nil {
		p.group.Remove(p)
	}
	if p.logger != nil {
		p.logger.Debug("pool: closed", "pool", p.name, "destroyed", n)
	}
}

// Stats returns a snapshot of the pool's counters. It locks each shard
// briefly; call it at scrape rate, not per request. Safe for concurrent
// use.
func (p *Pool[T]) Stats() Stats {
	var c counters
	idle := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		c.add(&s.counters)
		idle += len(s.items)
		s.mu.Unlock()
	}
	d := &p.depot
	d.mu.Lock()
	c.add(&d.counters)
	idle += len(d.items)
	d.mu.Unlock()
	st := Stats{
		Gets:           c.hits + c.misses,
		Hits:           c.hits,
		Puts:           c.puts,
		DropsFull:      c.full,
		DropsOversized: c.oversized,
		DropsClosed:    c.closed,
		DropsPressure:  c.dropt,
		Expired:        c.expired,
		Idle:           idle,
		IdleBytes:      c.idleBytes,
		MaxIdle:        p.maxIdle,
		TTL:            p.ttl,
		Closed:         p.closed.Load(),
	}
	if p.newFn != nil {
		st.News = c.misses
	}
	return st
}

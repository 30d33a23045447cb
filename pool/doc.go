// Package pool provides typed object pools and buffer pools that give
// memory back: idle objects expire after a TTL even when no garbage
// collection runs, the idle set has a hard bound, oversized objects are
// refused, and every pool reports what it did.
//
// [Pool] is the typed, bounded counterpart of sync.Pool; [Buffers] keeps
// byte slices and *bytes.Buffer values in power-of-two size classes on
// top of it; [Group] lets one memory-pressure signal empty many pools;
// [NewCollector] exports a pool's [Stats] to Prometheus.
//
// # Why not sync.Pool
//
// sync.Pool is very fast, but what a burst puts in it stays reachable
// until two garbage collections have run, and an idle service may run one
// only every two minutes (the forced GC), so a traffic spike or a rolling
// update leaves hundreds of MiB parked. It has no size bound, cannot
// refuse the one buffer that grew to 32 MiB, cannot be drained on
// shutdown, has no metrics, and stores any, so a Put of a non-pointer
// value allocates.
//
// # Moving from sync.Pool
//
// Replace
//
//	var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
//	b := bufs.Get().(*bytes.Buffer)
//	defer bufs.Put(b)
//
// with
//
//	var bufs = pool.New(func() *bytes.Buffer { return new(bytes.Buffer) },
//		pool.WithReset((*bytes.Buffer).Reset))
//	b := bufs.Get()
//	defer bufs.Put(b)
//
// What changes for you:
//
//   - Objects are typed: no type assertion, and T need not be a pointer.
//   - Idle objects are dropped after the TTL ([WithTTL], default one
//     minute), at an idle age between TTL and 1.25×TTL, by a timer; GC
//     plays no part. A sync.Pool drops whatever stays idle across two GCs
//     instead, so under a steady load with frequent GCs a Pool keeps its
//     objects where sync.Pool would churn, and in an idle process it lets
//     them go where sync.Pool would hold them.
//   - The idle set is bounded ([WithMaxIdle], default 1024). Past the
//     bound Put drops the object (and calls [WithDestroy]'s hook) rather
//     than keep it; with sync.Pool it would be kept until the next GCs.
//   - Put can refuse oversized objects ([WithSize], [WithMaxSize]) and
//     runs a reset hook ([WithReset]) for you.
//   - [Pool.Close] drains the pool; Put after Close destroys; Get after
//     Close still works (it calls the constructor).
//   - The bound is per pool, not per P: a Get finds an object Put on
//     another P (it steals, as sync.Pool does).
//   - A Get calls the constructor only when no object stayed idle in the
//     pool, untaken by other Gets, all through that Get. So N concurrent
//     Gets on a pool holding N idle objects never allocate, unless
//     objects are dropped meanwhile (TTL, DropIdle, Close). sync.Pool promises less: its Get "may
//     choose to ignore the pool and treat it as empty". An object Put
//     while a Get runs may or may not be seen by it.
//
// What it costs: sync.Pool's fast path does no atomic read-modify-write
// at all (the runtime clears it during a stop-the-world GC phase, which
// no package outside the runtime can do); a Pool's fast path does one
// compare-and-swap per Get and one per Put, so that the TTL sweep can take
// idle objects away concurrently. That CAS is the whole gap: see
// bench/README.md for the ratios against sync.Pool, a typed wrapper, a
// mutex+slice and a channel, at 1 to 16 threads. Steady-state Get and Put
// do not allocate. Each shard costs about 500 bytes plus sixteen T
// values, and the pool has one shard per P at New time.
//
// # Design
//
// Each P has a shard: sixteen cells whose state (full, claimed, and the
// hit and put counters) is one atomic word, plus a mutex-guarded overflow
// stack. The goroutine running on the P is pinned to it for the few
// instructions of a Get or Put, with the runtime's procPin, the function
// sync.Pool uses, reached by a go:linkname that the runtime keeps for
// outside packages (go.dev/issue/67401). While pinned it is the only one
// that writes free cells, and it publishes or takes a cell with one CAS
// on the word, which also counts the put or hit: no lock, no shared cache
// line. The sweeper, Stats and Gets from other Ps only claim full cells.
//
// A full shard spills the older half of its cells into its overflow stack
// and an empty one refills a batch from it; a Get that finds its own P
// empty steals from other shards, so objects Put on one P reach Gets on
// another. The cells' and stacks' capacities add up to exactly
// [WithMaxIdle], which makes the bound structural: it holds at every
// instant with no global counter. (One P alone reaches its own cells and
// all the stacks, not other Ps' cells.)
//
// Refills, spills, and the claims of Stats and the sweep take objects out
// of every place a Get looks for a moment. Each announces itself on a
// per-shard word first and ends the announcement once the objects are
// back in place, and a Get that scanned everything and found nothing
// trusts that scan only if no such move overlapped it; otherwise it
// yields and scans again. Waiting for a move in flight is bounded by its
// mover running again (a move runs no user code and waits for no Get);
// if instead new moves keep beginning through 64 of its scans, it calls
// the constructor. That is how a Get does not miss an idle object in
// transit, nor spin while others keep the pool moving. The fast paths do not touch these words; a refill or spill
// adds two atomic adds on a word next to the overflow mutex it takes
// anyway, and a Get that finds the pool empty reads each shard's word
// twice.
//
// Race builds, and builds with -tags gotune_nolinkname, replace pinning
// with a per-shard mutex chosen by a goroutine-stack hash: the race
// detector cannot see that two pinned sections on one P never overlap,
// and the tag is a way out should the runtime ever drop procPin.
//
// # Expiry without a goroutine
//
// The TTL sweep is a time.AfterFunc timer. Put arms it when the pool goes
// from empty to holding something; each sweep drops what expired and
// re-arms only while idle objects remain; Close stops it. An idle or
// closed pool has no timer and no goroutine. Objects remember when they
// were Put with a coarse clock the sweep advances, so Put never reads the
// time itself; a sweep expires an object only once a sweep recorded after
// its Put is a TTL old, so a sweep that runs late (a paused process, a
// timer firing late) never expires objects Put just before it early, it
// keeps them a TTL longer.
//
// Without a [WithDestroy] hook a sweep, DropIdle or Close forgets each
// object under the pool's lock: once [Pool.Stats] no longer counts it,
// the pool holds no reference and the next GC frees it. With a hook the
// dropped objects are handed to it after the lock is let go, and are
// freed once it has seen them all.
//
// # Memory pressure
//
// [Pool.DropIdle] and [Buffers.DropIdle] drop every idle object at once.
// A [Group] collects pools; [DropOn] turns it into a callback for a graded
// level of any integer kind, so gcguard's plugs in without an adapter:
//
//	guard.OnLevel(pool.DropOn(group, gcguard.LevelElevated))
//
// and g.Relieve (func() bool) and g.DropIdle (func() int) fit the other
// usual shapes. [WithPressure] instead polls a graded level at every sweep,
// with the same shape as netx.WithPressure. [WithReleaseOS] additionally asks the
// runtime to return the freed pages to the OS after a large sweep, so
// RSS falls and not only the heap.
//
// # Hooks
//
// The reset, destroy, size and pressure hooks run outside the pool's
// locks, so they may call the pool's methods, and a panic in one cannot
// leave a lock held or unwind through Close: it is recovered, counted in
// [Stats.HookPanics] (and gotune_pool_hook_panics_total), and logged
// where a logger is set. A Put whose reset or size hook panicked drops its
// object to the destroy hook; a pressure signal that panicked reads as no
// pressure. The constructor given to [New] runs on Get's goroutine, also
// outside the locks; a panic in it reaches Get's caller, since Get has no
// object to return.
//
// # Metrics
//
// NewCollector(p, name) exports gotune_pool_gets_total, _hits_total,
// _news_total, _puts_total, _drops_total{reason}, _expired_total,
// _hook_panics_total, _idle_objects, _idle_bytes and _max_idle_objects,
// labelled name=name, as in every gotune collector; the caller registers
// it.
package pool

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
//     minute), within an eighth of the TTL, by a timer; GC plays no part.
//     A sync.Pool drops everything at every second GC instead, so under
//     a steady load a Pool keeps its objects where sync.Pool would churn.
//   - The idle set is bounded ([WithMaxIdle], default 1024). Past the
//     bound Put drops the object (and calls [WithDestroy]'s hook) rather
//     than keep it; with sync.Pool it would be kept until the next GCs.
//   - Put can refuse oversized objects ([WithSize], [WithMaxSize]) and
//     runs a reset hook ([WithReset]) for you.
//   - [Pool.Close] drains the pool; Put after Close destroys; Get after
//     Close still works (it calls the constructor).
//   - The bound is per pool, not per P: a Get finds an object Put on
//     another P (through a shared depot, then by stealing), as sync.Pool
//     does.
//
// What it costs: a Get+Put pair takes one uncontended mutex round trip on
// a shard chosen by the current P, where sync.Pool takes none; in the
// benchmarks (bench/README.md) that is within the 2× budget of
// sync.Pool at 1 and 2 threads, allocation-free. Each Put reads the clock
// through an atomic load, not a system call. A shard costs about 250 bytes plus
// its slots, and the pool has one shard per P at New time.
//
// # Design
//
// Each P has a shard: a small LIFO stack under its own mutex, on its own
// cache lines, so the mutex is uncontended and the counters in [Stats]
// are plain increments under it (no shared cache line on the hot path).
// A full shard spills its older half into a shared depot and an empty
// one refills a batch from it, so most operations touch only their
// shard. The shards' capacities and the depot's add up to exactly
// [WithMaxIdle], which makes the bound structural: it holds at every
// instant with no global counter.
//
// The current P's id comes from the runtime's procPin, the function
// sync.Pool uses, reached by a go:linkname that the runtime keeps for
// outside packages (go.dev/issue/67401). The id only picks a shard; the
// shard's mutex does the rest, so correctness never depends on it. Build
// with -tags gotune_nolinkname to pick shards by a goroutine-stack hash
// instead.
//
// # Expiry without a goroutine
//
// The TTL sweep is a time.AfterFunc timer. Put arms it when the pool goes
// from empty to holding something; each sweep drops what expired and
// re-arms only while idle objects remain; Close stops it. An idle or
// closed pool has no timer and no goroutine. Objects remember when they
// were Put with a coarse clock the sweep advances, so Put never reads the
// time itself. [WithClock] injects the clock for tests.
//
// # Memory pressure
//
// [Pool.DropIdle] and [Buffers.DropIdle] drop every idle object at once.
// A [Group] collects pools and offers method values that fit the usual
// callback shapes: g.OnPressure (func(level string)), g.Relieve
// (func() bool), g.DropIdle (func() int). [WithPressure] instead polls a
// func() bool at every sweep. [WithReleaseOS] additionally asks the
// runtime to return the freed pages to the OS after a large sweep, so
// RSS falls and not only the heap.
//
// # Metrics
//
// [NewCollector] exports gotune_pool_gets_total, _hits_total,
// _news_total, _puts_total, _drops_total{reason}, _expired_total,
// _idle_objects, _idle_bytes and _max_idle_objects, labelled pool=name.
package pool

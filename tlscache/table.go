package tlscache

import (
	"crypto/tls"
	"hash/maphash"
	"math/bits"
	"sync/atomic"
	"time"
)

// entry is one cached certificate as the writers (holding Cache.mu) see
// it. Readers never touch an entry: they read the item the table holds
// for it.
type entry struct {
	key        string
	cert       *tls.Certificate
	serveUntil int64  // see item.serveUntil
	idx        int32  // index in table.visited, unique among live entries
	loadName   string // name given to the loader; refreshes reuse it
	prev, next *entry // SIEVE queue, head is newest
	heapIdx    int
	due        time.Time // min(refreshAt, expireAt) while no refresh runs
	refreshAt  time.Time
	expireAt   time.Time
	refreshing bool
	refreshErr int // consecutive refresh failures, for backoff
}

// item is what the hit path reads: everything it needs sits in the
// bucket's own memory, so a hit costs the slot, the bucket, the key bytes
// and the visited flag, and never the entry.
type item struct {
	key  string
	cert *tls.Certificate
	// serveUntil is the first second (Unix time on the cache's clock) at
	// which the hit path no longer serves cert: its NotAfter less
	// clockMargin. Hits compare it with Cache.now.
	serveUntil int64
	idx        int32
	e          *entry // for writers
}

// bucket is an immutable list of the items whose keys hash to one slot.
// Writers publish a modified copy. At the table's load factor (at most one
// entry per slot on average) buckets hold one or two items, which live in
// inline, in the bucket's own allocation.
type bucket struct {
	items  []item
	inline [2]item
}

func newBucket(n int) *bucket {
	b := &bucket{}
	if n <= len(b.inline) {
		b.items = b.inline[:n:n]
	} else {
		b.items = make([]item, n)
	}
	return b
}

// table is a fixed-size hash table read without locks: a slot is an atomic
// pointer to an immutable bucket, and writers (under Cache.mu) copy the
// bucket they change. The table never grows: the cache bounds its entries,
// so the slot count is fixed at construction, which spares readers any
// resize protocol. The seed is random per table, so clients choosing SNI
// cannot aim names at one slot.
//
// visited holds SIEVE's reference bit per entry, densely, so that the bit
// a hit reads is usually in cache; hits set it only when it is clear, so a
// hot entry costs readers a shared load, not a contended store.
type table struct {
	seed    maphash.Seed
	mask    uint64
	slots   []atomic.Pointer[bucket]
	visited []atomic.Uint32
	free    []int32 // unused visited indices
}

func newTable(maxEntries int) *table {
	n := 1 << bits.Len(uint(maxEntries-1))
	t := &table{
		seed:    maphash.MakeSeed(),
		mask:    uint64(n - 1),
		slots:   make([]atomic.Pointer[bucket], n),
		visited: make([]atomic.Uint32, maxEntries),
		free:    make([]int32, maxEntries),
	}
	for i := range t.free {
		t.free[i] = int32(maxEntries - 1 - i)
	}
	return t
}

func (t *table) slot(key string) *atomic.Pointer[bucket] {
	return &t.slots[maphash.String(t.seed, key)&t.mask]
}

// get returns the item for key, or nil, and marks it visited. It takes no
// lock and does not allocate.
func (t *table) get(key string) *item {
	b := t.slot(key).Load()
	if b == nil {
		return nil
	}
	for i := range b.items {
		if it := &b.items[i]; it.key == key {
			if v := &t.visited[it.idx]; v.Load() == 0 {
				v.Store(1)
			}
			return it
		}
	}
	return nil
}

// find returns the entry for key without marking it. Callers hold Cache.mu.
func (t *table) find(key string) *entry {
	if b := t.slot(key).Load(); b != nil {
		for i := range b.items {
			if b.items[i].key == key {
				return b.items[i].e
			}
		}
	}
	return nil
}

// put adds e, which must not be present, giving it a visited index. The
// caller ensures there is room. Callers hold Cache.mu.
func (t *table) put(e *entry) {
	e.idx = t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.visited[e.idx].Store(0)
	s := t.slot(e.key)
	var old []item
	if b := s.Load(); b != nil {
		old = b.items
	}
	nb := newBucket(len(old) + 1)
	copy(nb.items, old)
	nb.items[len(old)] = item{key: e.key, cert: e.cert, serveUntil: e.serveUntil, idx: e.idx, e: e}
	s.Store(nb)
}

// update republishes e's bucket after e.cert or e.serveUntil changed.
// Callers hold Cache.mu.
func (t *table) update(e *entry) {
	s := t.slot(e.key)
	b := s.Load()
	if b == nil {
		return
	}
	nb := newBucket(len(b.items))
	copy(nb.items, b.items)
	for i := range nb.items {
		if nb.items[i].e == e {
			nb.items[i].cert = e.cert
			nb.items[i].serveUntil = e.serveUntil
		}
	}
	s.Store(nb)
}

// remove deletes e if present and frees its visited index. Callers hold
// Cache.mu.
func (t *table) remove(e *entry) {
	s := t.slot(e.key)
	b := s.Load()
	if b == nil {
		return
	}
	i := -1
	for j := range b.items {
		if b.items[j].e == e {
			i = j
		}
	}
	if i < 0 {
		return
	}
	t.free = append(t.free, e.idx)
	if len(b.items) == 1 {
		s.Store(nil)
		return
	}
	nb := newBucket(len(b.items) - 1)
	copy(nb.items, b.items[:i])
	copy(nb.items[i:], b.items[i+1:])
	s.Store(nb)
}

// isVisited and clearVisited serve SIEVE's hand. Callers hold Cache.mu.
func (t *table) isVisited(e *entry) bool { return t.visited[e.idx].Load() != 0 }
func (t *table) clearVisited(e *entry)   { t.visited[e.idx].Store(0) }

// clear drops every entry. Callers hold Cache.mu.
func (t *table) clear() {
	for i := range t.slots {
		t.slots[i].Store(nil)
	}
}

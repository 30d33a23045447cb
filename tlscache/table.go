package tlscache

import (
	"crypto/tls"
	"hash/maphash"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// entry is one cached certificate. key and the certificate pointer are read
// by the lock-free hit path; every other field is guarded by Cache.mu.
type entry struct {
	key  string
	cert atomic.Pointer[tls.Certificate]
	// visited is SIEVE's reference bit. Hits set it only when it is clear,
	// so a hot entry costs readers one shared load, not a contended store.
	visited atomic.Bool

	loadName   string // name given to the loader; refreshes reuse it
	prev, next *entry // SIEVE queue, head is newest
	heapIdx    int
	due        time.Time // min(refreshAt, expireAt) while no refresh runs
	refreshAt  time.Time
	expireAt   time.Time
	refreshing bool
	refreshErr int // consecutive refresh failures, for backoff
}

// bucket is an immutable list of the entries whose keys hash to one slot.
// Writers publish a modified copy. Buckets hold one or two entries at the
// table's load factor, so they live in inline, which keeps the list in the
// bucket's own cache line and saves the hit path a dependent load.
type bucket struct {
	entries []*entry
	inline  [3]*entry
}

func newBucket(n int) *bucket {
	b := &bucket{}
	if n <= len(b.inline) {
		b.entries = b.inline[:n:n]
	} else {
		b.entries = make([]*entry, n)
	}
	return b
}

// table is a fixed-size hash table read without locks: a slot is an atomic
// pointer to an immutable bucket. Writers (under Cache.mu) copy the bucket
// they change. The table never grows: the cache bounds its entries, so the
// slot count is fixed at construction, which keeps readers free of resize
// protocols.
type table struct {
	seed  maphash.Seed
	shift uint
	slots []atomic.Pointer[bucket]
}

func newTable(maxEntries int) *table {
	n := 1
	for n < maxEntries {
		n <<= 1
	}
	return &table{
		seed:  maphash.MakeSeed(),
		shift: uint(64 - bits.TrailingZeros(uint(n))),
		slots: make([]atomic.Pointer[bucket], n),
	}
}

func (t *table) slot(key string) *atomic.Pointer[bucket] {
	// Fibonacci hashing spreads maphash's output over the top bits; shift
	// is 64 for a one-slot table, which Go defines as yielding 0.
	h := maphash.String(t.seed, key) * 0x9E3779B97F4A7C15
	return &t.slots[h>>t.shift]
}

// get returns the entry for key, or nil. It takes no lock and does not
// allocate.
func (t *table) get(key string) *entry {
	b := t.slot(key).Load()
	if b == nil {
		return nil
	}
	for _, e := range b.entries {
		if e.key == key {
			return e
		}
	}
	return nil
}

// put adds e, which must not be present. Callers hold Cache.mu.
func (t *table) put(e *entry) {
	s := t.slot(e.key)
	var old []*entry
	if b := s.Load(); b != nil {
		old = b.entries
	}
	nb := newBucket(len(old) + 1)
	copy(nb.entries, old)
	nb.entries[len(old)] = e
	s.Store(nb)
}

// remove deletes e if present. Callers hold Cache.mu.
func (t *table) remove(e *entry) {
	s := t.slot(e.key)
	b := s.Load()
	if b == nil {
		return
	}
	i := slices.Index(b.entries, e)
	if i < 0 {
		return
	}
	if len(b.entries) == 1 {
		s.Store(nil)
		return
	}
	nb := newBucket(len(b.entries) - 1)
	copy(nb.entries, b.entries[:i])
	copy(nb.entries[i:], b.entries[i+1:])
	s.Store(nb)
}

// clear drops every entry. Callers hold Cache.mu.
func (t *table) clear() {
	for i := range t.slots {
		t.slots[i].Store(nil)
	}
}

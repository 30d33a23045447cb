// Package lru provides a small generic least-recently-used map, the one
// the module's bounded caches share.
//
// Entries live in one slice that grows to the capacity and is then reused
// slot for slot, linked into recency order by index, so a Cache allocates
// no list element per entry (container/list allocates two objects per
// insertion: the element and the boxed value) and, once full, an insertion
// that evicts allocates nothing beyond what the map itself may need.
package lru

import "iter"

// Cache is a map from K to V holding at most a fixed number of entries;
// adding one more evicts the least recently used. The zero value is not
// usable: call [New]. A Cache is not safe for concurrent use: callers hold
// their own lock, as they must around whatever they do with the value.
type Cache[K comparable, V any] struct {
	m          map[K]int32 // index into nodes
	nodes      []node[K, V]
	head, tail int32 // most and least recently used; -1 when empty
	freed      int32 // slots emptied by Remove, linked by next; -1 when none
	capacity   int
}

type node[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32 // towards head and towards tail; -1 at the ends
}

// maxCapacity keeps node indices within int32.
const maxCapacity = 1<<31 - 1

// New returns a cache holding at most capacity entries. It panics if
// capacity is not in [1, 2³¹−1]: the caller's constructor validates the
// bound it was given.
func New[K comparable, V any](capacity int) *Cache[K, V] {
	if capacity < 1 || capacity > maxCapacity {
		panic("lru: New with a capacity out of range")
	}
	return &Cache[K, V]{m: make(map[K]int32), head: -1, tail: -1, freed: -1, capacity: capacity}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.m) }

// Cap returns the capacity given to New.
func (c *Cache[K, V]) Cap() int { return c.capacity }

// Get returns the value for k and makes it the most recently used.
func (c *Cache[K, V]) Get(k K) (v V, ok bool) {
	i, ok := c.m[k]
	if !ok {
		return v, false
	}
	c.moveToFront(i)
	return c.nodes[i].val, true
}

// Peek returns the value for k without changing its recency.
func (c *Cache[K, V]) Peek(k K) (v V, ok bool) {
	i, ok := c.m[k]
	if !ok {
		return v, false
	}
	return c.nodes[i].val, true
}

// Add sets the value for k and makes it the most recently used. If k was
// absent and the cache was full, the least recently used entry makes room,
// and Add returns it with evicted true.
func (c *Cache[K, V]) Add(k K, v V) (oldKey K, oldVal V, evicted bool) {
	if i, ok := c.m[k]; ok {
		c.nodes[i].val = v
		c.moveToFront(i)
		return oldKey, oldVal, false
	}
	var i int32
	switch {
	case c.freed >= 0:
		i = c.freed
		c.freed = c.nodes[i].next
	case len(c.nodes) < c.capacity:
		c.nodes = append(c.nodes, node[K, V]{})
		i = int32(len(c.nodes) - 1)
	default:
		i = c.tail
		n := &c.nodes[i]
		oldKey, oldVal, evicted = n.key, n.val, true
		delete(c.m, n.key)
		c.unlink(i)
	}
	c.nodes[i] = node[K, V]{key: k, val: v, prev: -1, next: -1}
	c.m[k] = i
	c.pushFront(i)
	return oldKey, oldVal, evicted
}

// Remove deletes k and reports whether it was present.
func (c *Cache[K, V]) Remove(k K) bool {
	i, ok := c.m[k]
	if !ok {
		return false
	}
	delete(c.m, k)
	c.unlink(i)
	// Free the slot, dropping what it references.
	c.nodes[i] = node[K, V]{prev: -1, next: c.freed}
	c.freed = i
	return true
}

// Oldest returns the least recently used entry without changing its
// recency; ok is false when the cache is empty.
func (c *Cache[K, V]) Oldest() (k K, v V, ok bool) {
	if c.tail < 0 {
		return k, v, false
	}
	n := &c.nodes[c.tail]
	return n.key, n.val, true
}

// All yields the entries from the most to the least recently used. The
// cache must not be changed during the iteration.
func (c *Cache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i := c.head; i >= 0; i = c.nodes[i].next {
			if !yield(c.nodes[i].key, c.nodes[i].val) {
				return
			}
		}
	}
}

// Clear removes every entry and lets the slice's memory go.
func (c *Cache[K, V]) Clear() {
	clear(c.m)
	c.nodes = nil
	c.head, c.tail, c.freed = -1, -1, -1
}

func (c *Cache[K, V]) pushFront(i int32) {
	n := &c.nodes[i]
	n.prev, n.next = -1, c.head
	if c.head >= 0 {
		c.nodes[c.head].prev = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
}

func (c *Cache[K, V]) unlink(i int32) {
	n := &c.nodes[i]
	if n.prev >= 0 {
		c.nodes[n.prev].next = n.next
	} else {
		c.head = n.next
	}
	if n.next >= 0 {
		c.nodes[n.next].prev = n.prev
	} else {
		c.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (c *Cache[K, V]) moveToFront(i int32) {
	if c.head == i {
		return
	}
	c.unlink(i)
	c.pushFront(i)
}

package pool

import "sync"

// A Dropper is anything whose idle objects can be dropped on demand:
// [*Pool], [*Buffers] and [*Group] are Droppers.
type Dropper interface {
	DropIdle() int
}

// A Group is a set of pools that one memory-pressure signal can empty at
// once. [DropOn] makes it a callback for a graded level (gcguard's
// Guard.OnLevel); its methods are plain method values that fit the other
// common callback shapes: g.Relieve for a func() bool, g.DropIdle for a
// func() int.
//
// The zero value is an empty group ready to use. A Group holds strong
// references to its members until they are removed or closed. Safe for
// concurrent use.
type Group struct {
	mu      sync.Mutex
	members []Dropper
}

// Add adds pools to the group. [WithGroup] does this at construction.
func (g *Group) Add(ds ...Dropper) {
	g.mu.Lock()
	g.members = append(g.members, ds...)
	g.mu.Unlock()
}

// Remove removes d from the group, if present. Close does this for pools
// made with [WithGroup].
func (g *Group) Remove(d Dropper) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range g.members {
		if m == d {
			g.members = append(g.members[:i], g.members[i+1:]...)
			return
		}
	}
}

// Len returns the number of members.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// DropIdle drops the idle objects of every member and returns the total.
func (g *Group) DropIdle() int {
	g.mu.Lock()
	ms := append([]Dropper(nil), g.members...)
	g.mu.Unlock()
	n := 0
	for _, m := range ms {
		n += m.DropIdle()
	}
	return n
}

// DropOn returns a callback that drops every member of g's idle objects
// when it is called with a level at or above at, and does nothing below.
// It takes any integer-kind level, so a graded pressure signal plugs in
// without an adapter; with gcguard:
//
//	guard.OnLevel(pool.DropOn(group, gcguard.LevelElevated))
//
// The callback is safe for concurrent use.
func DropOn[L ~int | ~int32 | ~int64](g *Group, at L) func(L) {
	return func(l L) {
		if l >= at {
			g.DropIdle()
		}
	}
}

// Relieve drops every member's idle objects and reports whether there
// were any. Pass g.Relieve wherever a func() bool callback is accepted.
func (g *Group) Relieve() bool {
	return g.DropIdle() > 0
}

package tlscache

import (
	"container/list"
	"crypto/tls"
	"sync"
)

// DefaultSessionCapacity is the capacity [NewSessionCache] uses for a
// capacity <= 0, the same as [tls.NewLRUClientSessionCache].
const DefaultSessionCapacity = 64

// SessionCache is an LRU [tls.ClientSessionCache] that counts hits and
// misses, so a client can see whether TLS session resumption works. Set it
// as [tls.Config.ClientSessionCache]. It is safe for concurrent use.
//
// The session cache is consulted once per new client connection, not per
// request, so a mutex suffices here, unlike [Cache]'s per-handshake path.
type SessionCache struct {
	mu       sync.Mutex
	capacity int
	m        map[string]*list.Element
	lru      list.List // of *sessionEntry, front is most recent
	st       SessionStats
}

type sessionEntry struct {
	key string
	cs  *tls.ClientSessionState
}

var _ tls.ClientSessionCache = (*SessionCache)(nil)

// NewSessionCache returns a session cache holding at most capacity
// sessions (DefaultSessionCapacity if capacity <= 0).
func NewSessionCache(capacity int) *SessionCache {
	if capacity <= 0 {
		capacity = DefaultSessionCapacity
	}
	s := &SessionCache{capacity: capacity, m: make(map[string]*list.Element)}
	s.st.Capacity = capacity
	return s
}

// Get returns the session stored for sessionKey and counts a hit or miss.
func (s *SessionCache) Get(sessionKey string) (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.m[sessionKey]; ok {
		s.lru.MoveToFront(el)
		s.st.Hits++
		return el.Value.(*sessionEntry).cs, true
	}
	s.st.Misses++
	return nil, false
}

// Put stores cs for sessionKey, evicting the least recently used session
// when full; a nil cs removes the key, as [tls.ClientSessionCache] requires.
func (s *SessionCache) Put(sessionKey string, cs *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.m[sessionKey]
	if cs == nil {
		if ok {
			s.lru.Remove(el)
			delete(s.m, sessionKey)
			s.st.Entries = len(s.m)
		}
		return
	}
	s.st.Puts++
	if ok {
		el.Value.(*sessionEntry).cs = cs
		s.lru.MoveToFront(el)
		return
	}
	if len(s.m) >= s.capacity {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.m, old.Value.(*sessionEntry).key)
		s.st.Evictions++
	}
	s.m[sessionKey] = s.lru.PushFront(&sessionEntry{key: sessionKey, cs: cs})
	s.st.Entries = len(s.m)
}

// Stats returns a snapshot of the session cache's counters. It is safe for
// concurrent use.
func (s *SessionCache) Stats() SessionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// SessionStats is a snapshot of a [SessionCache]. It marshals to JSON.
type SessionStats struct {
	Entries  int `json:"entries"`
	Capacity int `json:"capacity"`
	// Hits counts Gets that found a session (a resumption attempt);
	// Misses those that did not (a full handshake).
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	// Puts counts sessions stored; Evictions those dropped to make room.
	Puts      uint64 `json:"puts"`
	Evictions uint64 `json:"evictions"`
}

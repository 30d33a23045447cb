package tlscache

import (
	"crypto/tls"
	"fmt"
	"math"
	"sync"

	"github.com/gotune/gotune/internal/lru"
)

// DefaultSessionCapacity is the capacity [NewSessionCache] uses for a
// capacity of zero, the same as [tls.NewLRUClientSessionCache].
const DefaultSessionCapacity = 64

// SessionCache is an LRU [tls.ClientSessionCache] that counts hits and
// misses, so a client can see whether TLS session resumption works. Set it
// as [tls.Config.ClientSessionCache]. It is safe for concurrent use.
//
// The session cache is consulted once per new client connection, not per
// request, so a mutex suffices here, unlike [Cache]'s per-handshake path.
type SessionCache struct {
	mu  sync.Mutex
	lru *lru.Cache[string, *tls.ClientSessionState]
	st  SessionStats
}

var _ tls.ClientSessionCache = (*SessionCache)(nil)

// NewSessionCache returns a session cache holding at most capacity
// sessions; zero means [DefaultSessionCapacity]. A session cache cannot be
// switched off (leave [tls.Config.ClientSessionCache] nil for that), and
// NewSessionCache, which returns no error, panics on a negative capacity.
// Memory grows with the sessions held, not with the capacity.
func NewSessionCache(capacity int) *SessionCache {
	if capacity < 0 {
		panic(fmt.Sprintf("tlscache: NewSessionCache(%d): capacity must not be negative (0 means the default)", capacity))
	}
	if capacity == 0 {
		capacity = DefaultSessionCapacity
	}
	capacity = min(capacity, math.MaxInt32) // no more sessions than that fit in memory anyway
	s := &SessionCache{lru: lru.New[string, *tls.ClientSessionState](capacity)}
	s.st.Capacity = capacity
	return s
}

// Get returns the session stored for sessionKey and counts a hit or miss.
func (s *SessionCache) Get(sessionKey string) (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.lru.Get(sessionKey); ok {
		s.st.Hits++
		return cs, true
	}
	s.st.Misses++
	return nil, false
}

// Put stores cs for sessionKey, evicting the least recently used session
// when full; a nil cs removes the key, as [tls.ClientSessionCache] requires.
func (s *SessionCache) Put(sessionKey string, cs *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs == nil {
		if s.lru.Remove(sessionKey) {
			s.st.Entries = s.lru.Len()
		}
		return
	}
	s.st.Puts++
	if _, _, evicted := s.lru.Add(sessionKey, cs); evicted {
		s.st.Evictions++
	}
	s.st.Entries = s.lru.Len()
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

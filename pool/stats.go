package pool

import (
	"fmt"
	"time"
)

// Stats is a snapshot of a pool's counters, as returned by [Pool.Stats] and
// [Buffers.Stats]. Counters are cumulative since New; Idle and IdleBytes
// are the state at the time of the call. It marshals to JSON.
type Stats struct {
	Gets           uint64        `json:"gets"`            // Get calls
	Hits           uint64        `json:"hits"`            // Gets served from the pool
	News           uint64        `json:"news"`            // Gets that called the constructor
	Puts           uint64        `json:"puts"`            // Put calls
	DropsFull      uint64        `json:"drops_full"`      // Puts refused: at the idle bound
	DropsOversized uint64        `json:"drops_oversized"` // Puts refused: larger than WithMaxSize
	DropsClosed    uint64        `json:"drops_closed"`    // Puts after Close, and objects Close drained
	DropsPressure  uint64        `json:"drops_pressure"`  // idle objects dropped by DropIdle or WithPressure
	Expired        uint64        `json:"expired"`         // idle objects dropped by the TTL sweep
	HookPanics     uint64        `json:"hook_panics"`     // reset, destroy, size or pressure hook calls that panicked, each recovered (a Put whose reset or size hook panicked drops its object)
	Idle           int           `json:"idle"`            // objects idle now
	IdleBytes      int64         `json:"idle_bytes"`      // their size by WithSize (0 without it)
	MaxIdle        int           `json:"max_idle"`        // the idle bound
	TTL            time.Duration `json:"ttl_ns"`          // the idle TTL ([NoTTL]: none)
	Closed         bool          `json:"closed"`
}

func (s *Stats) add(o Stats) {
	s.Gets += o.Gets
	s.Hits += o.Hits
	s.News += o.News
	s.Puts += o.Puts
	s.DropsFull += o.DropsFull
	s.DropsOversized += o.DropsOversized
	s.DropsClosed += o.DropsClosed
	s.DropsPressure += o.DropsPressure
	s.Expired += o.Expired
	s.HookPanics += o.HookPanics
	s.Idle += o.Idle
	s.IdleBytes += o.IdleBytes
	s.MaxIdle += o.MaxIdle
}

// String formats the snapshot on one line for logs.
func (s Stats) String() string {
	ttl := any(s.TTL)
	if s.TTL < 0 {
		ttl = "none" // NoTTL
	}
	return fmt.Sprintf("gets=%d hits=%d news=%d puts=%d drops(full=%d oversized=%d closed=%d pressure=%d) expired=%d hook_panics=%d idle=%d/%d idle_bytes=%d ttl=%v closed=%v",
		s.Gets, s.Hits, s.News, s.Puts, s.DropsFull, s.DropsOversized, s.DropsClosed, s.DropsPressure,
		s.Expired, s.HookPanics, s.Idle, s.MaxIdle, s.IdleBytes, ttl, s.Closed)
}

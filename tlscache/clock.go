package tlscache

import "time"

// Clock is the source of time for expiry, refresh scheduling and the
// negative cache. [WithClock] replaces the real clock, typically with a fake
// one in tests. Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for fake clocks, in the
	// goroutine that advances time) once d has elapsed, like
	// [time.AfterFunc].
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call made by [Clock.AfterFunc]. [*time.Timer]
// implements it.
type Timer interface {
	// Stop prevents the call if it has not started yet and reports
	// whether it did so, like [time.Timer.Stop].
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

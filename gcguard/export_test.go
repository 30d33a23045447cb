package gcguard

import "time"

// withClock sets the clock the controller reads (time.Now by default).
// It is the tests' seam: the guard's runs read runtime/metrics and a
// cleanup on the GC's goroutine, which testing/synctest's bubbles cannot
// hold, so a fake clock drives the controller here instead.
func withClock(now func() time.Time) Option {
	return optionFunc(func(o *options) error { o.now = now; return nil })
}

package tlscache

import "time"

// Internals reached by the external tests.
var (
	Normalize       = normalize
	WildcardKey     = wildcardKey
	ValidHostname   = validHostname
	CheckServerName = checkServerName
	QuoteName       = quoteName
)

// WithNow replaces the cache's reading of the time (time.Now), so a test
// in a synctest bubble can move the cache's clock without the bubble's
// timers, as a paused VM does. Timers stay the bubble's.
func WithNow(now func() time.Time) Option {
	return optionFunc(func(c *config) error { c.now = now; return nil })
}

package netx

// ParseRetryAfter exposes parseRetryAfter to the tests.
var ParseRetryAfter = parseRetryAfter

// SetMaxRateKeys lowers the number of per-key buckets g keeps, so a test
// can see the least recently used one go.
func SetMaxRateKeys(g *Guard, n int) { g.rate.maxKeys = n }

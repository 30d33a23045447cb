//go:build race

package tlscache_test

// raceEnabled: the race detector slows the floods tenfold, so they send fewer names.
const raceEnabled = true

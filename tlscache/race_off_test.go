//go:build !race

package tlscache_test

const raceEnabled = false

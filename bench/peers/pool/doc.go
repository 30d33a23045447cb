// Package poolpeers compares pool.Pool with jackc/puddle/v2, the bounded
// pool users reach for, and with sync.Pool, in the same run: Get+Put at 1
// and 2 threads (-cpu 1,2) and the idle memory a burst leaves behind.
// The results are in bench/README.md.
package poolpeers

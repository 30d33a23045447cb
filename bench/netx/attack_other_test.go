//go:build !linux

package netxbench

// runChild: the attack harness needs Linux (RLIMIT_NOFILE, /proc).
func runChild(string) int { return 1 }

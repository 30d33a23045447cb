//go:build !linux

package netx_test

import "fmt"

// runChild is only used by the Linux slowloris test.
func runChild(mode string) int {
	fmt.Println("child mode", mode, "unsupported on this platform")
	return 2
}

//go:build !linux

package numa

// defaultRoot is empty where there is no /sys/devices/system/node to read:
// Discover needs WithRoot there.
const defaultRoot = ""

// Pin is Linux-only; elsewhere it returns [ErrUnsupported] and changes
// nothing. See the Linux documentation of Pin.
func Pin(node int, opts ...PinOption) (undo func() error, err error) {
	return nil, ErrUnsupported
}

// Getcpu is Linux-only; elsewhere it returns [ErrUnsupported].
func Getcpu() (cpu, node int, err error) {
	return -1, -1, ErrUnsupported
}

// lockAffinity is Linux-only; see worker.go.
func lockAffinity(cpus []int) (eff []int, restore func() error, err error) {
	return nil, nil, ErrUnsupported
}

//go:build unix

package fsread

import "syscall"

// O_NONBLOCK makes an open of a FIFO return at once (the stat before it
// refuses FIFOs; this covers one swapped in between), and O_NOCTTY keeps
// a terminal from becoming the process's controlling terminal.
const (
	openFileFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
	openDirFlags  = syscall.O_NONBLOCK | syscall.O_DIRECTORY
)

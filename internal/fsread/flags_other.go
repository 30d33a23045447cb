//go:build !unix

package fsread

// Elsewhere there is no O_NONBLOCK; the stat before the open still refuses
// everything but regular files and directories.
const (
	openFileFlags = 0
	openDirFlags  = 0
)

package cgroup

// SetReadFile replaces the file reader for a test and returns a restore func.
func SetReadFile(f func(root, name string) ([]byte, error)) (restore func()) {
	old := readFile
	readFile = f
	return func() { readFile = old }
}

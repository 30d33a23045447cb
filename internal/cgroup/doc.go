// Package cgroup reads the resource limits that bind the current process
// from a Linux root directory: the CPU bandwidth quota, the effective cpuset,
// the memory maximum, the memory high watermark and the swap limit, on cgroup
// v1, v2 and hybrid hosts.
//
// # Resolution
//
// The process's cgroup comes from proc/self/cgroup and is mapped to a
// directory through proc/self/mountinfo, honouring mounts whose root is not
// "/" (a container that sees only its own subtree) and cgroup namespaces
// (where the process sees itself at "/"). Each controller is looked up
// separately, so a hybrid host that keeps cpu and memory on v1 and mounts an
// empty unified hierarchy beside them is read from the v1 side.
//
// # Ancestors
//
// A parent's limit binds as hard as the leaf's, so every limit is the
// tightest value over the cgroup and its ancestors up to the mount point.
// The leaf's own CPU quota is kept apart in [Limits.LeafCPUQuota], because
// that is what the Go runtime reads.
//
// # Errors
//
// "max", a v1 "unlimited" sentinel, a missing file and an unreadable file
// (EACCES, EPERM) all mean "no limit here". Malformed content is an error
// that names the file and quotes (the first 64 bytes of) the value; so is a
// memory limit below [MinMemory] (4 MiB), which is not used. [Read] still
// returns every limit it could read.
//
// # Broken hosts
//
// Every file is read through internal/fsread: regular files only, opened
// without blocking, at most 64 KiB (mountinfo is streamed, at most 16 MiB),
// within a deadline, symlinks resolved inside the root; anything else is an
// error naming the file. mountinfo is parsed line by line and only its
// cgroup mounts are kept (at most 1024); a cgroup mount whose root or mount
// point is not an absolute, clean path is refused, so a relative or ".."
// mount point cannot lead the reader out of the root. /proc/self/cgroup may
// have at most 256 lines.
package cgroup

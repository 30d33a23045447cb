// Package fsread is the one way gotune reads /proc and /sys, under a root
// directory ("/" for this host). A broken or hostile host must not hang,
// exhaust or escape the reader, so every read is bounded:
//
//   - Regular files only. The path is checked with stat before it is opened
//     and again with fstat after, and it is opened with O_NONBLOCK, so a
//     FIFO, a device (/dev/zero), a socket or a directory is refused with an
//     error that names the path and wraps [ErrNotRegular], without blocking.
//   - A size cap. [ReadFile] reads at most [MaxSize] bytes (64 KiB), which
//     is far above any file it is used for: the largest is a CPU list of
//     the kernel's largest NR_CPUS written out id by id, about 40 KiB.
//     [Open] streams up to [MaxStream] bytes (16 MiB) for the files that
//     are parsed line by line without being held (mountinfo, numa_maps):
//     /proc/self/mountinfo on a Kubernetes node with thousands of
//     containers is a few MiB. Past the cap the read fails with
//     [ErrTooLarge]; a regular file whose size is already over the cap is
//     refused before a byte is read.
//   - A read deadline. Reading one file stops with [ErrDeadline] once it has
//     taken [Deadline] (2 s; procfs and sysfs reads take microseconds). The
//     deadline is checked between reads: a single read(2) that never
//     returns (a hung FUSE or NFS mount) cannot be interrupted without
//     leaking a thread, and every other way to block is refused up front.
//   - Symlinks are resolved inside the root only. Under a root other than
//     "/", names are resolved with [os.Root]: a symlink, or a ".." path,
//     that leads out of the root fails with an error wrapping [ErrEscapes].
//     A symlink inside the root to a FIFO or a device fails as above.
//
// Missing and unreadable files give errors that match [fs.ErrNotExist] and
// [fs.ErrPermission], so callers can keep treating them as "no limit here".
//
// Every function is safe for concurrent use.
package fsread

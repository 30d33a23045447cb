// Package cgstat reads what the kernel measures about the limits biting:
// CPU bandwidth throttling (cpu.stat), memory limit events (memory.events on
// cgroup v2; memory.failcnt and memory.oom_control on v1), memory in use,
// and Pressure Stall Information (the cgroup's *.pressure files on v2, the
// host's /proc/pressure/* where the cgroup has none).
//
// Every file goes through [github.com/gotune/gotune/internal/fsread], so a
// broken or hostile host cannot hang or exhaust the reader, and every
// parser is bounded by the size of its input. A file that does not exist
// (a kernel without PSI, a v1 host without the memory controller) is not
// an error: the figure is absent. A file that exists but does not parse is
// an error that names the file and the bad text.
//
// Cost: a [Read] opens at most 9 small files (cpu.stat twice, where the
// tightest quota is an ancestor's; memory events, usage, three PSI files),
// each a single read(2) of under 200 bytes.
package cgstat

// Package tune sets GOMAXPROCS, GOMEMLIMIT and, where asked, GOGC from the
// limits a process runs under: the cgroup CPU quota and cpuset, memory.max
// and memory.high, on cgroup v1, v2 and hybrid hosts.
//
// Most programs only need the one-line import of [github.com/gotune/gotune/tune/auto]:
//
//	import _ "github.com/gotune/gotune/tune/auto"
//
// Programs that want control call [Detect] to see what would be set and why,
// [Apply] to set it (it returns an undo function), or start a [Tuner] so the
// settings follow limits that change while the process runs.
//
// # Undo, Start and Stop
//
// One rule, the same in every gotune package: what changes a process-wide
// setting returns a way to undo it, and Stop undoes what Start did. [Apply]
// returns undo, which restores what that Apply changed (once, however often
// it is called). [Tuner.Start] applies and starts the refresh loop, the
// one way to run it, with the same Start/Stop shape as gcguard's Guard;
// [Tuner.Stop] ends the loop and restores the settings from before the
// first apply. Neither undo nor Stop touches a setting another owner holds
// now (see Owners) or one the program set since: those stay.
//
// # Options and values
//
// Every [Option] applies to [Detect], [Apply] and [NewTuner] alike. The
// zero value of an option's argument is the documented default
// (WithRoot(""), WithMemoryRatio(0), WithGOGC(0), NewTuner(0, ...) refreshes
// every [DefaultRefresh]); "off" has a name ([MaxProcsOff],
// [WithoutMemoryLimit], [GOGCOff]) or is negative (a negative NewTuner
// interval: no refresh); any other out-of-range value is an error from
// Detect, Apply and Tuner.Start that names the option and the value, and
// changes nothing.
//
// # GOMAXPROCS
//
// Since Go 1.25 the runtime follows the cgroup CPU quota itself when the main
// module's go line is 1.25 or later: the quota rounded up, at least 2, at
// most the CPUs in the affinity mask, refreshed about once a second. The
// default policy, [MaxProcsRuntime], gives that same answer so the value does
// not depend on who sets it, and leaves the job to the runtime where the
// runtime does it. gotune sets GOMAXPROCS itself where the runtime does not
// act (a go line of 1.24 or older switches the runtime's support off) or
// where it is wrong: the runtime reads only the leaf cgroup, and a parent's
// quota binds as hard. [MaxProcsFloor] rounds down instead, like
// go.uber.org/automaxprocs, for services that would rather not be throttled.
//
// automaxprocs is not used to set the value because it falls short in three
// ways that the tests in tune/auto show on a real cgroup: it reads only the
// leaf's quota, it does not cap the result at the CPUs the process may run on
// (a 3-CPU quota on a 2-CPU host gives 3), and it cannot read another root.
//
// # GOMEMLIMIT
//
// The limit is min(memory.max, memory.high) × ratio − reserve, the ratio 0.9
// by default ([WithMemoryRatio], [WithMemoryReserve]); the ratio is applied
// with github.com/KimMachineGun/automemlimit's provider machinery, fed by
// gotune's own reading of the cgroup, which also sees memory.high, the
// ancestors and another root. Without a cgroup memory limit the limit is left
// alone: a limit the program set is never replaced by "no limit".
//
// # GOGC
//
// GOGC is left alone unless [WithGOGC] asks for a percent, or for off where
// a memory limit bounds the heap.
//
// # Who wins
//
// The user's settings win and are reported, never overwritten silently: a
// non-empty GOMAXPROCS, GOMEMLIMIT or GOGC environment variable, a GODEBUG
// with containermaxprocs=0, and a GOMAXPROCS or memory limit that the program
// set in code before gotune (unless [WithOverrideCode]). Every decision has a
// [Source] and a reason in the [Report].
//
// # Owners
//
// gotune's packages claim the runtime settings through one process-wide
// registry before they change them, so each setting has one owner at a
// time and reports name it rather than guess it from values. tune claims
// what it sets. gcguard takes GOGC over from tune while a guard runs (and
// GOMEMLIMIT too where it is given [github.com/gotune/gotune/gcguard.WithOverride];
// otherwise it follows tune's limit), and numa.Pin takes GOMAXPROCS while a
// pin stands. While another package owns a setting, Apply and a
// [Tuner]'s refresh leave it alone and report it with the source
// [SourceGCGuard] or [SourceNUMA]; when the owner ends it gives the setting
// back and tune follows the limits again. A value that differs from what
// the owner last set was set by the program since, and is kept.
//
// # Roots
//
// [WithRoot] reads /proc and /sys under another directory: a fixture tree, or
// another process's view through /proc/PID/root. Under a root everything,
// the CPU affinity included, comes from the files: Cpus_allowed_list of
// proc/self/status within sys/devices/system/cpu/online.
//
// # Broken hosts
//
// A tuning library must never leave a service worse off than the runtime's
// defaults, so the host's files are read as untrusted input. Every file is
// read through one bounded reader (regular files only, opened without
// blocking, 64 KiB for a value file and 16 MiB for mountinfo, a 2 s
// deadline, symlinks kept inside the root): a FIFO, a device, a symlink to
// /dev/zero, an oversized file or a mount point that leads out of the root
// is an error that names the file. Values are checked too: a memory limit
// below 4 MiB (the runtime's own minimum heap goal) is an error for that
// file, and a GOMEMLIMIT that the ratio and reserve would put below 4 MiB
// is left alone with a warning. Under a root the CPUs are Cpus_allowed_list
// within sys/devices/system/cpu/online, as sched_getaffinity gives them on
// the live host: a list wider than the online CPUs is cut to them with a
// warning naming the file, and one that names none of them is an error.
// CPU and node ids past 16383 are refused, so no file can ask for more
// than 16384 CPUs (Cpus_allowed_list: 0-65535 gave GOMAXPROCS 65536). On
// any such error [Apply] changes nothing and tune/auto logs one line: the
// runtime's defaults stay.
//
// # Metrics
//
// [github.com/gotune/gotune/tune/tunemetrics.NewCollector](tuner, name)
// exports the limits read, the values decided with their source, and the
// refresh counters, under gotune_tune_*. It does not repeat
// what client_golang's Go collector exports (go_sched_gomaxprocs_threads,
// go_gc_gogc_percent, go_gc_gomemlimit_bytes).
//
// # Cost
//
// Detect reads about a dozen small files; bench/tune measures it next to
// automaxprocs and automemlimit.
package tune

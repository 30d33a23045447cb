// Package gcguard provides a GC controller that runs once per GC cycle: it
// raises GOGC while the live heap is far below a memory target and lowers it
// as the heap approaches, keeps GOMEMLIMIT at the target as a safety net,
// watches the GC's CPU share and the GC CPU limiter, escapes the death spiral
// near the limit, and publishes a pressure level that load shedders and
// pools can act on.
//
// # Starting and stopping
//
// [Start] resolves the memory target ([WithMemoryTarget], else a GOMEMLIMIT
// already in force, else min(memory.max, memory.high) of the cgroup times
// [WithRatio]), sets GOMEMLIMIT to it and returns a running [Guard].
// Where none of these exists (a laptop, a VM, a container without a memory
// limit) the guard runs without a target: it sets neither GOGC nor
// GOMEMLIMIT, since the machine's memory is shared with processes whose
// share it cannot know, and its level comes from the GC's CPU share and the
// kernel's memory pressure alone. So one gcguard.Start() works everywhere;
// [WithTargetRequired] makes a missing target an error ([ErrNoTarget]).
// [Guard.Stop] stops it and restores the GOGC and memory limit it found,
// each only while it still holds the value the guard gave it: a setting
// someone else changed since is theirs, and stays.
//
//	g, err := gcguard.Start(gcguard.WithMemoryTarget(460 << 20))
//	if err != nil { ... }
//	defer g.Stop()
//
// A target that was not given is not fixed at Start. One taken from a
// GOMEMLIMIT someone else owns follows that limit as it moves (read each
// run); one taken from the cgroup, and a hard limit taken from memory.max,
// are re-read on the idle timer, at most every 5s, so an in-place resize
// (Kubernetes in-place pod resize) moves the target, the thresholds and
// the limit the guard sets. A limit that disappears leaves the last target.
//
// # How it decides
//
// The controller runs after every GC cycle (a cleanup on an unreachable
// sentinel, re-armed each time; see [runtime.AddCleanup]) and on a coarse
// timer while no GC runs ([WithInterval]). It reads only [runtime/metrics]:
// the live heap, the heap goal, the stack and globals scan sizes, GOGC,
// the memory limit, the GC CPU classes and the GC CPU limiter. It never
// calls [runtime.ReadMemStats], which stops the world.
//
//   - Heap target: the heap may grow to the room the target leaves once the
//     runtime's non-heap memory is taken off. While a memory limit at or
//     below the target is in force (the guard's own, or tune/auto's or the
//     environment's, which it follows) and the live heap is under half the
//     elevated threshold, GOGC aims the runtime's heap goal, live + (live +
//     stacks + globals) × GOGC/100, half as far again past the room (of the
//     lower limit, if a followed one is lower), so that the limit, whose
//     goal does not swing with what each cycle marks, sets the goal: the
//     fewest cycles the target allows. It keeps doing so until the live
//     heap passes that threshold by the hysteresis. Otherwise GOGC alone
//     puts the goal at 95% of the room less a sixth of the live heap, room
//     for what is allocated while a cycle marks. GOGC is clamped by
//     [WithGOGCRange] (10 to 500) and re-chosen after every cycle;
//     [Stats].GOGC is the GOGC set and [Stats].EffectiveGOGC where the goal
//     in force sits. While such a limit is there GOGC follows the live
//     heap both ways; without it (no limit, one above the target, [WithDryRun]
//     with none in force, or an escape lifted it) raises are rate limited
//     ([WithMinInterval]) and lowering, the safe direction, is not. Changes
//     smaller than 10% are not applied.
//   - Safety net: GOMEMLIMIT stays at the target, so a sudden spike is
//     still bounded.
//   - GC CPU: the GC's share of the process's non-idle CPU time over a
//     sliding window ([WithWindow]), idle mark work excluded from both
//     sides, is reported and compared with a budget ([WithGCCPUBudget]).
//     Over budget alone is elevated; over budget while the target takes a
//     GOGC under 200 (less room than twice the live heap: memory, not
//     allocation alone, makes the GC run often) is critical, which on a
//     leak comes before the GC's share passes 25% (bench/peers/gcguard, leak
//     phase).
//   - Death spiral: when the GC CPU limiter engages, or the effective GOGC
//     (where the heap goal in force sits) collapses under 10 while the heap
//     is near the target because the limit, not GOGC, holds the goal there,
//     the level goes critical. By default the limit stays and
//     the critical level is the signal to shed load; [WithHeadroom] instead
//     lifts the limit for a bounded time, never above the hard limit
//     ([WithHardLimit], by default the cgroup's memory.max), with the record
//     kept per process across Stop and Start.
//
// # Pressure
//
// [Guard.Level] returns [LevelOK], [LevelElevated] or [LevelCritical]
// without locks; [Guard.Pressure] is a lock-free func() bool for load
// shedders; [Guard.OnLevel] calls back on every change, for pools that drop
// idle objects, from a goroutine the controller does not wait for (changes
// made while a callback is slow arrive as the latest level). Levels rise
// at once and fall only past a hysteresis and after a hold time.
//
// The level also sees memory outside the Go heap. At most once a second the
// guard reads the kernel's view of the cgroup's memory: its memory
// pressure (PSI) and its limit events (memory.high, memory.max, OOMs and
// OOM kills; memory.failcnt and oom_kill on cgroup v1). Page cache, cgo
// allocations or a sidecar near the limit then raise the level while the
// heap is small, and [Stats] says so (KernelLevel, KernelReason). The host's
// PSI never counts. [WithoutKernelPressure] turns this off.
//
// # The user's settings win
//
// A GOGC or GOMEMLIMIT set in the environment, or set in code before
// [Start], is left alone and reported ([Stats.GOGCSource],
// [Stats.LimitSource]); the guard still computes and reports what it would
// set. [WithOverride] hands control to the guard anyway. [WithDryRun] sets
// nothing at all.
//
// # One owner per setting
//
// The guard claims the settings it sets in a registry that tune and
// numa.Pin use too, so reports name the real owner instead of guessing it
// from values, and two controllers never fight over one setting. One guard
// that sets anything runs at a time: [Start] returns [ErrRunning] while
// another runs (dry-run guards excepted).
//
// With tune (tune/auto) the hand-over is explicit. A GOGC that tune set by
// policy becomes the guard's while it runs: tune's report and its refresh
// name gcguard as the owner and leave GOGC alone, and Stop gives tune its
// value back. The limit tune/auto sets at init (0.9 × the cgroup limit,
// re-set when the cgroup is resized) stays tune's: the guard reports it as
// tune's ([SourceTune], for the target and the limit), takes it as its
// target and follows it through resizes; [WithOverride] hands it to the
// guard instead. A value that differs from what its owner last set was
// set by the program since, and is the program's ([SourceCode]); that holds
// for the guard's own settings too: one the program changes while the guard
// runs, the guard stops setting, reports as set in code and leaves at Stop.
//
// A guard that does not set the limit takes no death-spiral escape: it
// could not lift the limit, so it records [Stats.EscapeRefused] "limit not
// owned by the guard" and leaves the process's escape and cooldown to a
// guard that can.
//
// # Options and values
//
// One rule for values, the same in every gotune package: an option's zero
// value means its documented default (WithWindow(0) is the 5s window); a
// negative value means off or none where that makes sense ([NoTarget] for
// the target, WithHardLimit(-1) for no hard limit, WithMinInterval(-1) for
// no hold, WithGCCPUBudget(-1) for no GC CPU check); an invalid value is an
// error from Start that names the option and the value.
//
// # Misuse
//
// A target below [MinTarget] (the runtime's smallest heap goal) or above
// the machine's memory, and a negative window, timer or headroom duration,
// are errors from Start that name the option. Stop is safe on a nil or zero Guard, twice, and from an
// OnLevel callback; a callback that panics is recovered, counted in
// [Stats.CallbackPanics] and logged, and one that blocks holds up only the
// other callbacks, never the controller or Stop's restore.
//
// # Metrics
//
// [Guard.Stats] returns a JSON-marshalable snapshot; NewCollector(g, name)
// exports it to Prometheus as gotune_gcguard_* metrics, labelled name=name
// when name is not empty, for the caller to register. Nothing that client_golang's
// Go collector already exports (go_gc_gogc_percent, go_gc_gomemlimit_bytes,
// GC cycle counts) is repeated.
//
// # When tune alone is enough
//
// tune sets GOMEMLIMIT from the cgroup once (or on resize) and leaves GOGC
// at 100 or a fixed policy. That is enough when the live heap is a large,
// stable share of the limit, or GC CPU does not matter. gcguard pays off
// when the live heap is small next to the limit (GOGC=100 then collects far
// more often than memory requires) or varies, and when the service can act
// on a pressure signal before the limit is reached.
package gcguard

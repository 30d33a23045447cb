// Package gcguardbench holds the end-to-end resize test of gcguard under
// tune in a real cgroup ([TestResizeFollowed]).
//
// The process-level GC harness that compares gcguard with GOGC=100,
// GOGC=off + GOMEMLIMIT and ByteDance's gctuner lives in the bench/peers
// module (bench/peers/gcguard), so that gctuner stays out of gotune's
// module graph; see bench/README.md.
package gcguardbench

package gcguard

import (
	"fmt"
	"time"

	"github.com/gotune/gotune/internal/cgroup"
	"github.com/gotune/gotune/internal/cgstat"
)

// kernelEvery is how often the guard reads the kernel's memory pressure:
// PSI's shortest average is over 10 s, so once a second sees a rise
// within a second of the kernel, for about 0.2 ms of file reads.
const kernelEvery = time.Second

// kernel reads the cgroup's memory pressure and limit events for the
// guard's level. It is used with the guard's mutex held.
type kernel struct {
	root   string
	dirs   cgstat.Dirs
	dirsAt time.Time // when dirs were resolved; re-resolved every cgroupEvery
	last   time.Time // the last read
	grader cgstat.Grader
	level  Level  // the grade of the last read
	why    string // what raised it, for Stats
}

// read grades the memory signal at most every kernelEvery and returns the
// level it gives: elevated while the cgroup's tasks stall on memory more
// than 10% of the last 10 s or memory.high/max was reached since the last
// read, critical past 40% or on an OOM kill. A failed read keeps the last
// grade.
func (k *kernel) read(now time.Time) Level {
	if !k.last.IsZero() && now.Sub(k.last) < kernelEvery {
		return k.level
	}
	k.last = now
	if k.dirsAt.IsZero() || now.Sub(k.dirsAt) >= cgroupEvery {
		l, err := cgroup.Read(k.root)
		if err != nil && l.Dirs == (cgstat.Dirs{}) {
			return k.level
		}
		k.dirs, k.dirsAt = l.Dirs, now
	}
	st, _ := cgstat.Read(k.root, k.dirs) // a file it could not read keeps its last value in the grader
	_, mem := k.grader.Grade(st)
	k.level, k.why = LevelOK, ""
	switch mem {
	case cgstat.Critical:
		k.level = LevelCritical
	case cgstat.Elevated:
		k.level = LevelElevated
	}
	if k.level > LevelOK {
		k.why = "memory limit events or memory pressure in the cgroup"
		if p := st.Pressure; p != nil && !p.HostWide && p.Memory != nil {
			k.why = fmt.Sprintf("memory pressure in the cgroup (PSI some avg10 %.1f%%) or limit events", p.Memory.Some.Avg10)
		}
	}
	return k.level
}

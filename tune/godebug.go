package tune

import (
	"runtime/debug"
	"strings"
	"sync"
)

// defaultGODEBUG is the binary's built-in GODEBUG: the settings implied by
// the main module's go line and its //go:debug directives. A go line of 1.24
// or older puts containermaxprocs=0 and updatemaxprocs=0 here.
var defaultGODEBUG = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "DefaultGODEBUG" {
			return s.Value
		}
	}
	return ""
})

// godebug returns the effective value of a GODEBUG key and whether it comes
// from the GODEBUG environment variable (explicit) rather than the binary's
// default. An empty value means the toolchain's default.
func godebug(env string, key string) (value string, explicit bool) {
	if v, ok := lookupGODEBUG(env, key); ok {
		return v, true
	}
	v, _ := lookupGODEBUG(defaultGODEBUG(), key)
	return v, false
}

// lookupGODEBUG finds key in a "k=v,k=v" list; the last occurrence wins, as
// in the runtime.
func lookupGODEBUG(list, key string) (string, bool) {
	var val string
	found := false
	for kv := range strings.SplitSeq(list, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

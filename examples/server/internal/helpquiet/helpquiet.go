// Package helpquiet keeps tune/auto's start-up log line off the terminal
// when the server is only asked for its usage (-h, -help), so the usage
// text is the first thing printed.
//
// It works by init order: since Go 1.21 packages are initialised in
// import-path order wherever their dependencies allow, this package
// depends on nothing that tune/auto does not, and its path sorts before
// "github.com/gotune/gotune/tune/auto", so its init runs first. For a
// usage request it sets GOTUNE_LOG=off, unless the user set GOTUNE_LOG.
// Every other run is untouched.
package helpquiet

import (
	"os"
	"strings"
)

func init() {
	for _, a := range os.Args[1:] {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return // flags end here
		}
		switch strings.TrimLeft(a, "-") {
		case "h", "help", "h=true", "help=true":
			if _, set := os.LookupEnv("GOTUNE_LOG"); !set {
				os.Setenv("GOTUNE_LOG", "off")
			}
			return
		}
	}
}

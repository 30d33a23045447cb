package auto_test

import "os"

func exitCode(code int) { os.Exit(code) }

package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its stage.
type instruction struct {
	stage int
	cmd   string // upper-case: FROM, RUN, USER, …
	args  string
}

// parseDockerfile reads instructions, joining continued lines and
// dropping comments. It knows enough of the format for the checks below.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	stage, cont := -1, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, cont = cont+line, ""
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{stage, cmd, strings.TrimSpace(args)})
	}
	return out
}

// shellWords splits a command line on spaces, keeping double-quoted parts
// together (enough for a go build line).
func shellWords(s string) []string {
	var words []string
	var b strings.Builder
	inQ, has := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, has = !inQ, true
		case r == ' ' && !inQ:
			if has {
				words = append(words, b.String())
				b.Reset()
				has = false
			}
		default:
			b.WriteRune(r)
			has = true
		}
	}
	if has {
		words = append(words, b.String())
	}
	return words
}

// TestDockerfile checks examples/server/Dockerfile without a container
// engine: a multi-stage build whose final stage is distroless/static or
// scratch, runs as a non-root user, has no RUN or SHELL (no shell to run
// them), and starts the binary in exec form; then it runs the build
// stage's own go build line and checks the binary is static.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	last := ins[len(ins)-1].stage
	if last < 1 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a final one", last+1)
	}
	var from, user, entry, buildLine string
	args := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH}
	for _, in := range ins {
		if in.stage < last {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				buildLine = in.args
			}
			continue
		}
		switch in.cmd {
		case "FROM":
			from = in.args
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "RUN", "SHELL", "ADD":
			t.Errorf("final stage has %s %s: it has no shell, and ADD fetches at build time", in.cmd, in.args)
		}
	}
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("final stage FROM %q, want distroless/static or scratch", from)
	}
	if name, _, _ := strings.Cut(user, ":"); user == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if !strings.HasPrefix(entry, "[") {
		t.Errorf("ENTRYPOINT %q, want exec form (there is no shell)", entry)
	}
	if buildLine == "" {
		t.Fatal("no go build line in the build stage")
	}

	// The build stage's command, as written, with the build args' defaults
	// and the output redirected to a temporary directory. With -trimpath
	// and CGO_ENABLED=0 nothing comes from the usual build cache, so a
	// first run rebuilds the standard library (a minute or two): .ci/run
	// asks for it, a plain go test does not.
	if os.Getenv("GOTUNE_DOCKERFILE_BUILD") == "" {
		t.Skip("set GOTUNE_DOCKERFILE_BUILD=1 to run the build stage's go build (.ci/run does)")
	}
	words := shellWords(buildLine)
	env := os.Environ()
	var cmd []string
	for i, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok && cmd == nil && !strings.HasPrefix(w, "-") {
			for a, val := range args {
				v = strings.ReplaceAll(v, "$"+a, val)
			}
			env = append(env, k+"="+v)
			continue
		}
		cmd = words[i:]
		break
	}
	if !strings.Contains(buildLine, "CGO_ENABLED=0") {
		t.Errorf("go build line %q does not set CGO_ENABLED=0", buildLine)
	}
	out := filepath.Join(t.TempDir(), "server")
	for i := range cmd {
		if cmd[i] == "-o" && i+1 < len(cmd) {
			cmd[i+1] = out
		}
	}
	if len(cmd) < 3 || cmd[0] != "go" || cmd[1] != "build" {
		t.Fatalf("build command %q is not a go build", cmd)
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = "../.." // the Dockerfile builds from the module root
	c.Env = env
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary from %q has a dynamic loader: not static", buildLine)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary links %v: not static", libs)
	}
	t.Logf("%s: static %s binary", strings.Join(cmd, " "), f.Machine)
}

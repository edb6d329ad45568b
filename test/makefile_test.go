package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestMakeHelpListsEveryTarget: every target of the Makefile has a "## "
// description and `make help` lists it, so a new target cannot hide.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	targets := regexp.MustCompile(`(?m)^([a-z][a-z0-9_-]*):`).FindAllStringSubmatch(string(mk), -1)
	require.NotEmpty(t, targets)
	out, err := exec.Command("make", "-s", "-C", "..", "help").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, m := range targets {
		require.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(m[1])+`\s+\S`, string(out), "make help lists %s with its description (add `## what it does` to its line)", m[1])
	}
	for _, want := range []string{"help", "run", "test", "install"} {
		require.Contains(t, string(out), "  "+want+" ")
	}
}

// TestMakeInstallPutsBothCommandsOnThePath: make install PREFIX=dir puts
// working mutt and muttdev binaries in dir/bin.
func TestMakeInstallPutsBothCommandsOnThePath(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "make and a build of mutt and muttdev")
	prefix := t.TempDir()
	out, err := exec.Command("make", "-s", "-C", "..", "install", "PREFIX="+prefix).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "installed mutt and muttdev in "+prefix+"/bin")
	help, err := exec.Command(filepath.Join(prefix, "bin", "muttdev"), "--help").CombinedOutput()
	require.NoError(t, err, "muttdev --help exits 0: %s", help)
	require.True(t, strings.Contains(string(help), "Exit codes:"))
	_, err = os.Stat(filepath.Join(prefix, "bin", "mutt"))
	require.NoError(t, err)
}

// TestCoverReportTableAndMinimum: the report `make cover` prints from a
// -coverpkg profile counts a block once however many test binaries listed it
// (covered when any ran it), lists the packages with the most uncovered
// statements first, and fails naming the minimum when the total is below it.
func TestCoverReportTableAndMinimum(t *testing.T) {
	t.Parallel()
	profile := filepath.Join(t.TempDir(), "cover.out")
	// Two test binaries report the same blocks: a.go's first block ran only in
	// the second one; b's block ran nowhere.
	require.NoError(t, os.WriteFile(profile, []byte(`mode: set
example.com/m/a/a.go:1.1,2.2 6 0
example.com/m/a/a.go:3.1,4.2 2 1
example.com/m/b/b.go:1.1,9.2 2 0
mode: set
example.com/m/a/a.go:1.1,2.2 6 1
example.com/m/a/a.go:3.1,4.2 2 0
example.com/m/b/b.go:1.1,9.2 2 0
`), 0o600))
	out, err := exec.Command("../scripts/cover-report.sh", profile, "80").CombinedOutput()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 4, string(out))
	require.Regexp(t, `^package\s+stmts\s+uncovered\s+cover$`, lines[0])
	require.Regexp(t, `^example\.com/m/b\s+2\s+2\s+0\.0%$`, lines[1], "most uncovered first")
	require.Regexp(t, `^example\.com/m/a\s+8\s+0\s+100\.0%$`, lines[2])
	require.Equal(t, "total: 8 of 10 statements outside main packages covered: 80.0 % (minimum 80 %)", lines[3])

	out, err = exec.Command("../scripts/cover-report.sh", profile, "85").CombinedOutput()
	require.Error(t, err, "below the minimum fails")
	require.Contains(t, string(out), "make cover: coverage 80.0 % is below the minimum 85 %")

	out, err = exec.Command("../scripts/cover-report.sh", filepath.Join(t.TempDir(), "none.out"), "80").CombinedOutput()
	require.Error(t, err, "a missing profile fails")
	require.Contains(t, string(out), "none.out is missing or empty")
}

// TestFuzzScriptRunsEveryTargetAndNamesAFailingInput: scripts/fuzz.sh (make
// fuzz) runs every fuzz target of every package given; a run where all pass
// exits 0, and a planted failing target fails the run, naming the target, its
// package and the failing input, which it leaves in the package's
// testdata/fuzz/FuzzX/ where `go test` finds it and fails on it again.
func TestFuzzScriptRunsEveryTargetAndNamesAFailingInput(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "fuzz-instrumented go builds of a planted module")
	script, err := filepath.Abs("../scripts/fuzz.sh")
	require.NoError(t, err)
	mod := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/planted\n\ngo 1.27\n",
		"good/good_test.go": `package good

import "testing"

func FuzzFine(f *testing.F) {
	f.Add("seed")
	f.Fuzz(func(t *testing.T, s string) { _ = len(s) })
}

func FuzzAlsoFine(f *testing.F) {
	f.Add(1)
	f.Fuzz(func(t *testing.T, n int) { _ = n + 1 })
}
`,
		"bad/bad_test.go": `package bad

import "testing"

func FuzzPlanted(f *testing.F) {
	f.Add("ab")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4 {
			t.Fatalf("planted failure on %q", s)
		}
	})
}
`,
	}
	for name, text := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(mod, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(mod, name), []byte(text), 0o600))
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "FUZZTIME=2s")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("./good")
	require.NoError(t, err, out)
	require.Contains(t, out, "ok   example.com/planted/good FuzzFine")
	require.Contains(t, out, "ok   example.com/planted/good FuzzAlsoFine")
	require.Contains(t, out, "make fuzz: all 2 fuzz targets passed")

	out, err = run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, out)
	require.Equal(t, 1, exit.ExitCode(), out)
	require.Contains(t, out, "ok   example.com/planted/good FuzzFine", "the other targets still run")
	require.Contains(t, out, "make fuzz: 1 of 3 fuzz targets failed:")
	m := regexp.MustCompile(`FuzzPlanted \(example\.com/planted/bad\): failing input bad/(testdata/fuzz/FuzzPlanted/([0-9a-f]+)); re-run: go test -run='\^FuzzPlanted/([0-9a-f]+)\$' \./bad`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	require.Equal(t, m[2], m[3])
	_, err = os.Stat(filepath.Join(mod, "bad", m[1]))
	require.NoError(t, err, "the failing input is saved in the package's testdata/fuzz")

	cmd := exec.Command("go", "test", "-count=1", "-run", "^FuzzPlanted/"+m[2]+"$", "./bad")
	cmd.Dir = mod
	again, err := cmd.CombinedOutput()
	require.Error(t, err, "go test finds the saved input and fails on it: %s", again)
	require.Contains(t, string(again), "planted failure on")
}

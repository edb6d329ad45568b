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

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

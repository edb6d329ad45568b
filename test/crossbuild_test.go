package test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestBuildsOnMacOS: developers on macOS build the whole module, tests
// included, and run `mutt dev` (issue 15). Linux-only calls (the dev-server
// launchers' Pdeathsig) live in _linux.go files with a fallback beside them;
// this cross-compiles every package for darwin/arm64 so a new Linux-only
// call fails here rather than on a Mac (go build of several packages writes
// nothing). The first run compiles every dependency for darwin once; later
// runs come from the build cache.
func TestBuildsOnMacOS(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "a cross-compilation of the module for darwin")
	cmd := exec.Command("go", "build", "./...") // #nosec G204 -- fixed arguments
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "GOOS=darwin GOARCH=arm64 go build ./...:\n%s", out)
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchFindsMuttdev: mutt bench runs the muttdev installed beside mutt,
// else the one on PATH, else fails naming muttdev bench and make install.
func TestBenchFindsMuttdev(t *testing.T) {
	t.Parallel()
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	onPath := func(name string) (string, error) { return "/opt/bin/" + name, nil }

	dir := t.TempDir()
	self := filepath.Join(dir, "mutt")
	_, err := findMuttdev(self, notFound)
	require.ErrorIs(t, err, errNoMuttdev)
	require.Contains(t, err.Error(), "muttdev bench")
	require.Contains(t, err.Error(), "make install")

	got, err := findMuttdev(self, onPath)
	require.NoError(t, err)
	require.Equal(t, "/opt/bin/muttdev", got)

	// A muttdev that is not executable is not run.
	beside := filepath.Join(dir, "muttdev")
	require.NoError(t, os.WriteFile(beside, []byte("#!/bin/sh\n"), 0o600))
	_, err = findMuttdev(self, notFound)
	require.ErrorIs(t, err, errNoMuttdev)

	require.NoError(t, os.Chmod(beside, 0o700)) // #nosec G302 -- a test script
	got, err = findMuttdev(self, onPath)
	require.NoError(t, err)
	require.Equal(t, beside, got, "the muttdev beside mutt wins over PATH")
}

// TestBenchRunsMuttdevWithTheSameArguments: `mutt bench ARGS` without a
// muttdev fails with the message; with one beside it, it becomes that
// muttdev, given bench, this mutt and ARGS.
func TestBenchRunsMuttdevWithTheSameArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	self, err := os.Executable()
	require.NoError(t, err)
	mutt := filepath.Join(dir, "mutt")
	if os.Link(self, mutt) != nil { // another file system: copy
		b, err := os.ReadFile(self) // #nosec G304 -- this test binary
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(mutt, b, 0o700)) // #nosec G306 -- an executable
	}

	cmd := exec.Command(mutt, "-test.run", "^TestMuttBenchChild$") // #nosec G204 -- this test binary
	cmd.Env = append(os.Environ(), "MUTT_TEST_BENCH_EXEC=1", "PATH="+dir, "MUTT_TEST_BENCH_ARGS=-rate 7 --duration=1s")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, string(out))
	require.Contains(t, string(out), "muttdev bench")
	require.Contains(t, string(out), "make install")

	script := "#!/bin/sh\necho \"ran: $*\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "muttdev"), []byte(script), 0o700)) // #nosec G306 -- a test script
	cmd = exec.Command(mutt, "-test.run", "^TestMuttBenchChild$")                          // #nosec G204 -- this test binary
	cmd.Env = append(os.Environ(), "MUTT_TEST_BENCH_EXEC=1", "PATH="+dir, "MUTT_TEST_BENCH_ARGS=-rate 7 --duration=1s")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "ran: bench -mutt="+mutt+" -rate 7 --duration=1s")
}

// TestMuttBenchChild is the child of TestBenchRunsMuttdevWithTheSameArguments:
// it runs `mutt bench` in this process, which execs the muttdev found.
func TestMuttBenchChild(t *testing.T) {
	if os.Getenv("MUTT_TEST_BENCH_EXEC") != "1" {
		return
	}
	err := runBench(strings.Fields(os.Getenv("MUTT_TEST_BENCH_ARGS")))
	require.NoError(t, err)
}

// TestMuttDoesNotLinkTheBenchmark: the production binary carries no
// benchmark, soak or chaos harness (they start processes and import the
// workers for their own ends); those are muttdev's.
func TestMuttDoesNotLinkTheBenchmark(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/mutt-ops/mutt/app", "go list -deps works and sees mutt's own packages")
	for _, pkg := range []string{"internal/bench", "internal/soak", "internal/chaos", "internal/testenv"} {
		require.NotContains(t, deps, "github.com/mutt-ops/mutt/"+pkg)
	}
}

package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// built holds the commands this test binary built, by name: tests that
// start real processes share one build instead of linking mutt each (the
// link alone takes tens of seconds on a loaded machine). It is process
// state by nature: a sync.Once per test binary.
var built sync.Map // command name → *buildOnce

type buildOnce struct {
	once sync.Once
	path string
	err  error
}

// binDir is this test binary's directory of built commands.
var binDir = sync.OnceValues(func() (string, error) {
	sweepBinDirs()
	return os.MkdirTemp("", binDirPrefix+strconv.Itoa(os.Getpid())+"-")
})

const binDirPrefix = "mutt-testbin-"

// BuildMutt returns the path of this module's cmd/mutt, built once per test
// binary into a temporary directory.
func BuildMutt(t testing.TB) string { return buildCached(t, "mutt") }

// BuildMuttDev is BuildMutt for cmd/muttdev (in the same directory as mutt).
func BuildMuttDev(t testing.TB) string { return buildCached(t, "muttdev") }

func buildCached(t testing.TB, name string) string {
	t.Helper()
	v, _ := built.LoadOrStore(name, &buildOnce{})
	b := v.(*buildOnce)
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = fmt.Errorf("directory of test binaries: %w", err)
			return
		}
		b.path, b.err = BuildCommand(context.Background(), dir, name)
	})
	require.NoError(t, b.err)
	return b.path
}

// BuildCommand compiles the module's ./cmd/<name> into dir and returns the
// binary's path. It runs `go build` in the module the working directory
// belongs to, so it works from any package of the module (and from
// TestMain, which has no testing.TB).
func BuildCommand(ctx context.Context, dir, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("build %s: not inside the MUTT module", name)
	}
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return "", errors.New("build: the command name must be a directory of cmd/")
	}
	exe := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/"+name) // #nosec G204 -- go build of a command of this module
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, b)
	}
	return exe, nil
}

// sweepBinDirs removes the binary directories of test binaries that have
// exited: nothing runs after the last test to remove a binary's own.
func sweepBinDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), binDirPrefix), "-", 2)[0])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		// Signal 0 checks that the process exists; ESRCH: it is gone.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

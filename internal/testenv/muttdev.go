package testenv

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// MuttDev is a `mutt dev` process of a test (StartMuttDev).
type MuttDev struct {
	Env            []string // the process's environment
	Stdout, Stderr *LogBuffer
	cmd            *exec.Cmd
	exited         chan error
	stopped        bool
	err            error
}

// StartMuttDev starts `mutt dev` (the binary of BuildMutt) with the
// environment base plus vars (a name in both takes its value from vars) and
// returns at once: wait for its banner ("MUTT dev is running") on Stdout. At
// cleanup it is stopped as a user stops it, unless Stop ran already.
func StartMuttDev(t testing.TB, base []string, vars map[string]string) *MuttDev {
	t.Helper()
	NeedsServices(t, "a built mutt dev")
	cmd := exec.Command(BuildMutt(t), "dev") // #nosec G204 -- tests only: the binary this test built
	cmd.Env = append([]string(nil), base...)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	d := &MuttDev{Env: cmd.Env, Stdout: &LogBuffer{}, Stderr: &LogBuffer{}, cmd: cmd, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = d.Stdout, d.Stderr
	require.NoError(t, cmd.Start())
	go func() { d.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = d.Stop() })
	return d
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 30 s):
// its exit error (nil for a clean exit), or an error saying it did not stop.
func (d *MuttDev) Stop() error {
	if d.stopped {
		return d.err
	}
	d.stopped = true
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case d.err = <-d.exited:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		d.err = errors.New("mutt dev did not stop within 30s of SIGTERM")
	}
	return d.err
}

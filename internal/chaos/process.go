// Package chaos runs MUTT as real operating-system processes and breaks them
// on purpose: it builds the mutt binary, starts roles as child processes it can
// kill -9, stop with SIGTERM and start again, offers ingest load while keeping
// the event_id of every accepted event, and reconciles those ids against the
// audit log, the Moogsoft webhook and the dead-letter streams. test/chaos
// drives it with faults; the soak harness can reuse the same pieces.
package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// BuildMutt compiles the module's cmd/mutt into dir and returns the binary's
// path (testenv.BuildCommand, for a TestMain that has no testing.TB; tests
// use testenv.BuildMutt).
func BuildMutt(ctx context.Context, dir string) (string, error) {
	return testenv.BuildCommand(ctx, dir, "mutt")
}

// Process is one mutt role run as a child process. It can be started again
// after it was killed or stopped; every start appends to the same log.
type Process struct {
	Name   string   // e.g. "alerter-2": unique in a cluster
	Exe    string   // the mutt binary
	Args   []string // e.g. ["alerter"]
	Env    []string // the whole environment of the process
	Health string   // URL answering 200 once the process is ready
	Log    io.Writer

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	starts   int
	unwanted []string // exits nobody asked for
}

// Start starts the process and waits (up to timeout) for its health URL to
// answer 200.
func (p *Process) Start(ctx context.Context, timeout time.Duration) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s is already running", p.Name)
	}
	cmd := exec.Command(p.Exe, p.Args...) // #nosec G204 -- the harness's own mutt binary and role
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if p.cmd == cmd { // nobody is stopping it: it died by itself
			p.unwanted = append(p.unwanted, fmt.Sprintf("%s (pid %d) exited by itself: %v", p.Name, cmd.Process.Pid, err))
			p.cmd = nil
		}
		p.mu.Unlock()
		close(exited)
	}()
	if p.Health == "" {
		return nil
	}
	return WaitHealthy(ctx, p.Health, timeout, exited)
}

// WaitHealthy polls url until it answers 200, the timeout passes or exited
// (if not nil) is closed.
func WaitHealthy(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("the process of %s exited before it was healthy", url)
		case <-tick.C:
		}
	}
}

// detach takes the running command out of the process, so its exit is not
// reported as unwanted.
func (p *Process) detach() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	return cmd, exited
}

// Kill sends SIGKILL (a crash: no cleanup, no acknowledgement of work in
// hand) and waits for the process to be gone.
func (p *Process) Kill() {
	cmd, exited := p.detach()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it. It reports whether the process exited by itself in time.
func (p *Process) Stop(grace time.Duration) bool {
	cmd, exited := p.detach()
	if cmd == nil {
		return true
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
		return false
	}
}

// Running reports whether the process is running.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Pid is the process id of the running process, 0 when it is not running.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts counts how often the process was started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Unwanted lists the exits nobody asked for (a crash of its own).
func (p *Process) Unwanted() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unwanted...)
}

package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// DevServer is a `temporal server start-dev` this process started; Stop
// ends it.
type DevServer struct {
	Address string
	UIURL   string
	devChild
}

// Reachable reports whether a Temporal frontend answers at address.
func Reachable(ctx context.Context, address string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil
}

// TemporalCLI finds the Temporal CLI: on PATH, else in $(go env GOPATH)/bin.
func TemporalCLI() (string, error) {
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "temporal")
	if _, err := os.Stat(p); err == nil { // #nosec G703 -- the temporal CLI path under GOPATH or HOME of the developer running mutt dev
		return p, nil
	}
	return "", errors.New("the Temporal CLI is not installed: run `make run` (it installs it) or " +
		"`go install github.com/temporalio/cli/cmd/temporal@v1.5.1`")
}

// StartDevServer starts `temporal server start-dev` on address (in memory),
// with the web UI on the first free port from 8233, and waits until it
// answers. The dev server only creates the "default" namespace by itself, so
// any other namespace (TEMPORAL_NAMESPACE) is created at launch too. Stop ends
// it.
func StartDevServer(ctx context.Context, address, namespace string, log *slog.Logger) (*DevServer, error) {
	bin, err := TemporalCLI()
	if err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_ADDRESS %q: %w", address, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	uiPort, err := firstFreePort(host, 8233)
	if err != nil {
		return nil, fmt.Errorf("temporal UI: %w", err)
	}
	args := []string{"server", "start-dev", "--ip", host, "--port", portStr,
		"--ui-port", strconv.Itoa(uiPort), "--log-level", "warn"}
	if namespace != "" && namespace != "default" {
		args = append(args, "--namespace", namespace)
	}
	logFile, err := os.CreateTemp("", "mutt-temporal-dev-*.log")
	if err != nil {
		return nil, err
	}
	child, err := startDevChild(exec.Command(bin, args...), logFile, "temporal dev server") // #nosec G204 -- the temporal CLI mutt dev starts, with arguments it builds
	if err != nil {
		return nil, err
	}
	d := &DevServer{Address: net.JoinHostPort(host, portStr), UIURL: fmt.Sprintf("http://%s:%d", host, uiPort), devChild: child}
	log.Info("started temporal dev server", "address", d.Address, "namespace", namespace, "ui", d.UIURL, "log", logFile.Name())
	ready := func(ctx context.Context) bool { return Reachable(ctx, d.Address) }
	if err := child.waitReady(ctx, ready, "temporal dev server", "did not answer", logFile.Name()); err != nil {
		return nil, err
	}
	return d, nil
}

// devChild is a server mutt dev starts and stops (the Temporal dev server,
// Prometheus): in its own process group, its output in a log file.
type devChild struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
}

// startDevChild starts cmd (what, in errors) with its output in logFile,
// which it closes once the process has ended, or at once if it cannot start.
func startDevChild(cmd *exec.Cmd, logFile *os.File, what string) (devChild, error) {
	cmd.SysProcAttr = childProcAttr()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return devChild{}, fmt.Errorf("start %s: %w", what, err)
	}
	c := devChild{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(c.done) }()
	return c, nil
}

// waitReady polls ready until it holds. The child exiting, ctx ending or 60s
// passing fail the start (naming what and its log), and stop the child.
func (c devChild) waitReady(ctx context.Context, ready func(context.Context) bool, what, notReady, logPath string) error {
	deadline := time.Now().Add(60 * time.Second)
	for !ready(ctx) {
		select {
		case <-c.done:
			return fmt.Errorf("%s exited during start-up; see %s", what, logPath)
		case <-ctx.Done():
			c.Stop()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return fmt.Errorf("%s %s within 60s; see %s", what, notReady, logPath)
		}
	}
	return nil
}

// Stop ends the child (SIGTERM to its process group, then SIGKILL).
func (c devChild) Stop() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

func firstFreePort(host string, from int) (int, error) {
	for p := from; p < from+100; p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			_ = ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in %d..%d", from, from+99)
}

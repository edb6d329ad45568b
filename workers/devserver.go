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

// DevServer is a `temporal server start-dev` this process started.
type DevServer struct {
	Address string
	UIURL   string
	cmd     *exec.Cmd
	done    chan struct{}
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
	cmd := exec.Command(bin, args...) // #nosec G204 -- the temporal CLI mutt dev starts, with arguments it builds
	cmd.SysProcAttr = childProcAttr()
	logFile, err := os.CreateTemp("", "mutt-temporal-dev-*.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start temporal dev server: %w", err)
	}
	d := &DevServer{Address: net.JoinHostPort(host, portStr), UIURL: fmt.Sprintf("http://%s:%d", host, uiPort),
		cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(d.done) }()
	log.Info("started temporal dev server", "address", d.Address, "namespace", namespace, "ui", d.UIURL, "log", logFile.Name())
	deadline := time.Now().Add(60 * time.Second)
	for !Reachable(ctx, d.Address) {
		select {
		case <-d.done:
			return nil, fmt.Errorf("temporal dev server exited during start-up; see %s", logFile.Name())
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("temporal dev server did not answer within 60s; see %s", logFile.Name())
		}
	}
	return d, nil
}

// Stop ends the dev server (SIGTERM to its process group, then SIGKILL).
func (d *DevServer) Stop() {
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
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

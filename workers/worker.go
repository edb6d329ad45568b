package workers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/workflows"
)

// Dial connects to Temporal as c says (TLS, mTLS, API key) and checks the
// connection.
func Dial(ctx context.Context, c TemporalConn, log *slog.Logger) (client.Client, error) {
	opts, err := c.clientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal"))
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		if h := c.hint(err); h != "" {
			return nil, fmt.Errorf("connect to temporal at %s (TEMPORAL_ADDRESS): %w (%s)", c.Address, err, h)
		}
		return nil, fmt.Errorf("connect to temporal at %s (TEMPORAL_ADDRESS): %w", c.Address, err)
	}
	return tc, nil
}

// DialLazy is Dial without the connection check: the client connects on
// first use, so a process that only sometimes needs Temporal (the API's
// console pages) starts, and answers, while Temporal is down.
func DialLazy(c TemporalConn, log *slog.Logger) (client.Client, error) {
	opts, err := c.clientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal"))
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s (TEMPORAL_ADDRESS): %w", c.Address, err)
	}
	return tc, nil
}

// clientOptions are the SDK options for c, without a logger.
func (c TemporalConn) clientOptions() (client.Options, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal tls: %w", err)
	}
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace,
		ConnectionOptions: client.ConnectionOptions{TLS: tc, TLSDisabled: !c.TLS}}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(string(c.APIKey))
	}
	return opts, nil
}

// hint says which variable to look at when err looks like a TLS problem:
// the SDK's message ("x509: certificate signed by unknown authority",
// "remote error: tls: certificate required", "error reading server preface")
// does not name the setting.
func (c TemporalConn) hint(err error) string {
	msg := err.Error()
	if !c.TLS {
		if strings.Contains(msg, "server preface") || strings.Contains(msg, "connection reset") ||
			strings.Contains(msg, "broken pipe") || strings.Contains(msg, "EOF") {
			return "TLS is off: set TEMPORAL_TLS=true (or TEMPORAL_API_KEY) for a TLS-secured cluster"
		}
		return ""
	}
	switch {
	case strings.Contains(msg, "unknown authority"):
		return "the server's certificate is signed by a CA this host does not trust: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to that CA"
	case strings.Contains(msg, "x509: certificate is valid for"), strings.Contains(msg, "x509: cannot validate certificate for"):
		return "the server's certificate is not for this host name: set TEMPORAL_TLS_SERVER_NAME to a name it holds"
	case strings.Contains(msg, "remote error: tls:"),
		// With TLS 1.3 a server that rejects the client certificate does so
		// after the client finished its handshake: the client then sees the
		// connection closed rather than the TLS alert.
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
		return "the server refused the TLS handshake or closed the connection right after it: does it require a client certificate " +
			"(TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH) signed by a CA it trusts?"
	case strings.Contains(msg, "x509:"), strings.Contains(msg, "tls:"):
		return "TLS failed: check the TEMPORAL_TLS_* settings (or TEMPORAL_TLS=false for a plaintext server)"
	}
	return ""
}

// RunWorker runs a worker for every MUTT workflow and activity on taskQueue
// until ctx ends, then stops it (activities in flight get the SDK's grace period).
func RunWorker(ctx context.Context, c client.Client, taskQueue string, deps *activities.Deps) error {
	w := worker.New(c, taskQueue, worker.Options{})
	workflows.Register(w)
	if err := activities.Register(w, deps); err != nil {
		return fmt.Errorf("register activities: %w", err)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", taskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

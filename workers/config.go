package workers

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

// Config is the static configuration of the ops plane.
type Config struct {
	Temporal       TemporalConn
	WorkerAddr     string // health and metrics of `mutt worker`
	ApplySchedules bool   // apply the schedules when the worker starts
	// RotationEnabled creates the monthly secret-rotation schedules unpaused
	// (MUTT_SECRET_ROTATION_ENABLED; they are created paused otherwise).
	RotationEnabled bool
	Retention       RetentionPolicy
	PrometheusURL   string
	// HTTP bounds the health/metrics listener (MUTT_HTTP_*).
	HTTP telemetry.HTTPConfig
	// UIURL is the Temporal web UI the console links runs to
	// (MUTT_TEMPORAL_UI_URL; `mutt dev` uses its dev server's).
	UIURL string
}

// TemporalConn is how to reach Temporal. The variables are those of
// Temporal's own client environment configuration, so a profile that works
// with the `temporal` CLI works here.
type TemporalConn struct {
	Address   string // TEMPORAL_ADDRESS
	Namespace string // TEMPORAL_NAMESPACE
	APIKey    APIKey // TEMPORAL_API_KEY; implies TLS
	// TLS is TEMPORAL_TLS; when unset it is on as soon as an API key or
	// any TEMPORAL_TLS_* setting is given.
	TLS            bool
	ClientCertPath string // TEMPORAL_TLS_CLIENT_CERT_PATH (mTLS, with ClientKeyPath)
	ClientKeyPath  string // TEMPORAL_TLS_CLIENT_KEY_PATH
	ServerCAPath   string // TEMPORAL_TLS_SERVER_CA_CERT_PATH; the system roots otherwise
	ServerName     string // TEMPORAL_TLS_SERVER_NAME; the host of Address otherwise
}

// APIKey is a secret that prints and logs as "[redacted]".
type APIKey string

func (k APIKey) String() string {
	if k == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue keeps the key out of slog output.
func (k APIKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// RetentionPolicy are the settings the schedules pass to their workflows, and
// the worker's defaults for a run started without them.
type RetentionPolicy = workflows.RetentionPolicy

// ReadConfig reads the ops-plane variables.
func ReadConfig(e *config.Env) Config {
	return Config{
		Temporal:        readTemporal(e),
		WorkerAddr:      e.Addr(":8086", "MUTT_WORKER_ADDR"),
		ApplySchedules:  e.Bool(false, "MUTT_WORKER_APPLY_SCHEDULES"),
		RotationEnabled: e.Bool(false, "MUTT_SECRET_ROTATION_ENABLED"),
		PrometheusURL:   e.URL("", []string{"http", "https"}, "PROMETHEUS_URL"),
		HTTP:            telemetry.ReadHTTPConfig(e),
		UIURL:           e.URL("", []string{"http", "https"}, "MUTT_TEMPORAL_UI_URL"),
		Retention: RetentionPolicy{
			PartitionAdvanceMonths:   e.Int(3, 1, 36, "PARTITION_ADVANCE_MONTHS"),
			EventRetentionDays:       e.Int(90, 1, 36500, "EVENT_RETENTION_DAYS"),
			ArchiveRetentionDays:     e.Int(2555, 1, 36500, "ARCHIVE_RETENTION_DAYS"),
			ConfigAuditRetentionDays: e.Int(365, 1, 36500, "CONFIG_AUDIT_RETENTION_DAYS"),
		},
	}
}

func readTemporal(e *config.Env) TemporalConn {
	c := TemporalConn{
		Address:        e.String("127.0.0.1:7233", "TEMPORAL_ADDRESS"),
		Namespace:      e.String("default", "TEMPORAL_NAMESPACE"),
		APIKey:         APIKey(e.String("", "TEMPORAL_API_KEY")),
		ClientCertPath: e.String("", "TEMPORAL_TLS_CLIENT_CERT_PATH"),
		ClientKeyPath:  e.String("", "TEMPORAL_TLS_CLIENT_KEY_PATH"),
		ServerCAPath:   e.String("", "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
		ServerName:     e.String("", "TEMPORAL_TLS_SERVER_NAME"),
	}
	implied := c.APIKey != "" || c.ClientCertPath != "" || c.ClientKeyPath != "" || c.ServerCAPath != "" || c.ServerName != ""
	c.TLS = e.Bool(implied, "TEMPORAL_TLS")
	if !c.TLS {
		// Certificates without TLS are a mistake, not a choice; an API key
		// over plaintext is allowed (e.g. behind a local TLS sidecar).
		for _, n := range []string{"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME"} {
			if _, _, ok := e.Lookup(n); ok {
				e.Fail("TEMPORAL_TLS", "is false but %s is set", n)
			}
		}
		return c
	}
	// Load the files now so a wrong path stops the process at start.
	if _, err := c.tlsConfig(); err != nil {
		e.FailErr("TEMPORAL_TLS", err)
	}
	return c
}

// tlsConfig builds the client's TLS configuration, or nil without TLS. It
// reads the files each time, so a renewed certificate is picked up by the
// next process start or dial.
func (c TemporalConn) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	tc := &tls.Config{ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	switch {
	case c.ClientCertPath != "" && c.ClientKeyPath == "":
		return nil, &config.VarError{Name: "TEMPORAL_TLS_CLIENT_KEY_PATH", Err: errors.New("is required with TEMPORAL_TLS_CLIENT_CERT_PATH")}
	case c.ClientCertPath == "" && c.ClientKeyPath != "":
		return nil, &config.VarError{Name: "TEMPORAL_TLS_CLIENT_CERT_PATH", Err: errors.New("is required with TEMPORAL_TLS_CLIENT_KEY_PATH")}
	case c.ClientCertPath != "":
		if _, err := os.Stat(c.ClientCertPath); err != nil {
			return nil, &config.VarError{Name: "TEMPORAL_TLS_CLIENT_CERT_PATH", Err: err}
		}
		if _, err := os.Stat(c.ClientKeyPath); err != nil {
			return nil, &config.VarError{Name: "TEMPORAL_TLS_CLIENT_KEY_PATH", Err: err}
		}
		cert, err := tls.LoadX509KeyPair(c.ClientCertPath, c.ClientKeyPath)
		if err != nil {
			return nil, &config.VarError{Name: "TEMPORAL_TLS_CLIENT_CERT_PATH", Err: fmt.Errorf("load the key pair with TEMPORAL_TLS_CLIENT_KEY_PATH: %w", err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if c.ServerCAPath != "" {
		pem, err := os.ReadFile(c.ServerCAPath)
		if err != nil {
			return nil, &config.VarError{Name: "TEMPORAL_TLS_SERVER_CA_CERT_PATH", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.VarError{Name: "TEMPORAL_TLS_SERVER_CA_CERT_PATH", Err: fmt.Errorf("%s holds no PEM certificate", strconv.Quote(c.ServerCAPath))}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

package secrets

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// CredMetrics count which credential opened each new connection, for the
// Redis and PostgreSQL connectors alike (label backend): whichever connector
// registers first owns the vectors and the other reuses them.
type CredMetrics struct {
	Used     *prometheus.CounterVec // labels backend, which (current|next)
	Failures *prometheus.CounterVec // label backend
}

// NewCredMetrics registers (or reuses) the credential counters on reg.
func NewCredMetrics(reg prometheus.Registerer) (*CredMetrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry() // counted but not exported
	}
	used, err := registerShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutt_secret_credential_used_total",
		Help: "New connections authenticated, by backend and by which credential (current or next) was accepted.",
	}, []string{"backend", "which"}))
	if err != nil {
		return nil, err
	}
	failures, err := registerShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutt_secret_credential_failures_total",
		Help: "Credentials a backend rejected while opening a new connection (each rejected try counts once).",
	}, []string{"backend"}))
	if err != nil {
		return nil, err
	}
	return &CredMetrics{Used: used, Failures: failures}, nil
}

func registerShared(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("register credential metrics: %w", err)
	}
	return c, nil
}

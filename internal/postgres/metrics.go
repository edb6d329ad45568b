package postgres

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// credMetrics counts which credential opened each new connection. The same
// two vectors are shared with internal/redisconn (label backend), so whichever
// package registers first owns them and the other reuses them.
type credMetrics struct {
	used     *prometheus.CounterVec
	failures *prometheus.CounterVec
}

func newCredMetrics(reg prometheus.Registerer) (*credMetrics, error) {
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
	return &credMetrics{used: used, failures: failures}, nil
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

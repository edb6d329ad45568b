package forward

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestPythonBreakerStateAlias(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	require.NoError(t, err)
	for ours, python := range map[int32]float64{0: 0, 1: 2, 2: 1} {
		m.cbStatePython.Set(pythonBreakerState(ours))
		mfs, err := reg.Gather()
		require.NoError(t, err)
		var found bool
		for _, mf := range mfs {
			if mf.GetName() == "mutt_circuit_breaker_state" {
				found = true
				require.Equal(t, "moogsoft", mf.GetMetric()[0].GetLabel()[0].GetValue())
				require.Equal(t, python, mf.GetMetric()[0].GetGauge().GetValue(), "our %d", ours)
			}
		}
		require.True(t, found)
	}
}

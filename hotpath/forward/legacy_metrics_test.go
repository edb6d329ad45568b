package forward

import (
	"log/slog"
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

func TestPythonBreakerStateChangesAlias(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	require.NoError(t, err)
	f := &Forwarder{m: m, hand: newHand(m.inflight, m.retrying), log: slog.New(slog.DiscardHandler)}
	f.observe(StateOpen, 0)
	f.observe(StateHalfOpen, 0)
	f.observe(StateHalfOpen, 0)
	f.observe(StateClosed, 0)
	m.setBreakerFailures(2)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "mutt_circuit_breaker_failures" {
			got["failures{name="+mf.GetMetric()[0].GetLabel()[0].GetValue()+"}"] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		if mf.GetName() != "mutt_circuit_breaker_state_changes_total" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range mm.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			require.Equal(t, "moogsoft", l["name"])
			got[l["from_state"]+">"+l["to_state"]] = mm.GetCounter().GetValue()
		}
	}
	require.Equal(t, map[string]float64{"CLOSED>OPEN": 1, "OPEN>HALF_OPEN": 1, "HALF_OPEN>CLOSED": 1,
		"failures{name=moogsoft}": 2}, got)
}

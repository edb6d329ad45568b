package activities

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	"github.com/mutt-ops/mutt/workflows"
)

// nameRegistry records the names activities are registered under.
type nameRegistry map[string]bool

func (n nameRegistry) RegisterActivityWithOptions(_ interface{}, o activity.RegisterOptions) {
	n[o.Name] = true
}

func TestRegisterWithZeroDeps(t *testing.T) {
	t.Parallel()
	d := &Deps{}
	reg := nameRegistry{}
	require.NotPanics(t, func() { require.NoError(t, Register(reg, d)) })
	for _, name := range []string{
		workflows.ActivityPartitionInspect, workflows.ActivityRetentionPolicy, workflows.ActivityDLQReplayStream,
		workflows.ActivityEvaluateSLOs, workflows.ActivitySecretPreflight,
	} {
		require.True(t, reg[name], "%s not registered", name)
	}
	require.Equal(t, &Deps{}, d, "Register must not change the caller's Deps")
	// A second worker from the same Deps: each gets private metrics, no conflict.
	require.NoError(t, Register(nameRegistry{}, d))
}

func TestRegisterNilDeps(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, Register(nameRegistry{}, nil), "nil Deps")
}

func TestWithDefaultsKeepsSetFields(t *testing.T) {
	t.Parallel()
	d := &Deps{DBUser: "u", PrometheusURL: "http://p"}
	got := d.withDefaults()
	require.NotSame(t, d, got)
	require.Equal(t, "u", got.DBUser)
	require.Equal(t, "http://p", got.PrometheusURL)
	require.NotNil(t, got.Now)
	require.NotNil(t, got.HTTP)
	require.NotNil(t, got.Log)
	require.NotNil(t, got.Registerer)
	again := got.withDefaults()
	require.Same(t, got.Registerer, again.Registerer, "defaults are applied once")
	require.Same(t, got.HTTP, again.HTTP)
}

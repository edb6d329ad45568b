package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/secretstest"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// The DLQ health probe sends the secrets provider's MOOG_API_KEY, read for
// every probe: after a rotation in the provider the next probe of the
// (simulated) Moogsoft carries the new key, not the environment's stale one.
func TestDLQMoogProbeUsesTheRotatedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	sim := moogsim.New(moogsim.Options{APIKey: "moog-key-2"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	p := &secretstest.Memory{}
	_, err := p.Write(ctx, map[string]string{secrets.MoogAPIKey: "moog-key-2"}, 0)
	require.NoError(t, err)
	d := dlqDeps(rdb, keys, srv.URL+"/api/v1/events") // MOOG_API_KEY from the environment: moog-key
	d.Secrets = p
	a, err := newDLQActivities(d)
	require.NoError(t, err)
	env := dlqActivityEnv(a)
	check := func() workflows.DLQMoogHealth {
		require.NoError(t, rdb.Del(ctx, MoogHealthCache(keys)).Err()) // a fresh probe, not the cached answer
		v, err := env.ExecuteActivity(workflows.ActivityDLQCheckMoogHealth)
		require.NoError(t, err)
		var h workflows.DLQMoogHealth
		require.NoError(t, v.Get(&h))
		return h
	}
	h := check()
	require.True(t, h.Healthy)
	require.NotEqual(t, http.StatusUnauthorized, h.Status, "probed with the provider's key")

	sim.SetAPIKey("moog-key-3")
	require.Equal(t, http.StatusUnauthorized, check().Status, "Moogsoft rotated, the provider not yet")
	_, err = p.Write(ctx, map[string]string{secrets.MoogAPIKey: "moog-key-3"}, 0)
	require.NoError(t, err)
	h = check()
	require.NotEqual(t, http.StatusUnauthorized, h.Status, "the rotated key, without a restart")
	require.Equal(t, 3, sim.Probes())
}

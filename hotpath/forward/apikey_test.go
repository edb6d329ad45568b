package forward_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/secrets/secretstest"
	"github.com/mutt-ops/mutt/internal/stream"
)

// A Moogsoft key rotated in the secrets provider applies without a restart:
// once the cache re-reads the provider (the watcher does, periodically and on
// every rotation notice) the next request carries it; and when Moogsoft
// refuses the old key first, the forwarder re-reads the provider itself and
// sends again, so nothing is dead-lettered.
func TestRotatedAPIKeyAppliesWithoutRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, moogsim.Options{APIKey: "moog-key-1"}, nil, nil)
	p := &secretstest.Memory{}
	rotate := func(key string) {
		_, err := p.Write(ctx, map[string]string{secrets.MoogAPIKey: key}, 0)
		require.NoError(t, err)
	}
	rotate("moog-key-1")
	cache, err := secrets.NewCache(ctx, p)
	require.NoError(t, err)

	dyn := dynconfig.NewStore(r.rdb, r.keys, quiet)
	require.NoError(t, dyn.Reload(ctx))
	reg := prometheus.NewRegistry()
	f, err := forward.New(forward.Options{
		Redis: r.rdb, Keys: r.keys, Dyn: dyn, Log: quiet, Registerer: reg,
		StreamMetrics: stream.NewMetrics(reg), Consumer: "rotating", WebhookURL: r.url,
		APIKeyFunc:    func() string { return cache.Get(secrets.MoogAPIKey) },
		RefreshAPIKey: cache.Reload,
	})
	require.NoError(t, err)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _ = dyn.Run(rctx) }()
	go func() { done <- f.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })

	r.waitDelivered(r.addAlerts(2))

	// The watcher's re-read: the next request carries the new key, no 401 first.
	rotate("moog-key-2")
	require.NoError(t, cache.Reload(ctx))
	r.sim.SetAPIKey("moog-key-2")
	before := r.sim.Requests()
	r.waitDelivered(r.addAlerts(1))
	require.Equal(t, before+1, r.sim.Requests(), "one request, with the new key")

	// Moogsoft revokes the old key before this process re-read the provider.
	rotate("moog-key-3")
	r.sim.SetAPIKey("moog-key-3")
	r.waitDelivered(r.addAlerts(3))
	require.Empty(t, r.dlq(t), "a refused key that the provider has replaced is not a rejection")
	require.Equal(t, "moog-key-3", cache.Get(secrets.MoogAPIKey))
}

package app_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/workers"
)

// `mutt dev` runs with well-known keys: every listener (ingest, API,
// moog-sim, alerter, forwarder, worker) binds to 127.0.0.1 unless its
// variable says otherwise; production defaults stay on every interface.
func TestDevListensOnLoopbackUnlessTold(t *testing.T) {
	t.Parallel()
	host := func(addr string) string {
		h, _, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		return h
	}
	e := config.FromMap(map[string]string{"MUTT_API_ADDR": ":9090"})
	cfg, err := app.ReadConfig(e, true, app.AllRoles)
	require.NoError(t, err)
	w := workers.ReadConfig(e)
	require.NoError(t, e.Err())
	for name, addr := range map[string]string{"ingest": cfg.Ingest.Addr, "alerter": cfg.AlerterAddr,
		"forwarder": cfg.ForwarderAddr, "moog-sim": cfg.MoogSimAddr, "worker": w.WorkerAddr} {
		require.Equal(t, "127.0.0.1", host(addr), name)
	}
	require.Equal(t, ":9090", cfg.APIAddr, "an explicit address wins")
	require.Equal(t, "http://127.0.0.1:18083/events", cfg.MoogWebhookURL)
	require.Len(t, app.DevAddrs, 6)

	e = config.FromMap(map[string]string{"INGEST_API_KEY": "production-ingest-key-0123456789abcdef", "MOOG_WEBHOOK_URL": "https://moog.example/events"})
	cfg, err = app.ReadConfig(e, false, app.AllRoles)
	require.NoError(t, err)
	require.Equal(t, ":8080", cfg.Ingest.Addr)
	require.Equal(t, ":8090", cfg.APIAddr)
}

package syslog_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestReadConfig(t *testing.T) {
	t.Parallel()
	c := syslog.ReadConfig(config.FromMap(map[string]string{}), false)
	require.False(t, c.Enabled(), "off unless an address is set")

	e := config.FromMap(map[string]string{})
	c = syslog.ReadConfig(e, true)
	require.NoError(t, e.Err())
	require.Equal(t, "127.0.0.1:5514", c.UDPAddr)
	require.Equal(t, "127.0.0.1:5514", c.TCPAddr)
	require.Empty(t, c.TLSAddr)
	require.True(t, c.DevDefault.UDP && c.DevDefault.TCP)

	e = config.FromMap(map[string]string{"MUTT_SYSLOG_UDP_ADDR": "off", "MUTT_SYSLOG_TCP_ADDR": ":6514",
		"MUTT_SYSLOG_ALLOWED_SOURCES": "10.0.0.0/8, 192.0.2.7", "MUTT_SYSLOG_TIMEZONE": "Europe/Berlin",
		"MUTT_SYSLOG_UDP_RECEIVE_BUFFER": "8388608", "MUTT_SYSLOG_SOURCE_RATE": "1000"})
	c = syslog.ReadConfig(e, true)
	require.NoError(t, e.Err())
	require.Empty(t, c.UDPAddr)
	require.Equal(t, ":6514", c.TCPAddr)
	require.False(t, c.DevDefault.TCP)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}, c.AllowedSources)
	require.Equal(t, "Europe/Berlin", c.TimeZone.String())
	require.Equal(t, 8388608, c.UDPReceiveBuffer)
	require.InDelta(t, 1000, c.SourceRate, 0)

	for name, env := range map[string]map[string]string{
		"MUTT_SYSLOG_ALLOWED_SOURCES": {"MUTT_SYSLOG_ALLOWED_SOURCES": "10.0.0.0/33"},
		"MUTT_SYSLOG_TIMEZONE":        {"MUTT_SYSLOG_TIMEZONE": "Mars/Olympus"},
		"MUTT_SYSLOG_TCP_ADDR":        {"MUTT_SYSLOG_TCP_ADDR": "5514"},
		"MUTT_SYSLOG_TLS_CERT_FILE":   {"MUTT_SYSLOG_TLS_ADDR": ":6514"},
		"MUTT_SYSLOG_BATCH_SIZE":      {"MUTT_SYSLOG_BATCH_SIZE": "0"},
	} {
		e := config.FromMap(env)
		syslog.ReadConfig(e, false)
		require.ErrorContains(t, e.Err(), name)
	}
}

// TestDevDefaultPortTaken: a second mutt dev on the machine runs without
// syslog instead of failing, while an explicit address that is taken fails.
func TestDevDefaultPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	rdb, keys := testenv.Redis(t)
	cfg := syslog.Config{TCPAddr: ln.Addr().String()}
	cfg.DevDefault.TCP = true
	r, err := syslog.New(syslog.Options{Config: cfg, Submit: nopSubmit{}, Redis: rdb, Keys: keys, Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, r.Listen())
	require.Nil(t, r.TCPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, r.Serve(ctx))

	cfg.DevDefault.TCP = false
	r, err = syslog.New(syslog.Options{Config: cfg, Submit: nopSubmit{}, Redis: rdb, Keys: keys, Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.ErrorContains(t, r.Listen(), "listen tcp")
}

package apikey_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestSetMatchesOnlyAcceptedKeys(t *testing.T) {
	t.Parallel()
	s := apikey.NewSet([]apikey.Key[string]{{Value: "alpha", Info: "a"}, {Value: ""}, {Value: "beta", Info: "b"}})
	require.Equal(t, 2, s.Len(), "the empty key is dropped")
	for presented, want := range map[string]string{"alpha": "a", "beta": "b"} {
		got, ok := s.Match(presented)
		require.True(t, ok, presented)
		require.Equal(t, want, got)
	}
	for _, presented := range []string{"", "alph", "alpha ", "ALPHA", "gamma"} {
		_, ok := s.Match(presented)
		require.False(t, ok, presented)
	}
}

func TestFingerprintNeedsTheServerSecret(t *testing.T) {
	t.Parallel()
	key := "mutt-dev-admin-key"
	fp := apikey.Fingerprint([]byte("secret-1"), key)
	require.Regexp(t, `^[0-9a-f]{12}$`, fp)
	require.Equal(t, fp, apikey.Fingerprint([]byte("secret-1"), key), "stable")
	require.NotEqual(t, fp, apikey.Fingerprint([]byte("secret-2"), key), "depends on the secret")
	bare := sha256.Sum256([]byte(key))
	require.NotEqual(t, hex.EncodeToString(bare[:6]), fp, "not the unsalted hash anyone can recompute")
	require.Empty(t, apikey.Fingerprint([]byte("s"), ""))
}

func TestCheckLengthNamesTheVariableNotTheKey(t *testing.T) {
	t.Parallel()
	require.NoError(t, apikey.CheckLength("INGEST_API_KEY", []string{"0123456789abcdef0123456789abcdef"}))
	err := apikey.CheckLength("INGEST_API_KEY", []string{"0123456789abcdef0123456789abcdef", "short-key"})
	require.ErrorContains(t, err, "INGEST_API_KEY: key 2 of 2 is 9 bytes")
	require.ErrorContains(t, err, "at least 32 bytes")
	require.NotContains(t, err.Error(), "short-key")
}

func TestGuardThrottlesAClientThatKeepsFailing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	g, err := apikey.NewGuard(apikey.GuardOptions{Listener: "ingest", MaxFailures: 3, Window: time.Minute, MaxClients: 4,
		Registerer: reg, Now: func() time.Time { return now }})
	require.NoError(t, err)
	_, err = apikey.NewGuard(apikey.GuardOptions{Listener: "api", Registerer: reg})
	require.NoError(t, err, "a second listener shares the counters")
	req := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/ingest", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "203.0.113.9") // never trusted
		return r
	}

	bad := req("192.0.2.1:5000")
	for range 3 {
		_, blocked := g.Blocked(bad)
		require.False(t, blocked)
		g.Failed(bad)
	}
	wait, blocked := g.Blocked(bad)
	require.True(t, blocked)
	require.Equal(t, time.Minute, wait)
	_, blocked = g.Blocked(req("192.0.2.1:6000"))
	require.True(t, blocked, "keyed on the address, whatever the port")
	_, blocked = g.Blocked(req("192.0.2.2:5000"))
	require.False(t, blocked, "other clients are not affected")

	now = now.Add(30 * time.Second)
	wait, _ = g.Blocked(bad)
	require.Equal(t, 30*time.Second, wait)
	now = now.Add(30 * time.Second)
	_, blocked = g.Blocked(bad)
	require.False(t, blocked, "the window ended")

	// A success forgets earlier failures.
	ok := req("192.0.2.3:1")
	g.Failed(ok)
	g.Failed(ok)
	g.Succeeded(ok)
	g.Failed(ok)
	g.Failed(ok)
	_, blocked = g.Blocked(ok)
	require.False(t, blocked)

	// Bounded memory: many addresses never grow the table past MaxClients;
	// the newest failing client is still tracked.
	for i := range 100 {
		g.Failed(req(fmt.Sprintf("198.51.100.%d:1", i)))
	}
	last := req("198.51.100.200:1")
	for range 3 {
		g.Failed(last)
	}
	_, blocked = g.Blocked(last)
	require.True(t, blocked)

	require.InDelta(t, 3+4+100+3, testenv.Metric(t, reg, "mutt_auth_failures_total", map[string]string{"listener": "ingest"}), 0)
	require.InDelta(t, 4, testenv.Metric(t, reg, "mutt_auth_throttled_total", map[string]string{"listener": "ingest"}), 0)
}

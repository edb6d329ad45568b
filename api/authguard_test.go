package api

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// A client that keeps presenting wrong keys is answered 429 with Retry-After
// past ten failures in a minute, even with a valid key; the failures are
// counted in mutt_auth_failures_total{listener="api"}, never logged one by one.
func TestFailedAuthenticationsAreThrottledPerClient(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	e := newCoreEnv(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Registerer, o.Gatherer = reg, reg
	})
	for range 9 {
		requireError(t, e.do(t, "GET", "/api/v2/config", "guess", nil), 401, errUnauthorized)
	}
	require.Equal(t, 200, e.do(t, "GET", "/api/v2/config", testReadOnlyKey, nil).code, "a valid key forgets earlier failures")
	for range 9 {
		requireError(t, e.do(t, "GET", "/api/v2/config", "guess", nil), 401, errUnauthorized)
	}
	requireError(t, e.do(t, "GET", "/api/v2/config", "", nil), 401, errUnauthorized)
	for _, k := range []string{"guess", testAdminKey} {
		r := requireError(t, e.do(t, "GET", "/api/v2/config", k, nil), 429, errTooManyFailures)
		require.Contains(t, r["message"], "too many failed authentications")
	}
	r := e.do(t, "GET", "/api/v2/config", testAdminKey, nil)
	secs, err := strconv.Atoi(r.h.Get("Retry-After"))
	require.NoError(t, err)
	require.True(t, secs >= 1 && secs <= 60, "Retry-After %d", secs)
	require.Equal(t, 200, e.do(t, "GET", "/health", "", nil).code, "health needs no key and is never throttled")

	require.InDelta(t, 19, testenv.Metric(t, reg, "mutt_auth_failures_total", map[string]string{"listener": "api"}), 0)
	require.InDelta(t, 3, testenv.Metric(t, reg, "mutt_auth_throttled_total", map[string]string{"listener": "api"}), 0)
	require.False(t, strings.Contains(logs.String(), "guess") || strings.Contains(logs.String(), "unauthorized"), logs.String())
}

// The names audit rows record depend on the server's secret: the read-only
// key that can read the audit cannot test guessed keys against them.
func TestKeyNameIsAnHMACWithTheServerSecret(t *testing.T) {
	t.Parallel()
	require.Regexp(t, `^admin-[0-9a-f]{12}$`, KeyName([]byte("s1"), "k", true))
	require.Regexp(t, `^readonly-[0-9a-f]{12}$`, KeyName([]byte("s1"), "k", false))
	require.NotEqual(t, KeyName([]byte("s1"), "k", true), KeyName([]byte("s2"), "k", true))
	e := newCoreEnv(t)
	_, err := New(Options{DB: e.db, Redis: e.rdb})
	require.ErrorContains(t, err, "KEY_FINGERPRINT_SECRET")
}

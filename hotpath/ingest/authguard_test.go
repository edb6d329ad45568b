package ingest_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// A client that keeps presenting wrong keys is counted and, past ten failures
// in a minute, answered 429 with Retry-After (even with a valid key) instead
// of being allowed to guess at full speed; nothing is logged per attempt.
func TestFailedAuthenticationsAreThrottledPerClient(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	var logs testenv.LogBuffer
	reg := prometheus.NewRegistry()
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{APIKeys: []string{key}}, Redis: rdb, Keys: keys,
		Dyn: dynconfig.NewStore(rdb, keys, quiet), Registerer: reg,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{url: hs.URL, rdb: rdb, keys: keys, reg: reg}

	// A valid key in between forgets the failures before it.
	for range 9 {
		requireError(t, e.do(t, http.MethodPost, "/ingest", evt("h", 0), map[string]string{"X-API-KEY": "guess"}), http.StatusUnauthorized, "X-API-KEY")
	}
	require.Equal(t, http.StatusOK, e.post(t, evt("h", 1)).code)
	for range 10 {
		requireError(t, e.do(t, http.MethodPost, "/ingest", evt("h", 0), map[string]string{"X-API-KEY": "guess"}), http.StatusUnauthorized, "X-API-KEY")
	}
	for _, k := range []string{"guess", key} {
		r := e.do(t, http.MethodPost, "/ingest", evt("h", 2), map[string]string{"X-API-KEY": k})
		requireError(t, r, http.StatusTooManyRequests, "too many failed authentications")
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, secs >= 1 && secs <= 60, "Retry-After %d", secs)
	}
	require.EqualValues(t, 1, e.backlog(t), "only the event sent with the valid key before the throttle")
	require.EqualValues(t, 19, testenv.Metric(t, reg, "mutt_auth_failures_total", map[string]string{"listener": "ingest"}))
	require.EqualValues(t, 2, testenv.Metric(t, reg, "mutt_auth_throttled_total", map[string]string{"listener": "ingest"}))
	require.NotContains(t, logs.String(), "unauthorized", "no log line per failed attempt")
	// /admin/config goes through the same guard.
	requireError(t, e.do(t, http.MethodGet, "/admin/config", "", map[string]string{"X-API-KEY": key}), http.StatusTooManyRequests, "")
}

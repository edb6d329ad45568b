package ingest_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestRedisOutOfMemoryRefusesClearlyAndRecovers: a Redis at its maxmemory
// (policy noeviction) refuses every write. Ingest must then answer 503 with
// Retry-After and a message that says what is wrong — not a 2xx, and not
// "Redis is unavailable", which sends the operator to the network — count
// the refusals under their own metric reason, report it in /health, and
// accept again as soon as Redis has room.
func TestRedisOutOfMemoryRefusesClearlyAndRecovers(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, testenv.RedisServerOptions{})
	rdb := srv.Client(t)
	e := newEnv(t, setup{rdb: rdb})
	ctx := context.Background()

	r := e.post(t, evt("h", 0))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err(), "1 byte: every write is refused")

	r = e.post(t, batch("h", 5))
	requireError(t, r, http.StatusServiceUnavailable, "Redis is out of memory")
	require.Contains(t, r.body["message"], "maxmemory")
	require.Equal(t, "5", r.header.Get("Retry-After"))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "redis_memory"}))
	require.Zero(t, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "redis"}))

	_, err := e.srv.Submit(ctx, event.SourceSyslogUDP, syslogEnvs("h", 2))
	var ref *ingest.Refused
	require.ErrorAs(t, err, &ref)
	require.Equal(t, ingest.RefusedRedisMemory, ref.Reason)
	require.Contains(t, ref.Message, "out of memory")

	h := e.do(t, http.MethodGet, "/health", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, h.code, h.raw)
	deps := h.body["dependencies"].(map[string]any)
	require.Equal(t, "ok", deps["redis"], "Redis answers; it refuses writes")
	require.Equal(t, "error", deps["redis_memory"])

	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	r = e.post(t, evt("h", 1))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := http.Get(e.url + "/health")
		if !assert.NoError(c, err) {
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		assert.Equal(c, http.StatusOK, res.StatusCode)
	}, 10*time.Second, 50*time.Millisecond, "a successful write clears the memory alarm")
	n, err := rdb.XLen(ctx, e.keys.IngestStream(0)).Result()
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "nothing of the refused requests is queued")
}

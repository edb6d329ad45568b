package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func syslogEnvs(host string, n int) []event.Envelope {
	out := make([]event.Envelope, n)
	for i := range out {
		sev := 3
		out[i] = event.Envelope{
			Hostname:  host,
			Message:   fmt.Sprintf("link down %d", i),
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 7200)),
			Severity:  &sev,
			Original:  json.RawMessage(fmt.Sprintf(`{"hostname":%q,"message":"link down %d","app_name":"ifmgr"}`, host, i)),
		}
	}
	return out
}

func TestSubmitStampsAndQueuesLikeHTTP(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	e := newEnv(t, setup{now: func() time.Time { return at }})
	envs := syslogEnvs("rtr1", 3)
	envs[1].CorrelationID = "caller-cid"
	ids, err := e.srv.Submit(context.Background(), event.SourceSyslogTCP, envs)
	require.NoError(t, err)
	require.Len(t, ids, 3)
	require.Equal(t, http.StatusOK, e.post(t, evt("h", 0)).code)

	got := e.stored(t)
	require.Len(t, got, 4)
	for i, g := range got[:3] {
		require.Equal(t, ids[i], g.EventID)
		require.Equal(t, "syslog_tcp", g.Source)
		require.True(t, g.ReceivedAt.Equal(at))
		require.True(t, g.Timestamp.Equal(envs[0].Timestamp), "the event's own time is kept")
		require.Equal(t, 3, *g.Severity)
		require.JSONEq(t, string(envs[i].Original), string(g.Original))
	}
	require.NotEmpty(t, got[0].CorrelationID)
	require.Equal(t, "caller-cid", got[1].CorrelationID)
	require.NotEqual(t, got[0].CorrelationID, got[2].CorrelationID, "each event without one gets its own")
	require.Equal(t, "http", got[3].Source)

	n, err := e.rdb.Get(context.Background(), e.keys.RateBucket("1m", "2025-03-04T05:06")).Int()
	require.NoError(t, err)
	require.Equal(t, 4, n, "the dashboard counts every source")
	require.EqualValues(t, 3, testenv.Metric(t, e.reg, "mutt_ingest_events_by_source_total", map[string]string{"source": "syslog_tcp", "status": "accepted"}))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_events_by_source_total", map[string]string{"source": "http", "status": "accepted"}))
	require.EqualValues(t, 4, testenv.Metric(t, e.reg, "mutt_ingest_events_total", map[string]string{"status": "accepted"}))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "success", "reason": ""}),
		"a receiver's batch is not an HTTP request")
}

func TestSubmitRefusesWholeAndSaysWhy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{run: true})
	ctx := context.Background()
	e.setDyn(t, dynconfig.IngestRateWindow, "3600")
	e.setDyn(t, dynconfig.IngestMaxRate, "5")

	_, err := e.srv.Submit(ctx, event.SourceSNMP, syslogEnvs("h", 6))
	var ref *ingest.Refused
	require.ErrorAs(t, err, &ref)
	require.Equal(t, ingest.RefusedTooLarge, ref.Reason)

	_, err = e.srv.Submit(ctx, event.SourceSNMP, syslogEnvs("h", 4))
	require.NoError(t, err)
	_, err = e.srv.Submit(ctx, event.SourceSyslogUDP, syslogEnvs("h", 3))
	require.ErrorAs(t, err, &ref)
	require.Equal(t, ingest.RefusedRateLimited, ref.Reason)
	require.GreaterOrEqual(t, ref.RetryAfter, time.Second)
	require.EqualValues(t, 4, e.backlog(t), "a refused call queues nothing")
	require.EqualValues(t, 3, testenv.Metric(t, e.reg, "mutt_ingest_events_by_source_total", map[string]string{"source": "syslog_udp", "status": "rejected"}))

	e.setDyn(t, dynconfig.IngestMaxRate, "0")
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "5")
	_, err = e.srv.Submit(ctx, event.SourceSyslogTLS, syslogEnvs("h", 1))
	require.NoError(t, err)
	_, err = e.srv.Submit(ctx, event.SourceSyslogTLS, syslogEnvs("h", 1))
	require.ErrorAs(t, err, &ref)
	require.Equal(t, ingest.RefusedQueueFull, ref.Reason)
	require.Equal(t, 5*time.Second, ref.RetryAfter)
	require.EqualValues(t, 5, e.backlog(t))

	for name, envs := range map[string][]event.Envelope{
		"no hostname":  {{Message: "m", Timestamp: time.Now(), Original: json.RawMessage(`{}`)}},
		"no timestamp": {{Hostname: "h", Message: "m", Original: json.RawMessage(`{}`)}},
		"no original":  {{Hostname: "h", Message: "m", Timestamp: time.Now()}},
	} {
		_, err = e.srv.Submit(ctx, event.SourceSyslogTLS, envs)
		require.Error(t, err, name)
		require.NotErrorAs(t, err, &ref, name)
	}
	_, err = e.srv.Submit(ctx, "carrier-pigeon", syslogEnvs("h", 1))
	require.ErrorContains(t, err, `unknown source "carrier-pigeon"`)
}

func TestSubmitRefusesWhileRedisIsAway(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr, opts.MaxRetries, opts.DialTimeout, opts.ReadTimeout = proxy.Addr(), -1, time.Second, time.Second
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(t, setup{rdb: rdb})

	proxy.Cut()
	_, err = e.srv.Submit(context.Background(), event.SourceSyslogTCP, syslogEnvs("h", 2))
	var ref *ingest.Refused
	require.ErrorAs(t, err, &ref)
	require.Equal(t, ingest.RefusedRedis, ref.Reason)
	require.Positive(t, ref.RetryAfter)

	proxy.Restore()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := e.srv.Submit(context.Background(), event.SourceSyslogTCP, syslogEnvs("h", 2))
		assert.NoError(c, err)
	}, 10*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 2, e.backlog(t))
}

package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// eventually is generous: the suite runs in parallel on a 2-core machine.
const eventually = 20 * time.Second

// rig is one isolated pipeline tail: a Redis prefix, a simulator, and the
// forwarders started against them.
type rig struct {
	t    testing.TB
	ctx  context.Context
	rdb  *redis.Client
	keys keyspace.Keys
	sim  *moogsim.Sim
	url  string
}

// newRig applies config (dynamic keys) before anything starts. handler, if
// set, wraps the simulator's handler.
func newRig(t testing.TB, simOpts moogsim.Options, config map[string]string, wrap func(http.Handler) http.Handler) *rig {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	base := map[string]string{
		"moog_retry_base_delay_ms": "10",
		"moog_retry_max_delay_ms":  "100",
		"moog_timeout_ms":          "2000",
	}
	for k, v := range config {
		base[k] = v
	}
	for k, v := range base {
		require.NoError(t, dynconfig.Set(ctx, rdb, keys, k, v))
	}
	sim := moogsim.New(simOpts)
	var h http.Handler = sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &rig{t: t, ctx: ctx, rdb: rdb, keys: keys, sim: sim, url: srv.URL + "/api/v1/events"}
}

// fwd is one running forwarder, like one process: its own config store and registry.
type fwd struct {
	t      testing.TB
	f      *forward.Forwarder
	reg    *prometheus.Registry
	dyn    *dynconfig.Store
	cancel context.CancelFunc
	done   chan error
}

func (r *rig) start(name, apiKey string) *fwd {
	r.t.Helper()
	return r.startWith(name, apiKey, r.rdb, quiet)
}

// startWith starts a forwarder on its own Redis client and logger.
func (r *rig) startWith(name, apiKey string, rdb redis.UniversalClient, log *slog.Logger) *fwd {
	r.t.Helper()
	dyn := dynconfig.NewStore(rdb, r.keys, quiet)
	require.NoError(r.t, dyn.Reload(r.ctx))
	reg := prometheus.NewRegistry()
	f, err := forward.New(forward.Options{
		Redis: rdb, Keys: r.keys, Dyn: dyn, Log: log, Registerer: reg,
		StreamMetrics: stream.NewMetrics(reg), Consumer: name, WebhookURL: r.url, APIKey: apiKey,
	})
	require.NoError(r.t, err)
	ctx, cancel := context.WithCancel(r.ctx)
	w := &fwd{t: r.t, f: f, reg: reg, dyn: dyn, cancel: cancel, done: make(chan error, 1)}
	go func() { _ = dyn.Run(ctx) }()
	go func() { w.done <- f.Run(ctx) }()
	r.t.Cleanup(w.stop)
	return w
}

// stop cancels the forwarder and waits for its drain.
func (w *fwd) stop() {
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		w.t.Error("forwarder did not stop within a minute")
		return
	}
	w.done <- nil // later stops return at once
}

// metric sums the samples of a metric whose labels include want. t may be
// an EventuallyWithT condition's collect T.
func (w *fwd) metric(t require.TestingT, name string, want map[string]string) float64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	mfs, err := w.reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				if !hasLabel(m, k, v) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k {
			return l.GetValue() == v
		}
	}
	return false
}

// addAlerts puts n alerts on shard 0 and returns their event IDs.
func (r *rig) addAlerts(n int) []string {
	r.t.Helper()
	return r.addAlertsTo(0, n)
}

// addAlertsTo puts n alerts on a shard and returns their event IDs.
func (r *rig) addAlertsTo(shard, n int) []string {
	r.t.Helper()
	ids := make([]string, n)
	payloads := make([][]byte, n)
	for i := range n {
		ids[i] = uuid.NewString()
		sev := 3
		b, err := json.Marshal(event.Alert{
			EventID: ids[i], CorrelationID: "corr-" + ids[i][:8], ReceivedAt: time.Now().UTC(),
			EventTime: time.Now().UTC(), Hostname: "host-1", RuleID: 7, Handling: "page_and_ticket",
			Environment: "prod", Team: "NETO", Severity: &sev, Description: "Link down",
			Signature: "host-1:7", Original: json.RawMessage(`{"hostname":"host-1","message":"Link down"}`),
		})
		require.NoError(r.t, err)
		payloads[i] = b
	}
	// As the alerter writes them: a batch's alerts in entries of up to
	// stream.MaxPerEntry, counted (ADR 0049).
	packed, counts := stream.Pack(payloads)
	_, err := stream.Push(r.ctx, r.rdb, r.keys.AlertStream(shard), 0, packed, counts)
	require.NoError(r.t, err)
	return ids
}

func (r *rig) delivered(ids []string) bool {
	for _, id := range ids {
		if r.sim.Seen(id) == 0 {
			return false
		}
	}
	return true
}

func (r *rig) waitDelivered(ids []string) {
	r.t.Helper()
	require.Eventually(r.t, func() bool { return r.delivered(ids) }, eventually, 10*time.Millisecond,
		"every alert reaches Moogsoft")
	require.EventuallyWithT(r.t, func(c *assert.CollectT) {
		assert.Zero(c, r.streamLen(c))
	}, eventually, 10*time.Millisecond,
		"every delivered alert is acknowledged")
}

// streamLen is the backlog of the alert stream in alerts (its entries may
// hold several, ADR 0049); t may be a collect T.
func (r *rig) streamLen(t require.TestingT) int64 {
	n, err := stream.Depth(r.ctx, r.rdb, r.keys.AlertStream(0))
	require.NoError(t, err)
	return n
}

// dlq is the Moogsoft dead-letter stream; t may be a collect T.
func (r *rig) dlq(t require.TestingT) []redis.XMessage {
	msgs, err := r.rdb.XRange(r.ctx, r.keys.MoogDLQ(), "-", "+").Result()
	require.NoError(t, err)
	return msgs
}

func (r *rig) set(key, value string) {
	require.NoError(r.t, dynconfig.Set(r.ctx, r.rdb, r.keys, key, value))
}

func TestRetriesThroughOutagesUntilDelivered(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"circuit_breaker_threshold": "100000", // this test is about retries, not the breaker
		"moog_max_retries":          "1000",
		"moog_timeout_ms":           "200",
	}, nil)
	r.sim.Fail(http.StatusInternalServerError, -1)
	ids := r.addAlerts(20)
	w := r.start("a", "")

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, w.metric(c, "mutt_moog_requests_total", map[string]string{"status": "fail", "reason": "http"}), 5.0)
	}, eventually, 10*time.Millisecond)
	r.sim.Fail(http.StatusTooManyRequests, -1) // with Retry-After: 1
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, w.metric(c, "mutt_moog_requests_total", map[string]string{"status": "fail", "reason": "rate_limit"}), 5.0)
	}, eventually, 10*time.Millisecond)
	r.sim.Heal()
	r.sim.Delay(time.Second) // longer than moog_timeout_ms
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, w.metric(c, "mutt_moog_requests_total", map[string]string{"status": "fail", "reason": "timeout"}), 3.0)
	}, eventually, 10*time.Millisecond)
	require.Zero(t, r.sim.Count(), "nothing was acknowledged so far")
	r.sim.Heal()

	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t), "nothing dead-lettered")
	require.Positive(t, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}))
	require.EqualValues(t, 20, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "success"}))
	require.Zero(t, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "dlq"}))
	require.EqualValues(t, 20, w.metric(t, "mutt_event_end_to_end_seconds", nil))
	require.Positive(t, w.metric(t, "mutt_moog_request_latency_seconds", nil))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, w.metric(c, "mutt_moog_inflight_alerts", nil))
	},
		eventually, 10*time.Millisecond)
}

// requireNoSecret checks that no field of any DLQ entry carries the API key.
func requireNoSecret(t *testing.T, msgs []redis.XMessage, secret string) {
	t.Helper()
	for _, m := range msgs {
		for k, v := range m.Values {
			require.NotContains(t, k, secret)
			require.NotContains(t, v, secret)
		}
	}
}

func TestRejectedAlertIsDeadLetteredWithStatusAndBody(t *testing.T) {
	t.Parallel()
	const secret = "moog-secret-key-123"
	r := newRig(t, moogsim.Options{APIKey: secret}, nil, nil)
	r.sim.Fail(http.StatusBadRequest, -1)
	ids := r.addAlerts(3)
	require.NoError(t, stream.Add(r.ctx, r.rdb, r.keys.AlertStream(0), [][]byte{[]byte(`not an alert`)}))
	w := r.start("a", secret)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.dlq(c), 4)
	}, eventually, 10*time.Millisecond)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, r.streamLen(c))
	}, eventually, 10*time.Millisecond)
	msgs := r.dlq(t)
	reasons := map[string]int{}
	got := map[string]bool{}
	for _, m := range msgs {
		reason := m.Values["reason"].(string)
		reasons[reason]++
		if reason != "moog_rejected" {
			require.Equal(t, "decode_error", reason)
			require.Equal(t, "not an alert", m.Values["d"])
			continue
		}
		require.Equal(t, "400", m.Values["status"])
		require.Contains(t, m.Values["body"], "simulated failure")
		require.LessOrEqual(t, len(m.Values["body"].(string)), 512)
		require.Contains(t, m.Values["error"], "HTTP 400 Bad Request")
		require.Equal(t, "1", m.Values["attempts"])
		var a event.Alert
		require.NoError(t, json.Unmarshal([]byte(m.Values["d"].(string)), &a), "the original alert is kept")
		got[a.EventID] = true
	}
	require.Equal(t, map[string]int{"moog_rejected": 3, "decode_error": 1}, reasons)
	for _, id := range ids {
		require.True(t, got[id], id)
	}
	requireNoSecret(t, msgs, secret)
	require.EqualValues(t, 4, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "dlq"}))
	require.EqualValues(t, 3, w.metric(t, "mutt_moog_requests_total", map[string]string{"status": "fail", "reason": "rejected"}))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 4, w.metric(c, "mutt_moog_dlq_depth", nil))
	}, eventually, 50*time.Millisecond)
	require.Zero(t, r.sim.Count())
}

func TestRetriesExhaustedAreDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"circuit_breaker_threshold": "100000",
		"moog_max_retries":          "2",
	}, nil)
	r.sim.Fail(http.StatusServiceUnavailable, -1)
	r.sim.RetryAfter(0)
	ids := r.addAlerts(2)
	w := r.start("a", "")

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.dlq(c), 2)
	}, eventually, 10*time.Millisecond)
	for _, m := range r.dlq(t) {
		require.Equal(t, "retry_exhausted", m.Values["reason"])
		require.Equal(t, "3", m.Values["attempts"], "the first attempt and 2 retries")
		require.Equal(t, "503", m.Values["status"])
		require.Equal(t, "http", m.Values["last_reason"])
		require.Contains(t, m.Values["error"], "gave up after 3 attempts")
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, r.streamLen(c))
	}, eventually, 10*time.Millisecond)
	require.Equal(t, 2*3, r.sim.Requests())
	require.EqualValues(t, 2*2, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}))
	require.Zero(t, r.sim.Seen(ids[0]))
}

func TestSendsTheAPIKeyAsBearerToken(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{APIKey: "right-key"}, nil, nil)
	ids := r.addAlerts(5)
	r.start("a", "right-key")
	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t))

	// A wrong key is Moogsoft refusing the request: dead-lettered, not retried.
	wrong := newRig(t, moogsim.Options{APIKey: "right-key"}, nil, nil)
	wrong.addAlerts(1)
	wrong.start("b", "wrong-key")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, wrong.dlq(c), 1)
	}, eventually, 10*time.Millisecond)
	m := wrong.dlq(t)[0]
	require.Equal(t, "moog_rejected", m.Values["reason"])
	require.Equal(t, "401", m.Values["status"])
	requireNoSecret(t, wrong.dlq(t), "wrong-key")
	require.Equal(t, 1, wrong.sim.Requests())
}

func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	var followed sync.Map
	r := newRig(t, moogsim.Options{}, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/elsewhere" {
				followed.Store("yes", true)
			}
			http.Redirect(w, req, "/elsewhere", http.StatusTemporaryRedirect)
		})
	})
	r.addAlerts(1)
	r.start("a", "")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.dlq(c), 1)
	}, eventually, 10*time.Millisecond)
	m := r.dlq(t)[0]
	require.Equal(t, "moog_rejected", m.Values["reason"])
	require.Equal(t, "307", m.Values["status"])
	require.Contains(t, m.Values["error"], "/elsewhere")
	_, ok := followed.Load("yes")
	require.False(t, ok)
}

func TestRateLimitMakesAlertsWaitAndFollowsConfig(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{"moog_rate_limit": "5", "moog_rate_period": "1"}, nil)
	ids := r.addAlerts(20)
	w := r.start("a", "")
	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t), "the limit never drops or dead-letters")
	require.Equal(t, 20, r.sim.Requests(), "every alert sent exactly once")
	hits := w.metric(t, "mutt_moog_rate_limit_hits_total", nil)
	require.Positive(t, hits)

	// Lift the limit at run time: no request waits for it any more.
	r.set("moog_rate_limit", "0")
	require.Eventually(t, func() bool { return w.dyn.Int(dynconfig.MoogRateLimit) == 0 }, eventually, 10*time.Millisecond)
	more := r.addAlerts(30)
	r.waitDelivered(more)
	require.Equal(t, hits, w.metric(t, "mutt_moog_rate_limit_hits_total", nil))

	// And tighten it again: it applies at once.
	r.set("moog_rate_limit", "2")
	require.Eventually(t, func() bool { return w.dyn.Int(dynconfig.MoogRateLimit) == 2 }, eventually, 10*time.Millisecond)
	last := r.addAlerts(6)
	r.waitDelivered(last)
	require.Greater(t, w.metric(t, "mutt_moog_rate_limit_hits_total", nil), hits)
	require.Empty(t, r.dlq(t))
}

func TestCircuitBreakerSharedByForwarders(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"circuit_breaker_threshold": "3",
		"circuit_breaker_timeout":   "3600",
		// Few retries: were time spent open to burn them, alerts would be dead-lettered.
		"moog_max_retries": "3",
	}, nil)
	r.sim.Fail(http.StatusServiceUnavailable, -1)
	r.sim.RetryAfter(0)
	ids := r.addAlerts(20)
	a := r.start("a", "")
	b := r.start("b", "")
	both := []*fwd{a, b}
	sum := func(name string, labels map[string]string) float64 {
		return a.metric(t, name, labels) + b.metric(t, name, labels)
	}

	require.Eventually(t, func() bool {
		return r.rdb.HGet(r.ctx, r.keys.CircuitBreaker(), "state").Val() == forward.StateOpen
	}, eventually, 10*time.Millisecond)
	for _, w := range both {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.EqualValues(c, 1, w.metric(c, "mutt_moog_circuit_breaker_state", nil))
		},
			eventually, 10*time.Millisecond, "every forwarder sees the shared state")
	}
	require.EqualValues(t, 1, sum("mutt_moog_circuit_breaker_trips_total", nil))

	// While open: forwarders keep asking and are told to wait; Moogsoft hears nothing.
	open := map[string]string{"status": "fail", "reason": "circuit_open"}
	require.Eventually(t, func() bool { return sum("mutt_moog_requests_total", open) >= 1 }, eventually, 10*time.Millisecond)
	requests := r.sim.Requests()
	retries := sum("mutt_moog_alerts_processed_total", map[string]string{"status": "retry"})
	denied := sum("mutt_moog_requests_total", open)
	require.Eventually(t, func() bool { return sum("mutt_moog_requests_total", open) >= denied+16 },
		eventually, 10*time.Millisecond)
	require.Equal(t, requests, r.sim.Requests(), "no request while open")
	require.Equal(t, retries, sum("mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}),
		"no retry attempt consumed while open")
	require.Empty(t, r.dlq(t), "nothing dead-lettered while open")
	require.EqualValues(t, 20, r.streamLen(t), "nothing acknowledged while open")

	// Moogsoft recovers and the open period ends: a single probe closes it.
	r.sim.Heal()
	r.set("circuit_breaker_timeout", "1")
	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t))
	require.Equal(t, forward.StateClosed, r.rdb.HGet(r.ctx, r.keys.CircuitBreaker(), "state").Val())
	require.Equal(t, "1", r.rdb.HGet(r.ctx, r.keys.CircuitBreaker(), "probes").Val(), "exactly one probe")
	// The dashboard's history holds the trip and the probe's close, in that order.
	var states []string
	for _, m := range r.rdb.XRange(r.ctx, r.keys.BreakerHistory(), "-", "+").Val() {
		states = append(states, m.Values["state"].(string))
	}
	require.Equal(t, []string{forward.StateOpen, forward.StateClosed}, states)
	for _, w := range both {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Zero(c, w.metric(c, "mutt_moog_circuit_breaker_state", nil))
		},
			eventually, 10*time.Millisecond)
	}
}

func TestBatchesOfAtMostMoogBatchSize(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sizes []int
	var shapeErr error
	r := newRig(t, moogsim.Options{}, map[string]string{"moog_batch_size": "10"}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, err := io.ReadAll(req.Body)
			var batch struct {
				Events []json.RawMessage `json:"events"`
			}
			if err == nil {
				err = json.Unmarshal(body, &batch)
			}
			mu.Lock()
			if err != nil || batch.Events == nil {
				shapeErr = err
				if shapeErr == nil {
					shapeErr = io.ErrUnexpectedEOF
				}
			}
			sizes = append(sizes, len(batch.Events))
			mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, req)
		})
	})
	ids := r.addAlerts(35)
	r.start("a", "")
	r.waitDelivered(ids)

	mu.Lock()
	defer mu.Unlock()
	require.NoError(t, shapeErr, `every request is {"events":[...]}`)
	total, largest := 0, 0
	for _, n := range sizes {
		require.LessOrEqual(t, n, 10)
		require.Positive(t, n)
		total += n
		largest = max(largest, n)
	}
	require.Equal(t, 35, total, "each alert sent once")
	require.Equal(t, 10, largest, "alerts read together are sent together")
	require.Equal(t, 35, r.sim.Count())
}

func TestRejectedBatchIsRetriedAlertByAlert(t *testing.T) {
	t.Parallel()
	var bad string
	var mu sync.Mutex
	r := newRig(t, moogsim.Options{}, map[string]string{"moog_batch_size": "10"}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			mu.Lock()
			reject := bad != "" && strings.Contains(string(body), bad)
			mu.Unlock()
			if reject {
				http.Error(w, `{"message":"event `+bad+` is invalid"}`, http.StatusBadRequest)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, req)
		})
	})
	ids := r.addAlerts(10)
	mu.Lock()
	bad = ids[4]
	mu.Unlock()
	r.start("a", "")

	good := append(append([]string{}, ids[:4]...), ids[5:]...)
	r.waitDelivered(good)
	msgs := r.dlq(t)
	require.Len(t, msgs, 1, "only the bad alert is dead-lettered")
	var a event.Alert
	require.NoError(t, json.Unmarshal([]byte(msgs[0].Values["d"].(string)), &a),
		"the dead letter holds the bad alert alone, not the entry of ten it came in")
	require.Equal(t, bad, a.EventID)
	require.NotContains(t, msgs[0].Values, stream.EventsField)
	require.Contains(t, msgs[0].Values["body"], "is invalid")
	require.Zero(t, r.sim.Seen(bad))
	require.Zero(t, r.rdb.Exists(r.ctx, stream.CounterKey(r.keys.AlertStream(0))).Val(),
		"the entry is acknowledged once its last alert is done, and the backlog is empty")
}

// An entry of several alerts with one that does not decode is corrupt (its
// writer is MUTT's alerter): it is dead-lettered whole, as written, with
// its count; the alerts of other entries are delivered.
func TestEntryWithAnUndecodableAlertIsDeadLetteredWhole(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, nil, nil)
	corrupt := `[{"event_id":"x-1","hostname":"h"},not an alert,{"event_id":"x-3"}]`
	_, err := stream.Push(r.ctx, r.rdb, r.keys.AlertStream(0), 0, [][]byte{[]byte(corrupt)}, []int{3})
	require.NoError(t, err)
	ids := r.addAlerts(5)
	w := r.start("a", "")
	r.waitDelivered(ids)
	msgs := r.dlq(t)
	require.Len(t, msgs, 1)
	require.Equal(t, "decode_error", msgs[0].Values["reason"])
	require.Equal(t, corrupt, msgs[0].Values["d"])
	require.Equal(t, "3", msgs[0].Values[stream.EventsField], "replayable with its count")
	require.Contains(t, msgs[0].Values["error"], "alert 1 of the entry")
	require.Zero(t, r.sim.Seen("x-1"), "no part of a corrupt entry is sent")
	require.EqualValues(t, 3, w.metric(t, "mutt_moog_alerts_processed_total", map[string]string{"status": "dlq"}))
}

func TestAnotherForwarderTakesOverAlertsOfADeadOne(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"stream_visibility_timeout_ms": "1000",
		"circuit_breaker_threshold":    "100000",
		"moog_max_retries":             "100",
		"moog_retry_base_delay_ms":     "600000", // the first forwarder holds them, waiting to retry
		"moog_retry_max_delay_ms":      "600000",
		"moog_batch_size":              "10", // one request: its Retry-After holds the next one
	}, nil)
	r.sim.Fail(http.StatusServiceUnavailable, -1)
	r.sim.RetryAfter(600)
	ids := r.addAlerts(10)
	a := r.start("a", "")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 10, a.metric(c, "mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}))
	}, eventually, 10*time.Millisecond)
	a.stop() // gone with every alert in hand, none acknowledged
	pending, err := r.rdb.XPending(r.ctx, r.keys.AlertStream(0), forward.Group).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, pending.Count, "one entry holds the ten alerts")
	require.Equal(t, map[string]int64{"a": 1}, pending.Consumers)

	// By the time another forwarder takes over, Moogsoft's Retry-After is
	// over (it holds every forwarder: ADR 0040) and Moogsoft is back.
	require.NoError(t, r.rdb.HDel(r.ctx, r.keys.CircuitBreaker(), "hold_until").Err())
	r.sim.Heal()
	b := r.start("b", "")
	r.waitDelivered(ids)
	require.EqualValues(t, 1, b.metric(t, "mutt_stream_reclaimed_total", nil), "the entry of the ten alerts")
	require.Empty(t, r.dlq(t))
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, nil, nil)
	r.sim.Delay(500 * time.Millisecond)
	ids := r.addAlerts(1)
	w := r.start("a", "")
	require.Eventually(t, func() bool { return r.sim.Requests() == 1 }, eventually, 5*time.Millisecond)
	w.stop()
	require.Equal(t, 1, r.sim.Seen(ids[0]), "the request in flight completed")
	require.Zero(t, r.streamLen(t), "and its success was acknowledged before Run returned")
	pending, err := r.rdb.XPending(r.ctx, r.keys.AlertStream(0), forward.Group).Result()
	require.NoError(t, err)
	require.Zero(t, pending.Count)
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRedisOutageHoldsAlertsUntilItReturns(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, map[string]string{
		"circuit_breaker_threshold": "100000",
		"moog_max_retries":          "1000",
		"moog_retry_max_delay_ms":   "50",
	}, nil)
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr = proxy.Addr()
	prdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = prdb.Close() })
	var logs syncBuffer
	r.sim.Fail(http.StatusServiceUnavailable, -1)
	r.sim.RetryAfter(0)
	ids := r.addAlerts(10)
	w := r.startWith("a", "", prdb, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, w.metric(c, "mutt_moog_alerts_processed_total", map[string]string{"status": "retry"}), 10.0)
	}, eventually, 10*time.Millisecond)

	// Redis goes away while the forwarder holds every alert; Moogsoft recovers meanwhile.
	proxy.Cut()
	r.sim.Heal()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "unavailable, holding alerts") },
		eventually, 10*time.Millisecond)
	require.Empty(t, r.dlq(t))

	proxy.Restore()
	r.waitDelivered(ids)
	require.Empty(t, r.dlq(t), "an outage of Redis dead-letters nothing")
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	_, err := forward.New(forward.Options{WebhookURL: "ftp://x"})
	require.Error(t, err)
	for _, want := range []string{"Redis is required", "Keys is required", "Dyn is required",
		"Registerer is required", "StreamMetrics is required", "MOOG_WEBHOOK_URL"} {
		require.ErrorContains(t, err, want)
	}

	rdb, keys := testenv.Redis(t)
	reg := prometheus.NewRegistry()
	opts := forward.Options{Redis: rdb, Keys: keys, Dyn: dynconfig.NewStore(rdb, keys, quiet), Registerer: reg,
		StreamMetrics: stream.NewMetrics(reg), WebhookURL: "http://127.0.0.1:1/events"}
	_, err = forward.New(opts)
	require.NoError(t, err)
	_, err = forward.New(opts)
	require.ErrorContains(t, err, "register forwarder metrics", "a registry holds one forwarder")
}

// A replayed alert (DLQ remediation adds a "replays" field) that is rejected
// again keeps its replay count, so remediation can park it as poison instead
// of replaying it forever.
func TestRejectedReplayKeepsReplayCount(t *testing.T) {
	t.Parallel()
	r := newRig(t, moogsim.Options{}, nil, nil)
	r.sim.Fail(http.StatusBadRequest, -1)
	ids := r.addAlerts(1)
	raw, err := r.rdb.XRange(r.ctx, r.keys.AlertStream(0), "-", "+").Result()
	require.NoError(t, err)
	require.NoError(t, r.rdb.Del(r.ctx, r.keys.AlertStream(0)).Err())
	require.NoError(t, r.rdb.XAdd(r.ctx, &redis.XAddArgs{Stream: r.keys.AlertStream(0),
		Values: []any{stream.Field, raw[0].Values[stream.Field], stream.ReplaysField, "2"}}).Err())
	r.start("a", "")

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.dlq(c), 1)
	}, eventually, 10*time.Millisecond)
	m := r.dlq(t)[0]
	require.Equal(t, "moog_rejected", m.Values["reason"])
	require.Equal(t, "2", m.Values[stream.ReplaysField])
	require.Contains(t, m.Values["d"], ids[0])
}

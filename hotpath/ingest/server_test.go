package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

var quiet = slog.New(slog.DiscardHandler)

const key = "test-key-1"

// env is one ingestor under test on its own Redis prefix.
type env struct {
	srv    *ingest.Server
	url    string
	addr   string
	client *http.Client
	rdb    redis.UniversalClient
	keys   keyspace.Keys
	dyn    *dynconfig.Store
	reg    *prometheus.Registry
}

type setup struct {
	cfg    ingest.Config
	shards int
	now    func() time.Time
	run    bool // run the dynamic config store (tests that change config)
	rdb    redis.UniversalClient
	http   telemetry.HTTPConfig
	client *http.Client // for https; http.DefaultClient otherwise
}

func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	if s.shards > 0 {
		keys = keyspace.New(keys.Prefix, s.shards)
	}
	client := redis.UniversalClient(rdb)
	if s.rdb != nil {
		client = s.rdb
	}
	if len(s.cfg.APIKeys) == 0 {
		s.cfg.APIKeys = []string{key}
	}
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	if s.run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = dyn.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	reg := prometheus.NewRegistry()
	srv, err := ingest.New(ingest.Options{
		Config: s.cfg, Redis: client, Keys: keys, Dyn: dyn, Log: quiet, Registerer: reg, Now: s.now, HTTP: s.http,
	})
	require.NoError(t, err)
	// The real listener (timeouts, connection cap, TLS), as Run builds it.
	hc, err := srv.HTTPConfig()
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- telemetry.ServeListener(ctx, quiet, ln, srv.Handler(), hc) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	scheme := "http://"
	if hc.TLS != nil {
		scheme = "https://"
	}
	return &env{srv: srv, url: scheme + ln.Addr().String(), addr: ln.Addr().String(), rdb: rdb, keys: keys, dyn: dyn, reg: reg, client: s.client}
}

// setDyn changes a dynamic config value and waits until the store has it.
func (e *env) setDyn(t *testing.T, key interface{ Name() string }, value string) {
	t.Helper()
	require.NoError(t, dynconfig.Set(context.Background(), e.rdb, e.keys, key.Name(), value))
	require.Eventually(t, func() bool {
		for _, v := range e.dyn.Effective() {
			if v.Key.Name == key.Name() {
				return v.Raw == value
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
}

type response struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, method, path, body string, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return sendWith(t, e.client, req)
}

func send(t *testing.T, req *http.Request) response {
	t.Helper()
	return sendWith(t, nil, req)
}

func sendWith(t *testing.T, client *http.Client, req *http.Request) response {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Body.Close()) }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := response{code: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 && res.Header.Get("Content-Type") == "application/json" {
		require.NoError(t, json.Unmarshal(raw, &r.body), "body %s", raw)
	}
	return r
}

func (e *env) post(t *testing.T, body string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/ingest", body, map[string]string{"X-API-KEY": key})
}

func evt(host string, i int) string {
	return fmt.Sprintf(`{"hostname":%q,"message":"event %d","timestamp":"2025-01-02T03:04:05.1234567Z","syslog_severity":"Warning"}`, host, i)
}

func batch(host string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = evt(host, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// requireError checks the error shape every refusal has.
func requireError(t *testing.T, r response, code int, msgPart string) {
	t.Helper()
	require.Equal(t, code, r.code, r.raw)
	require.Equal(t, "error", r.body["status"], r.raw)
	require.Contains(t, r.body["message"], msgPart)
	require.NotEmpty(t, r.body["correlation_id"])
	require.Equal(t, r.header.Get("X-Correlation-ID"), r.body["correlation_id"])
}

func (e *env) backlog(t *testing.T) int64 {
	t.Helper()
	n, err := stream.Depth(context.Background(), e.rdb, e.keys.IngestStreams()...)
	require.NoError(t, err)
	return n
}

// stored reads every envelope on the ingest stream shards.
func (e *env) stored(t *testing.T) []event.Envelope {
	t.Helper()
	var out []event.Envelope
	for _, m := range testenv.Queued(t, e.rdb, e.keys.IngestStreams()...) {
		var env event.Envelope
		require.NoError(t, json.Unmarshal([]byte(m), &env))
		out = append(out, env)
	}
	return out
}

func TestQueuedEventsAreInTheStreamWhenTheAnswerArrives(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	body := "[" + evt("r1", 0) + "," + `{"_retry_count":99,"hostname":"r1","message":"second","timestamp":"2025-01-02T03:04:06Z","_correlation_id":"forged"}` +
		"," + `{"source_ip":"10.0.0.9","timestamp":"2025-01-02T03:04:07Z","trap_oid":".1.3.6.1.6.3.1.1.5.3","variables":["@{oid=1.3.6.1.2.1.2.2.1.1.2; value=2}"],"severity":"Minor"}` + "]"
	r := e.do(t, http.MethodPost, "/api/v2/ingest", body, map[string]string{"X-API-KEY": key, "X-Correlation-ID": "req-42"})
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.Equal(t, "queued", r.body["status"])
	require.Equal(t, "req-42", r.body["correlation_id"])
	require.Equal(t, "req-42", r.header.Get("X-Correlation-ID"))
	require.EqualValues(t, 3, r.body["count"])
	require.EqualValues(t, 3, r.body["queue_depth"])
	ids := r.body["event_ids"].([]any)
	require.Len(t, ids, 3)

	got := e.stored(t)
	require.Len(t, got, 3)
	for i, env := range got {
		require.Equal(t, ids[i], env.EventID, "stream order is request order")
		require.Equal(t, "req-42", env.CorrelationID)
		require.Equal(t, event.SourceHTTP, env.Source)
		require.False(t, env.ReceivedAt.IsZero())
	}
	require.Equal(t, "r1", got[0].Hostname)
	require.Equal(t, 4, *got[0].Severity)
	require.JSONEq(t, evt("r1", 0), string(got[0].Original))
	require.JSONEq(t, `{"hostname":"r1","message":"second","timestamp":"2025-01-02T03:04:06Z"}`, string(got[1].Original),
		"reserved fields never reach the stream")
	require.Equal(t, "10.0.0.9", got[2].Hostname)
	require.Equal(t, "1.3.6.1.6.3.1.1.5.3", got[2].TrapOID)
	require.Equal(t, `SNMP trap 1.3.6.1.6.3.1.1.5.3: ["@{oid=1.3.6.1.2.1.2.2.1.1.2; value=2}"]`, got[2].Message)
	require.Equal(t, 4, *got[2].Severity)

	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "success", "reason": ""}))
	require.EqualValues(t, 3, testenv.Metric(t, e.reg, "mutt_ingest_events_total", map[string]string{"status": "accepted"}))
	require.EqualValues(t, 3, testenv.Metric(t, e.reg, "mutt_ingest_queue_depth", nil))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_batch_size", nil))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_latency_seconds", nil))
}

// TestARequestIsOneEntryPerHundredEvents: the events of a request go to
// the stream as entries of up to 100, each a JSON array with its count in
// field n (ADR 0048), in request order; an event alone is an entry as it
// always was. The backlog and the answer count events.
func TestARequestIsOneEntryPerHundredEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.post(t, batch("h", 250))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 250, r.body["queue_depth"])
	r = e.post(t, evt("h", 250))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 251, r.body["queue_depth"])

	msgs, err := e.rdb.XRange(context.Background(), e.keys.IngestStream(0), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, msgs, 4)
	for i, want := range []int{100, 100, 50} {
		require.Equal(t, fmt.Sprint(want), msgs[i].Values[stream.EventsField])
		var arr []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(msgs[i].Values[stream.Field].(string)), &arr))
		require.Len(t, arr, want)
	}
	require.NotContains(t, msgs[3].Values, stream.EventsField)
	require.Contains(t, msgs[3].Values[stream.Field], `"message":"event 250"`)
	got := e.stored(t)
	require.Len(t, got, 251)
	for i, env := range got {
		require.Equal(t, fmt.Sprintf("event %d", i), env.Message, "stream order is request order")
	}
	require.EqualValues(t, 251, e.backlog(t))
}

func TestEveryIngestRouteAndBodyShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	ndjson := evt("a", 1) + "\r\n\r\n" + evt("b", 2) + "\n"
	for _, path := range []string{"/ingest", "/api/v1/ingest", "/api/v2/ingest"} {
		for _, body := range []string{evt("a", 0), batch("a", 2), ndjson} {
			// rsyslog's omhttp sends no JSON content type; none is required.
			r := e.do(t, http.MethodPost, path, body, map[string]string{"X-API-KEY": key, "Content-Type": "text/plain"})
			require.Equal(t, http.StatusOK, r.code, "%s %s", path, r.raw)
		}
	}
	require.EqualValues(t, 15, e.backlog(t))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{cfg: ingest.Config{APIKeys: []string{key, "second-key", "третий-ключ"}}})
	for name, hdr := range map[string]map[string]string{
		"missing":           nil,
		"empty":             {"X-API-KEY": ""},
		"wrong":             {"X-API-KEY": "nope"},
		"prefix of a key":   {"X-API-KEY": key[:4]},
		"key plus a suffix": {"X-API-KEY": key + "x"},
		"non-ascii":         {"X-API-KEY": "ключ-\xff\xfe"},
		"wrong header":      {"Authorization": "Bearer " + key},
	} {
		r := e.do(t, http.MethodPost, "/ingest", evt("h", 0), hdr)
		requireError(t, r, http.StatusUnauthorized, "X-API-KEY")
		require.Equal(t, "unauthorized: missing or invalid X-API-KEY header", r.body["message"], name)
	}
	// Auth comes before every other check, even a malformed body.
	requireError(t, e.do(t, http.MethodPost, "/ingest", "{", map[string]string{"X-API-KEY": "nope"}), http.StatusUnauthorized, "X-API-KEY")
	require.EqualValues(t, 0, e.backlog(t))
	require.EqualValues(t, 8, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "auth"}))

	// Every configured key works, so a key can be rotated without downtime.
	for _, k := range []string{key, "second-key", "третий-ключ"} {
		r := e.do(t, http.MethodPost, "/ingest", evt("h", 0), map[string]string{"X-API-KEY": k})
		require.Equal(t, http.StatusOK, r.code, r.raw)
	}
	// The header name is case-insensitive, as in HTTP.
	r := e.do(t, http.MethodPost, "/ingest", evt("h", 0), map[string]string{"x-api-key": key})
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 4, e.backlog(t))
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{cfg: ingest.Config{MaxBodyBytes: 2048}})
	big := batch("h", 40)
	require.Greater(t, len(big), 2048)

	// Content-Length over the limit: refused before reading.
	r := e.post(t, big)
	requireError(t, r, http.StatusRequestEntityTooLarge, "larger than 2048 bytes (limit MUTT_INGEST_MAX_BODY_BYTES)")

	// No Content-Length (chunked): refused while reading.
	req, err := http.NewRequest(http.MethodPost, e.url+"/ingest", io.MultiReader(strings.NewReader(big)))
	require.NoError(t, err)
	req.Header.Set("X-API-KEY", key)
	req.ContentLength = -1 // sent chunked
	r = send(t, req)
	requireError(t, r, http.StatusRequestEntityTooLarge, "larger than 2048 bytes")

	// Size comes after auth.
	r = e.do(t, http.MethodPost, "/ingest", big, nil)
	require.Equal(t, http.StatusUnauthorized, r.code)

	require.EqualValues(t, 0, e.backlog(t))
	require.EqualValues(t, 2, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "too_large"}))
	// Just under the limit is fine.
	r = e.post(t, batch("h", 5))
	require.Equal(t, http.StatusOK, r.code, r.raw)
}

func TestBadEventRejectsTheWholeBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{cfg: ingest.Config{MaxBatch: 4}})
	bad := "[" + evt("h", 0) + "," + evt("h", 1) + "," + evt("h", 2) + `,{"hostname":"h","message":"m","timestamp":"03/01/2025"}` + "]"
	r := e.post(t, bad)
	requireError(t, r, http.StatusBadRequest, "")
	require.Equal(t, `event 3: field "timestamp": must be an RFC 3339 time such as 2025-01-31T12:00:00.1234567Z`, r.body["message"])

	r = e.post(t, "["+evt("h", 0)+`,{"message":"m","timestamp":"2025-01-02T03:04:05Z"}]`)
	requireError(t, r, http.StatusBadRequest, "")
	require.Equal(t, `event 1: missing required field "hostname"`, r.body["message"])

	r = e.post(t, batch("h", 5))
	requireError(t, r, http.StatusBadRequest, "batch has more than 4 events (limit MUTT_INGEST_MAX_BATCH)")

	r = e.post(t, "null")
	requireError(t, r, http.StatusBadRequest, "body is null")

	require.EqualValues(t, 0, e.backlog(t), "nothing of a rejected request is queued")
	require.EqualValues(t, 3, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "validation"}))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "json"}))
}

func TestRateLimitAndItsDynamicChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{run: true})
	// A window long enough that nothing refills during the test.
	e.setDyn(t, dynconfig.IngestRateWindow, "3600")
	r := e.post(t, batch("h", 20))
	require.Equal(t, http.StatusOK, r.code, r.raw)

	// Lowering the limit applies to the next request, counted in events.
	e.setDyn(t, dynconfig.IngestMaxRate, "5")
	r = e.post(t, batch("h", 6))
	requireError(t, r, http.StatusRequestEntityTooLarge, "send smaller batches")
	r = e.post(t, batch("h", 3))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	r = e.post(t, batch("h", 3))
	requireError(t, r, http.StatusTooManyRequests, "rate limit of 5 events per 1h0m0s exceeded")
	ra := r.header.Get("Retry-After")
	require.NotEmpty(t, ra)
	var secs int
	_, err := fmt.Sscan(ra, &secs)
	require.NoError(t, err)
	require.GreaterOrEqual(t, secs, 1)
	require.EqualValues(t, secs, r.body["retry_after"])
	require.EqualValues(t, 23, e.backlog(t), "a refused request queues nothing")

	// Rate limit comes after validation: a bad body is a 400, not a 429.
	requireError(t, e.post(t, "[]"), http.StatusBadRequest, "empty batch")

	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_rate_limit_hits_total", nil))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_rate_limited_total", nil), "the Python name counts alike")
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "rate_limit"}))

	// 0 turns the limit off.
	e.setDyn(t, dynconfig.IngestMaxRate, "0")
	r = e.post(t, batch("h", 50))
	require.Equal(t, http.StatusOK, r.code, r.raw)
}

func TestBackpressureAndItsDynamicChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{run: true})
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "3")
	r := e.post(t, batch("h", 3))
	require.Equal(t, http.StatusOK, r.code, r.raw)

	r = e.post(t, evt("h", 9))
	requireError(t, r, http.StatusServiceUnavailable, "ingest queue full")
	require.Equal(t, "5", r.header.Get("Retry-After"))
	require.EqualValues(t, 3, r.body["queue_depth"])
	require.EqualValues(t, 3, r.body["queue_limit"])
	require.EqualValues(t, 3, e.backlog(t))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "queue_full"}))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_events_total", map[string]string{"status": "rejected"}))

	// Raising the limit lets events in again at once.
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "10")
	r = e.post(t, batch("h", 2))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 5, r.body["queue_depth"])
	require.EqualValues(t, 5, e.backlog(t))

	// Lowered to the backlog: the shard was last seen full, so the request
	// is refused from the backlog read alone, with the same answer.
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "5")
	r = e.post(t, evt("h", 10))
	requireError(t, r, http.StatusServiceUnavailable, "ingest queue full")
	require.EqualValues(t, 5, r.body["queue_depth"])
	require.EqualValues(t, 5, r.body["queue_limit"])
	require.EqualValues(t, 5, e.backlog(t))

	// The backlog drains (the alerters took it all): the next request is
	// accepted at once, whatever was last seen.
	require.NoError(t, e.rdb.Del(context.Background(), e.keys.IngestStream(0)).Err())
	r = e.post(t, batch("h", 2))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 2, r.body["queue_depth"])
	require.EqualValues(t, 2, e.backlog(t))
}

func TestShardsKeepHostsTogetherAndRefuseWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{shards: 4, run: true})
	var parts []string
	for i := range 40 {
		parts = append(parts, evt(fmt.Sprintf("Host-%d", i%8), i))
	}
	r := e.post(t, "["+strings.Join(parts, ",")+"]")
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.EqualValues(t, 40, e.backlog(t))

	// Each host's events sit on one shard, in the order sent.
	hostShard := map[string]string{}
	last := map[string]int{}
	used := map[string]bool{}
	for _, s := range e.keys.IngestStreams() {
		for _, m := range testenv.Queued(t, e.rdb, s) {
			var env event.Envelope
			require.NoError(t, json.Unmarshal([]byte(m), &env))
			if prev, ok := hostShard[env.Hostname]; ok {
				require.Equal(t, prev, s, "host %s split over shards", env.Hostname)
			}
			hostShard[env.Hostname] = s
			var n int
			_, err := fmt.Sscanf(env.Message, "event %d", &n)
			require.NoError(t, err)
			if p, ok := last[env.Hostname]; ok {
				require.Greater(t, n, p, "per-host order kept")
			}
			last[env.Hostname] = n
			used[s] = true
		}
	}
	require.Greater(t, len(used), 1, "8 hosts spread over more than one shard")

	// The same host in another case goes to the same shard.
	r = e.post(t, evt("HOST-0", 100))
	require.Equal(t, http.StatusOK, r.code, r.raw)
	msgs := testenv.Queued(t, e.rdb, hostShard["Host-0"])
	require.Contains(t, msgs[len(msgs)-1], `"hostname":"HOST-0"`)

	// Limit 8 over 4 shards is 2 per shard, and every shard holds more: a
	// request touching several shards is refused whole.
	e.setDyn(t, dynconfig.MaxIngestQueueSize, "8")
	before := e.backlog(t)
	r = e.post(t, "["+strings.Join(parts[:8], ",")+"]")
	requireError(t, r, http.StatusServiceUnavailable, "ingest queue full")
	require.EqualValues(t, 2, r.body["queue_limit"])
	require.Equal(t, before, e.backlog(t))
}

func TestCorrelationIDEchoed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	hdr := func(cid string) map[string]string {
		return map[string]string{"X-API-KEY": key, "X-Correlation-ID": cid}
	}

	r := e.do(t, http.MethodPost, "/ingest", evt("h", 0), hdr("abc-123:x.y_z"))
	require.Equal(t, "abc-123:x.y_z", r.header.Get("X-Correlation-ID"))
	require.Equal(t, "abc-123:x.y_z", r.body["correlation_id"])

	for _, bad := range []string{strings.Repeat("a", 65), "has space", "semi;colon", "<script>"} {
		r = e.do(t, http.MethodPost, "/ingest", evt("h", 0), hdr(bad))
		got := r.header.Get("X-Correlation-ID")
		require.NotEqual(t, bad, got)
		require.Regexp(t, `^[0-9a-f]{32}$`, got, "a replacement id is 32 hex digits, as the admin API makes them (docs/API_REFERENCE.md)")
		require.Equal(t, got, r.body["correlation_id"])
	}
	// Without one, one is made; errors carry it too.
	r = e.do(t, http.MethodPost, "/ingest", "{", map[string]string{"X-API-KEY": key})
	require.Regexp(t, `^[0-9a-f]{32}$`, r.header.Get("X-Correlation-ID"))
	require.Equal(t, r.header.Get("X-Correlation-ID"), r.body["correlation_id"])
	r = e.do(t, http.MethodGet, "/nowhere", "", map[string]string{"X-Correlation-ID": "lost-1"})
	require.Equal(t, "lost-1", r.header.Get("X-Correlation-ID"))

	for _, env := range e.stored(t)[:1] {
		require.Equal(t, "abc-123:x.y_z", env.CorrelationID)
	}
}

func TestHealthFollowsRedis(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr, opts.MaxRetries, opts.DialTimeout, opts.ReadTimeout = proxy.Addr(), -1, time.Second, time.Second
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(t, setup{rdb: rdb})

	r := e.do(t, http.MethodGet, "/health", "", nil)
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.Equal(t, "healthy", r.body["status"])
	require.Equal(t, "mutt-ingestor", r.body["service"])
	require.Equal(t, "ok", r.body["dependencies"].(map[string]any)["redis"])
	r = e.post(t, evt("h", 0))
	require.Equal(t, http.StatusOK, r.code, r.raw)

	proxy.Cut()
	r = e.do(t, http.MethodGet, "/health", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.code, r.raw)
	require.Equal(t, "unhealthy", r.body["status"])
	require.Equal(t, "error", r.body["dependencies"].(map[string]any)["redis"])
	require.NotContains(t, r.raw, proxy.Addr(), "/health answers without a key: no addresses")
	require.NotContains(t, r.raw, "dial")

	// Ingest answers 503 without internals while Redis is away.
	r = e.post(t, evt("h", 1))
	requireError(t, r, http.StatusServiceUnavailable, "Redis is unavailable")
	require.NotContains(t, r.body["message"], proxy.Addr())
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "redis"}))

	proxy.Restore()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		client := e.client
		if client == nil {
			client = http.DefaultClient
		}
		res, err := client.Get(e.url + "/health")
		if !assert.NoError(c, err) {
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		assert.Equal(c, http.StatusOK, res.StatusCode)
	}, 10*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 1, e.backlog(t), "only the event accepted before the outage is queued")
}

func TestAdminConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{run: true, cfg: ingest.Config{APIKeys: []string{key, "other-secret-key"}, MaxBatch: 77}})
	e.setDyn(t, dynconfig.IngestMaxRate, "1234")

	requireError(t, e.do(t, http.MethodGet, "/admin/config", "", nil), http.StatusUnauthorized, "X-API-KEY")

	r := e.do(t, http.MethodGet, "/admin/config", "", map[string]string{"X-API-KEY": key})
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.NotContains(t, r.raw, key)
	require.NotContains(t, r.raw, "other-secret-key")
	static := r.body["static"].(map[string]any)
	require.EqualValues(t, 77, static["max_batch"])
	require.EqualValues(t, 2, static["api_keys_configured"])
	require.EqualValues(t, ingest.DefaultMaxBodyBytes, static["max_body_bytes"])
	values := map[string]map[string]any{}
	for _, v := range r.body["dynamic"].([]any) {
		m := v.(map[string]any)
		values[m["name"].(string)] = m
	}
	require.Equal(t, "1234", values["ingest_max_rate"]["value"])
	require.Equal(t, "50000", values["ingest_max_rate"]["default"])
	require.Equal(t, "redis", values["ingest_max_rate"]["source"])
	require.Equal(t, "default", values["max_ingest_queue_size"]["source"])
}

func TestDashboardCounters(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600)) // the buckets are UTC
	e := newEnv(t, setup{now: func() time.Time { return at }})
	require.Equal(t, http.StatusOK, e.post(t, batch("h", 3)).code)
	require.Equal(t, http.StatusOK, e.post(t, batch("h", 2)).code)
	requireError(t, e.post(t, "[]"), http.StatusBadRequest, "empty batch")

	ctx := context.Background()
	for _, b := range []struct {
		key string
		ttl time.Duration
	}{
		{e.keys.RateBucket("1m", "2025-03-04T04:06"), 7200 * time.Second},
		{e.keys.RateBucket("1h", "2025-03-04T04"), 172800 * time.Second},
		{e.keys.RateBucket("24h", "2025-03-04"), 2592000 * time.Second},
	} {
		n, err := e.rdb.Get(ctx, b.key).Int()
		require.NoError(t, err, b.key)
		require.Equal(t, 5, n, "%s counts events, not requests", b.key)
		ttl, err := e.rdb.TTL(ctx, b.key).Result()
		require.NoError(t, err)
		require.Greater(t, ttl, time.Duration(0))
		require.LessOrEqual(t, ttl, b.ttl)
	}
	got := e.stored(t)
	require.Len(t, got, 5)
	require.True(t, got[0].ReceivedAt.Equal(at))
	require.Equal(t, time.UTC, got[0].ReceivedAt.Location())
}

func TestRoutesInfoAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})

	r := e.do(t, http.MethodGet, "/", "", nil)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, "mutt-ingestor", r.body["service"])
	require.Contains(t, r.body["endpoints"].(map[string]any)["ingest"], "/api/v2/ingest")

	r = e.do(t, http.MethodGet, "/ingest", "", map[string]string{"X-API-KEY": key})
	requireError(t, r, http.StatusMethodNotAllowed, "method GET is not allowed on /ingest")
	require.Equal(t, "POST", r.header.Get("Allow"))
	r = e.do(t, http.MethodPost, "/health", "", nil)
	requireError(t, r, http.StatusMethodNotAllowed, "use GET")

	r = e.do(t, http.MethodGet, "/no/such/path", "", nil)
	requireError(t, r, http.StatusNotFound, "no such endpoint /no/such/path")
	r = e.do(t, http.MethodPost, "/ingest/", evt("h", 0), map[string]string{"X-API-KEY": key})
	require.Equal(t, http.StatusNotFound, r.code)

	require.Equal(t, http.StatusOK, e.post(t, evt("h", 0)).code)
	r = e.do(t, http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.code)
	for _, name := range []string{"mutt_ingest_requests_total", "mutt_ingest_events_total", "mutt_ingest_latency_seconds",
		"mutt_ingest_rate_limit_hits_total", "mutt_ingest_queue_depth", "mutt_ingest_batch_size"} {
		require.Contains(t, r.raw, name)
	}
	require.Contains(t, r.raw, `mutt_ingest_requests_total{reason="",status="success"} 1`)
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "mutt_ingest_requests_total" {
			require.Len(t, mf.GetMetric(), 9, "every outcome series exists from the start")
		}
	}
}

func TestReadConfig(t *testing.T) {
	t.Parallel()
	e := config.FromMap(map[string]string{
		"INGEST_API_KEY":              " k1, k2 ,,",
		"INGEST_API_KEY_NEXT":         "k3",
		"MUTT_INGEST_ADDR":            "127.0.0.1:9999",
		"MUTT_INGEST_MAX_BODY_BYTES":  "2048",
		"MUTT_INGEST_MAX_BATCH":       "100",
		"MUTT_INGEST_MAX_FIELD_BYTES": "1024",
		"MUTT_INGEST_MAX_DEPTH":       "8",
		"MUTT_INGEST_BODY_TIMEOUT":    "5m",
		"MUTT_TEST_CLOCK_OFFSET":      "-10m",
	})
	c := ingest.ReadConfig(e)
	require.NoError(t, e.Err())
	require.Equal(t, ingest.Config{Addr: "127.0.0.1:9999", APIKeys: []string{"k1", "k2", "k3"}, MaxBodyBytes: 2048,
		MaxBatch: 100, MaxFieldBytes: 1024, MaxDepth: 8, BodyTimeout: 5 * time.Minute, ClockOffset: -10 * time.Minute,
		TLS: tlsconfig.Files{Prefix: "MUTT_INGEST_TLS"}, Durability: stream.Durability{Timeout: time.Second}}, c)

	e = config.FromMap(map[string]string{"MUTT_INGEST_API_KEY": "k"})
	c = ingest.ReadConfig(e)
	require.NoError(t, e.Err())
	require.Equal(t, ingest.Config{Addr: ":8080", APIKeys: []string{"k"}, MaxBodyBytes: 10 << 20, MaxBatch: 10000,
		MaxFieldBytes: 65536, MaxDepth: 32, BodyTimeout: 2 * time.Minute, TLS: tlsconfig.Files{Prefix: "MUTT_INGEST_TLS"},
		Durability: stream.Durability{Timeout: time.Second}}, c)

	e = config.FromMap(map[string]string{"MUTT_INGEST_MAX_BATCH": "lots", "MUTT_INGEST_MAX_DEPTH": "0", "MUTT_INGEST_ADDR": "nope",
		"MUTT_INGEST_BODY_TIMEOUT": "-1s", "MUTT_INGEST_TLS_CERT_FILE": "/nonexistent/tls.crt", "MUTT_INGEST_TLS_KEY_FILE": "/nonexistent/tls.key",
		"MUTT_TEST_CLOCK_OFFSET": "48h"})
	ingest.ReadConfig(e)
	err := e.Err()
	require.Error(t, err)
	for _, v := range []string{"MUTT_INGEST_MAX_BATCH", "MUTT_INGEST_MAX_DEPTH", "MUTT_INGEST_ADDR", "MUTT_INGEST_BODY_TIMEOUT", "MUTT_INGEST_TLS_CERT_FILE", "MUTT_TEST_CLOCK_OFFSET"} {
		require.Contains(t, err.Error(), v)
	}
	// No key in the environment is not an error here: the secrets provider may
	// hold them (hotpath/pipeline refuses to start an ingestor with none).
	require.NotContains(t, err.Error(), "INGEST_API_KEY")
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	valid := func() ingest.Options {
		return ingest.Options{Config: ingest.Config{APIKeys: []string{"k"}}, Redis: rdb, Keys: keys, Dyn: dyn,
			Registerer: prometheus.NewRegistry()}
	}
	_, err := ingest.New(valid())
	require.NoError(t, err)

	for name, mut := range map[string]func(o *ingest.Options){
		"no redis":      func(o *ingest.Options) { o.Redis = nil },
		"no dyn":        func(o *ingest.Options) { o.Dyn = nil },
		"zero keys":     func(o *ingest.Options) { o.Keys = keyspace.Keys{} },
		"no registerer": func(o *ingest.Options) { o.Registerer = nil },
		"no api key":    func(o *ingest.Options) { o.Config.APIKeys = nil },
		"empty api key": func(o *ingest.Options) { o.Config.APIKeys = []string{"k", ""} },
		"no gatherer": func(o *ingest.Options) {
			o.Registerer = prometheus.WrapRegistererWith(nil, prometheus.NewRegistry())
		},
	} {
		o := valid()
		mut(&o)
		_, err := ingest.New(o)
		require.Error(t, err, name)
	}

	// Metrics are registered, never silently shared: a second ingestor on
	// the same registry is an error, not a panic.
	o := valid()
	_, err = ingest.New(o)
	require.NoError(t, err)
	_, err = ingest.New(o)
	require.ErrorContains(t, err, "register ingest metrics")
}

// BenchmarkIngestHTTP500 is one 500-event request end to end through the
// real handler, HTTP on loopback and the real Redis: what an rsyslog or
// bulk client sees. ns/event is the figure to compare with the pipeline
// target.
func BenchmarkIngestHTTP500(b *testing.B) {
	rdb, keys := testenv.Redis(b)
	ctx := context.Background()
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	// Measure the ingestor, not the rate limit it enforces.
	require.NoError(b, dynconfig.Set(ctx, rdb, keys, "ingest_max_rate", "0"))
	require.NoError(b, dyn.Reload(ctx))
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{APIKeys: []string{key}}, Redis: rdb, Keys: keys, Dyn: dyn,
		Log: quiet, Registerer: prometheus.NewRegistry()})
	require.NoError(b, err)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	body := []byte(batch("bench-host", 500))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/ingest", bytes.NewReader(body))
		require.NoError(b, err)
		req.Header.Set("X-API-KEY", key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, res.Body)
		require.NoError(b, res.Body.Close())
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
		// Keep the stream from growing without bound across iterations.
		if err := rdb.Del(ctx, keys.IngestStream(0)).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
}

// The /api/v*/ingest answers carry the admin API's version headers (the
// Python MUTT's clients read them); /ingest carries none.
func TestIngestAnswersCarryVersionHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{})
	r := e.do(t, http.MethodPost, "/api/v1/ingest", evt("r1", 0), map[string]string{"X-API-KEY": key})
	require.Equal(t, http.StatusOK, r.code, r.raw)
	require.Equal(t, "v1", r.header.Get("X-API-Version"))
	require.Equal(t, "v1, v2", r.header.Get("X-API-Supported-Versions"))
	require.NotEmpty(t, r.header.Get("Deprecation"))
	r = e.do(t, http.MethodPost, "/api/v2/ingest", "{", map[string]string{"X-API-KEY": key})
	require.Equal(t, http.StatusBadRequest, r.code)
	require.Equal(t, "v2", r.header.Get("X-API-Version"), "errors too")
	require.Empty(t, r.header.Get("Deprecation"))
	r = e.do(t, http.MethodPost, "/ingest", evt("r1", 0), map[string]string{"X-API-KEY": key})
	require.Empty(t, r.header.Get("X-API-Version"))
}

package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
)

func freeAddr(t *testing.T) string { return testenv.FreeAddr(t) }

// devEnv is the environment of one isolated `mutt dev`: own database, key prefix and ports.
func devEnv(t *testing.T) map[string]string {
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })
	return map[string]string{
		"REDIS_URL":           testenv.RedisURL(),
		"DATABASE_URL":        testenv.DatabaseURL(t),
		"MUTT_REDIS_PREFIX":   "test:" + uuid.NewString()[:12] + ":",
		"MUTT_INGEST_ADDR":    freeAddr(t),
		"MUTT_ALERTER_ADDR":   freeAddr(t),
		"MUTT_FORWARDER_ADDR": freeAddr(t),
		"MUTT_MOOGSIM_ADDR":   freeAddr(t),
		"MUTT_WORKER_ADDR":    freeAddr(t),
		"MUTT_API_ADDR":       freeAddr(t),
		"MUTT_SNMP_ADDR":      freeAddr(t), // not mutt dev's 127.0.0.1:1162: tests run side by side
		"MUTT_LOG_LEVEL":      "warn",
		// Own secrets file, Redis ACL user and PostgreSQL role: users and roles
		// are server-wide, so parallel instances must not share them.
		"MUTT_SECRETS_FILE": filepath.Join(t.TempDir(), "secrets.json"),
		"MUTT_DEV_LOG_FILE": filepath.Join(t.TempDir(), "dev.log"),
		"REDIS_USERNAME":    "mutt_" + id,
		"DB_USER":           "mutt_app_" + id,
	}
}

type simStats struct {
	Count int              `json:"count"`
	Last  []map[string]any `json:"last"`
}

// getJSON GETs url and decodes its body into v (unless nil); the status, or
// 0 when the server did not answer or the body is not JSON. t may be an
// EventuallyWithT condition's collect T.
func getJSON(t assert.TestingT, url string, v any) int {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	if v != nil && !assert.NoError(t, json.NewDecoder(resp.Body).Decode(v), url) {
		return 0
	}
	return resp.StatusCode
}

// postEvent POSTs body to the ingestor; the status (0 when the request
// failed, which t is told) and the decoded answer. t may be an
// EventuallyWithT condition's collect T.
func postEvent(t assert.TestingT, ingestAddr, key, body string) (int, map[string]any) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+ingestAddr+"/ingest", strings.NewReader(body))
	if !assert.NoError(t, err) {
		return 0, nil
	}
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if !assert.NoError(t, err) {
		return 0, nil
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	if !assert.NoError(t, json.NewDecoder(resp.Body).Decode(&out)) {
		return 0, nil
	}
	return resp.StatusCode, out
}

const readmeEvent = `{"hostname":"router1.prod.example.com","timestamp":"%s",` +
	`"message":"LINK-DOWN Gi0/1 changed state to down","syslog_severity":"critical"}`

// runInProcess runs the dev pipeline of env in-process until the test ends.
func runInProcess(t *testing.T, env map[string]string) (app.Config, *app.Deps) {
	t.Helper()
	cfg, err := app.ReadConfig(config.FromMap(env), true, app.AllRoles)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	log := telemetry.NewLogger(io.Discard, "text", "warn")
	require.NoError(t, app.Setup(ctx, cfg, log, io.Discard))
	d, err := app.Connect(ctx, cfg, log, append(app.AllRoles, app.Worker))
	require.NoError(t, err)
	require.NoError(t, app.Bootstrap(ctx, d))
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, d, app.AllRoles) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		d.Close()
	})
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 200, getJSON(c, "http://"+cfg.Ingest.Addr+"/health", nil)) },
		10*time.Second, 50*time.Millisecond)
	return cfg, d
}

// TestWholePathInProcess runs the dev pipeline in-process: an HTTP event is
// matched by a seed rule, audited once, and delivered to the simulator with its
// event_id as external_id.
func TestWholePathInProcess(t *testing.T) {
	t.Parallel()
	cfg, d := runInProcess(t, devEnv(t))
	ctx := context.Background()

	code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, fmt.Sprintf(readmeEvent, time.Now().UTC().Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, code, out)
	ids := out["event_ids"].([]any)
	require.Len(t, ids, 1)
	eventID := ids[0].(string)

	var st simStats
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+cfg.MoogSimAddr+"/stats", &st)) {
			assert.Equal(c, 1, st.Count)
		}
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, eventID, st.Last[0]["external_id"])
	require.Equal(t, "NetOps", st.Last[0]["class"], "the LINK-DOWN seed rule's team")

	var rows int
	var handling string
	require.NoError(t, d.DB.QueryRow(ctx, `SELECT count(*), min(handling_decision) FROM event_audit_log WHERE event_id = $1`, eventID).Scan(&rows, &handling))
	require.Equal(t, 1, rows)
	require.Equal(t, "Page_and_ticket", handling)
}

// TestWholePathInProcessTwoShards is the whole path with MUTT_STREAM_SHARDS=2:
// events of many hosts spread over both shards of both streams, and each is
// audited once and delivered once.
func TestWholePathInProcessTwoShards(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	env["MUTT_STREAM_SHARDS"] = "2"
	cfg, d := runInProcess(t, env)
	require.Equal(t, 2, d.Keys.Shards)
	ctx := context.Background()

	const n = 60
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"hostname":"router%d.prod.example.com","timestamp":"%s","message":"ERROR %d on the line"}`,
			i%12, time.Now().UTC().Format(time.RFC3339Nano), i))
	}
	code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, "["+strings.Join(evs, ",")+"]")
	require.Equal(t, http.StatusOK, code, out)
	var ids []string
	for _, id := range out["event_ids"].([]any) {
		ids = append(ids, id.(string))
	}
	require.Len(t, ids, n)

	var st struct {
		Count  int `json:"count"`
		Unique int `json:"unique"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+cfg.MoogSimAddr+"/stats", &st)) {
			assert.Equal(c, n, st.Unique)
		}
	}, 20*time.Second, 20*time.Millisecond, "every event reaches the simulator")
	require.Equal(t, n, st.Count, "each once")

	var rows, distinct int
	require.NoError(t, d.DB.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id) FROM event_audit_log WHERE event_id = ANY($1::uuid[])`,
		ids).Scan(&rows, &distinct))
	require.Equal(t, n, rows, "exactly one audit row per event")
	require.Equal(t, n, distinct)

	// Both shards of both streams carried events, and all are acknowledged.
	for _, s := range append(d.Keys.IngestStreams(), d.Keys.AlertStreams()...) {
		require.Positive(t, testenv.Metric(t, d.Reg, "mutt_stream_acked_total", map[string]string{"stream": s}), "events went through %s", s)
	}
	require.Eventually(t, func() bool {
		events, err := stream.Depth(ctx, d.Redis, d.Keys.IngestStreams()...) // an entry may hold several (ADR 0048)
		if err != nil || events != 0 {
			return false
		}
		alerts, err := stream.Depth(ctx, d.Redis, d.Keys.AlertStreams()...) // so may an alert entry (ADR 0049)
		return err == nil && alerts == 0
	}, 20*time.Second, 20*time.Millisecond, "every event and alert acknowledged")
	for _, dlq := range []string{d.Keys.AlerterDLQ(), d.Keys.MoogDLQ()} {
		l, err := stream.Len(ctx, d.Redis, dlq)
		require.NoError(t, err)
		require.Zero(t, l, dlq)
	}
}

// TestMuttDevAsAUserRunsIt builds the binary, runs `mutt dev` with its own
// ports, database and prefix, follows the README's curl example, checks the
// Temporal dev server it started and the schedules it applied, uses the admin
// API and web UI with the key the banner prints, rotates the Redis password
// with `muttdev rotate` while it runs, and stops it with SIGTERM (which also
// stops that Temporal server).
func TestMuttDevAsAUserRunsIt(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "a built mutt dev with Redis, PostgreSQL and Temporal")
	env := devEnv(t)
	env["TEMPORAL_ADDRESS"] = freeAddr(t) // nothing answers there: mutt dev starts its own server
	dev := testenv.StartMuttDev(t, os.Environ(), env)
	stdout, stderr := dev.Stdout, dev.Stderr

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Contains(c, stdout.String(), "MUTT dev is running") {
			assert.Equal(c, 200, getJSON(c, "http://"+env["MUTT_INGEST_ADDR"]+"/health", nil))
		}
	}, 60*time.Second, 100*time.Millisecond, "stderr: %s", stderr)
	require.Contains(t, stdout.String(), app.DevIngestKey, "the banner prints the key to use")
	uiURL := regexp.MustCompile(`temporal UI\s+(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(stdout.String())
	require.Len(t, uiURL, 2, "the banner prints the Temporal UI URL")
	require.Eventually(t, func() bool {
		resp, err := http.Get(uiURL[1])
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "the Temporal UI answers at %s", uiURL[1])

	tc, err := client.Dial(client.Options{HostPort: env["TEMPORAL_ADDRESS"]})
	require.NoError(t, err)
	defer tc.Close()
	// This instance has its own key prefix, so its own schedule ids and task queue.
	taskQueue, schedPrefix := app.DevTemporal(env["MUTT_REDIS_PREFIX"])
	require.NotEqual(t, "mutt-ops", taskQueue)
	require.Contains(t, stdout.String(), "task queue "+taskQueue)
	for _, id := range []string{"mutt-partition-maintenance", "mutt-retention", "mutt-dlq-remediation", "mutt-slo-report"} {
		_, err := tc.ScheduleClient().GetHandle(context.Background(), schedPrefix+id).Describe(context.Background())
		require.NoError(t, err, id)
	}

	checkAdminAPIAndUI(t, env, stdout.String())

	code, out := postEvent(t, env["MUTT_INGEST_ADDR"], app.DevIngestKey, fmt.Sprintf(readmeEvent, time.Now().UTC().Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, code, out)
	var st simStats
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+env["MUTT_MOOGSIM_ADDR"]+"/stats", &st)) {
			assert.Equal(c, 1, st.Count)
		}
	}, 10*time.Second, 20*time.Millisecond)

	// The file secrets provider makes a whole rotation possible locally: rotate the
	// Redis password of the services' ACL user while `mutt dev` runs, then ingest again.
	muttdev := testenv.BuildMuttDev(t)
	rot := exec.Command(muttdev, "rotate", "redis", "--grace", "1s")
	rot.Env = dev.Env
	out2, err := rot.CombinedOutput()
	require.NoError(t, err, string(out2))
	require.Contains(t, string(out2), "rotation of redis done (old credential removed: true)")
	st2 := exec.Command(muttdev, "status")
	st2.Env = dev.Env
	out2, err = st2.CombinedOutput()
	require.NoError(t, err, string(out2))
	require.Contains(t, string(out2), env["MUTT_REDIS_PREFIX"]+"dlq:poison", "muttdev status lists every dead-letter stream")
	code, out = postEvent(t, env["MUTT_INGEST_ADDR"], app.DevIngestKey, fmt.Sprintf(readmeEvent, time.Now().UTC().Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+env["MUTT_MOOGSIM_ADDR"]+"/stats", &st)) {
			assert.Equal(c, 2, st.Count)
		}
	}, 10*time.Second, 20*time.Millisecond, "delivered after the rotation, without a restart")

	require.NoError(t, dev.Stop(), "mutt dev exits cleanly on SIGTERM; stderr: %s", stderr)
	require.False(t, workers.Reachable(context.Background(), env["TEMPORAL_ADDRESS"]),
		"the Temporal dev server mutt dev started is stopped with it")
}

// checkAdminAPIAndUI is what a user of a running `mutt dev` does with the
// admin API and the web UI that its banner points to: read the version and
// the seeded rules with the printed key, open the UI, and change a dynamic
// config key, which is audited, stored in Redis and seen by the ingestor.
func checkAdminAPIAndUI(t *testing.T, env map[string]string, banner string) {
	t.Helper()
	base := "http://" + env["MUTT_API_ADDR"]
	require.Regexp(t, `admin API\s+`+regexp.QuoteMeta(base)+`/api/v2/version\s+\(X-API-KEY: `+
		regexp.QuoteMeta(app.DevAPIAdminKey)+`\)`, banner, "the banner prints the admin API and its key")
	require.Regexp(t, `web UI\s+`+regexp.QuoteMeta(base)+`/ui/\s`, banner, "the banner prints the web UI")

	// call answers 0 when the request fails, and a body that is not JSON as
	// {"raw": …}: it runs inside require.Eventually, where require must not fail.
	call := func(method, url, key string, body any) (int, map[string]any) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			return 0, map[string]any{"raw": err.Error()}
		}
		req.Header.Set("X-API-KEY", key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, map[string]any{"raw": err.Error()}
		}
		defer func() { _ = resp.Body.Close() }()
		raw, err := io.ReadAll(resp.Body)
		var out map[string]any
		if err != nil || json.Unmarshal(raw, &out) != nil {
			out = map[string]any{"raw": string(raw)}
		}
		return resp.StatusCode, out
	}
	admin := func(method, path string, body any) (int, map[string]any) {
		return call(method, base+path, app.DevAPIAdminKey, body)
	}

	// The API may bind a moment after the banner: wait for the version, as a user retries.
	var version map[string]any
	require.Eventually(t, func() bool {
		var code int
		code, version = admin(http.MethodGet, "/api/v2/version", nil)
		return code == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "v2", version["current"], version)
	code, out := call(http.MethodGet, base+"/api/v2/version", "not-the-key", nil)
	require.Equal(t, http.StatusUnauthorized, code, out)

	// The seeded example rules.
	code, rules := admin(http.MethodGet, "/api/v2/rules", nil)
	require.Equal(t, http.StatusOK, code, rules)
	require.EqualValues(t, 5, rules["total"], rules)
	var matches []any
	for _, r := range rules["rules"].([]any) {
		matches = append(matches, r.(map[string]any)["match_string"])
	}
	require.Contains(t, matches, "LINK-DOWN")
	require.Contains(t, matches, "CRITICAL")

	// The UI: "/" leads to the dashboard page, which loads its script.
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "/ui/", resp.Request.URL.Path)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	require.Contains(t, string(page), "<title>MUTT")
	require.Contains(t, string(page), `src="/ui/static/app.js"`)
	resp, err = http.Get(base + "/ui/static/app.js")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A dynamic config change through the API: audited, in Redis, and seen by the ingestor.
	const key, value = "max_ingest_queue_size", "900000"
	code, out = admin(http.MethodPut, "/api/v2/config/"+key, map[string]any{"value": 900000, "reason": "e2e: raise the queue bound"})
	require.Equal(t, http.StatusOK, code, out)
	code, audit := admin(http.MethodGet, "/api/v2/config-audit?table_name=dynamic_config&record_id="+key, nil)
	require.Equal(t, http.StatusOK, code, audit)
	changes := audit["changes"].([]any)
	require.Len(t, changes, 1, audit)
	change := changes[0].(map[string]any)
	snap, err := secrets.NewFile(env["MUTT_SECRETS_FILE"], slog.New(slog.DiscardHandler)).Read(context.Background())
	require.NoError(t, err)
	nameSecret := snap.Get(secrets.KeyFingerprintSecret)
	require.NotEmpty(t, nameSecret, "mutt dev's setup generated the key-name secret")
	require.Equal(t, api.KeyName([]byte(nameSecret), app.DevAPIAdminKey, true), change["changed_by"])
	require.Equal(t, "UPDATE", change["operation"])
	require.Equal(t, "e2e: raise the queue bound", change["reason"])
	code, detail := admin(http.MethodGet, fmt.Sprintf("/api/v2/config-audit/%.0f", change["id"]), nil)
	require.Equal(t, http.StatusOK, code, detail)
	require.Equal(t, map[string]any{"value": value, "source": "redis"}, detail["new_values"], detail)

	rdb, _ := testenv.Redis(t)
	got, err := rdb.Get(context.Background(), keyspace.New(env["MUTT_REDIS_PREFIX"], 1).Config(key)).Result()
	require.NoError(t, err)
	require.Equal(t, value, got)
	require.Eventually(t, func() bool {
		code, cfg := call(http.MethodGet, "http://"+env["MUTT_INGEST_ADDR"]+"/admin/config", app.DevIngestKey, nil)
		if code != http.StatusOK {
			return false
		}
		for _, d := range cfg["dynamic"].([]any) {
			if d := d.(map[string]any); d["name"] == key {
				return d["value"] == value
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the ingestor sees the new value without a restart")
}

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// promAPI is the envelope of a Prometheus HTTP API answer.
type promAPI struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// promGet reads a Prometheus API path into v, reporting failures on c.
func promGet(c *assert.CollectT, base, path string, v any) bool {
	resp, err := http.Get(base + path)
	if !assert.NoError(c, err) {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	var env promAPI
	if !assert.NoError(c, json.NewDecoder(resp.Body).Decode(&env)) || !assert.Equal(c, "success", env.Status, path) {
		return false
	}
	return assert.NoError(c, json.Unmarshal(env.Data, v))
}

// TestMuttDevRunsPrometheusForTheSLOReport runs `mutt dev` as a user does
// and checks the Prometheus it starts: its URL is in the banner, it scrapes
// every role and loads the project's rules, its data lives in the
// instance's state directory, the SLO report leaves no_data once events
// went through and a few scrapes happened, and SIGTERM stops it with mutt dev.
func TestMuttDevRunsPrometheusForTheSLOReport(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "a built mutt dev with Prometheus, Redis, PostgreSQL and Temporal")
	env := devEnv(t)
	env["TEMPORAL_ADDRESS"] = testenv.TemporalAddress() // the suite's server: no dev server of its own
	env["MUTT_DEV_PROMETHEUS_ADDR"] = freeAddr(t)
	env["MUTT_DEV_PROMETHEUS_SCRAPE_INTERVAL"] = "1s"
	dev := testenv.StartMuttDev(t, os.Environ(), env)
	stdout, stderr := dev.Stdout, dev.Stderr
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "MUTT dev is running") },
		90*time.Second, 100*time.Millisecond, "stderr: %s", stderr)

	prom := "http://" + env["MUTT_DEV_PROMETHEUS_ADDR"]
	require.Regexp(t, `prometheus\s+`+regexp.QuoteMeta(prom)+`\s`, stdout.String(), "the banner prints the Prometheus URL")
	// Its data directory defaults to the instance's state directory (beside the dev log).
	dir := app.DevPrometheusDir(env["MUTT_REDIS_PREFIX"], env["MUTT_DEV_LOG_FILE"])
	require.FileExists(t, filepath.Join(dir, "prometheus.yml"))
	require.FileExists(t, filepath.Join(dir, "rules", "mutt-slo-recording.yml"))
	require.DirExists(t, filepath.Join(dir, "data"))

	// Every role is scraped and up, and the project's rule groups are loaded.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var targets struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
				Health string            `json:"health"`
			} `json:"activeTargets"`
		}
		if !promGet(c, prom, "/api/v1/targets", &targets) {
			return
		}
		up := map[string]string{}
		for _, tg := range targets.ActiveTargets {
			up[tg.Labels["job"]] = tg.Health
		}
		assert.Equal(c, map[string]string{"mutt-ingestor": "up", "mutt-alerter": "up", "mutt-forwarder": "up",
			"mutt-api": "up", "mutt-worker": "up"}, up)
	}, 60*time.Second, 500*time.Millisecond)
	var rules struct {
		Groups []struct {
			Name string `json:"name"`
		} `json:"groups"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) { promGet(c, prom, "/api/v1/rules", &rules) }, 10*time.Second, 200*time.Millisecond)
	var groups []string
	for _, g := range rules.Groups {
		groups = append(groups, g.Name)
	}
	require.Subset(t, groups, []string{"mutt-slo-error-ratios", "mutt-availability", "mutt-hot-path", "mutt-ops-plane"})

	// Events go through until Prometheus has seen the ingest counter move.
	query := url.QueryEscape(`sum(rate(mutt_ingest_requests_total{status="success"}[5m])) > 0`)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, out := postEvent(c, env["MUTT_INGEST_ADDR"], app.DevIngestKey, fmt.Sprintf(readmeEvent, time.Now().UTC().Format(time.RFC3339)))
		assert.Equal(c, http.StatusOK, code, out)
		var res struct {
			Result []json.RawMessage `json:"result"`
		}
		if promGet(c, prom, "/api/v1/query?query="+query, &res) {
			assert.NotEmpty(c, res.Result, "no ingest rate in Prometheus yet")
		}
	}, 60*time.Second, time.Second)

	// The scheduled SLO report, run now, reads that Prometheus.
	tc, err := client.Dial(client.Options{HostPort: env["TEMPORAL_ADDRESS"]})
	require.NoError(t, err)
	defer tc.Close()
	_, schedPrefix := app.DevTemporal(env["MUTT_REDIS_PREFIX"])
	sched := tc.ScheduleClient().GetHandle(context.Background(), schedPrefix+"mutt-slo-report")
	require.NoError(t, sched.Trigger(context.Background(), client.ScheduleTriggerOptions{}))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		req, err := http.NewRequest(http.MethodGet, "http://"+env["MUTT_API_ADDR"]+"/api/v2/slo", nil)
		if !assert.NoError(c, err) {
			return
		}
		req.Header.Set("X-API-KEY", app.DevAPIAdminKey)
		resp, err := http.DefaultClient.Do(req)
		if !assert.NoError(c, err) {
			return
		}
		defer func() { _ = resp.Body.Close() }()
		var report struct {
			Status     string `json:"status"`
			Configured bool   `json:"prometheus_configured"`
			SLOs       []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"slos"`
		}
		if !assert.NoError(c, json.NewDecoder(resp.Body).Decode(&report)) {
			return
		}
		assert.True(c, report.Configured, "the report was made with a Prometheus")
		assert.NotEqual(c, "no_data", report.Status)
		for _, s := range report.SLOs {
			if s.Name == "ingest_availability" {
				assert.Equal(c, "ok", s.Status, "events were ingested without a server-side failure")
			}
		}
	}, 60*time.Second, 500*time.Millisecond)

	require.NoError(t, dev.Stop(), "stderr: %s", stderr)
	_, err = http.Get(prom + "/-/ready")
	require.Error(t, err, "the Prometheus mutt dev started is stopped with it")
}

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.yaml.in/yaml/v3"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

const runbookURLPrefix = "https://github.com/mutt-ops/mutt/blob/main/docs/runbooks/alerts.md#"

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRuleFiles(t *testing.T) map[string]ruleFile {
	t.Helper()
	paths, err := filepath.Glob("../deploy/prometheus/rules/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	out := map[string]ruleFile{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		var f ruleFile
		require.NoError(t, yaml.Unmarshal(raw, &f), p)
		out[p] = f
	}
	return out
}

// markdownAnchors are the anchors GitHub gives the headings of a markdown file.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return anchors
}

// TestAlertRulesHaveRunbooksAndTests: every alert of deploy/prometheus/rules
// has a severity, a summary, a runbook_url pointing to an existing section of
// docs/runbooks/alerts.md, and a promtool unit test that names it; the rule
// files are valid and the unit tests pass (promtool).
func TestAlertRulesHaveRunbooksAndTests(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "promtool")
	anchors := markdownAnchors(t, "../docs/runbooks/alerts.md")
	var tests strings.Builder
	testPaths, err := filepath.Glob("../deploy/prometheus/tests/*.yml")
	require.NoError(t, err)
	for _, p := range testPaths {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		tests.Write(raw)
	}
	var ruleFiles []string
	alerts := map[string]bool{}
	for path, f := range readRuleFiles(t) {
		ruleFiles = append(ruleFiles, path)
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				alerts[r.Alert] = true
				require.Contains(t, []string{"page", "ticket"}, r.Labels["severity"], "%s: severity", r.Alert)
				require.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
				url := r.Annotations["runbook_url"]
				anchor, ok := strings.CutPrefix(url, runbookURLPrefix)
				require.True(t, ok, "%s in %s: runbook_url %q must start with %s", r.Alert, path, url, runbookURLPrefix)
				require.Equal(t, strings.ToLower(r.Alert), anchor, "%s: runbook_url anchor", r.Alert)
				require.True(t, anchors[anchor], "%s: docs/runbooks/alerts.md has no section %q", r.Alert, r.Alert)
				require.Contains(t, tests.String(), "alertname: "+r.Alert, "%s has no promtool unit test in deploy/prometheus/tests", r.Alert)
			}
		}
	}
	for _, a := range []string{"MUTTRoleDown", "MUTTBacklogGrowing", "MUTTDLQGrowing", "MUTTCircuitBreakerOpen",
		"MUTTIngestRefusing", "MUTTAuditWritesFailing", "MUTTDefaultPartitionRows", "MUTTScheduleLate",
		"MUTTSecretRotationFailed", "MUTTErrorBudgetBurn"} {
		require.True(t, alerts[a], "alert %s is missing", a)
	}
	// Every section of the runbook belongs to an alert (none left behind by a rename).
	for anchor := range anchors {
		if anchor == "runbook-mutts-prometheus-alerts" {
			continue
		}
		found := false
		for a := range alerts {
			found = found || strings.ToLower(a) == anchor
		}
		require.True(t, found, "docs/runbooks/alerts.md section %q has no alert", anchor)
	}

	_, err = os.Stat(promtool)
	require.NoError(t, err, "promtool is needed: apt-get install -y --no-install-recommends prometheus")
	for _, args := range [][]string{
		append([]string{"check", "rules"}, ruleFiles...),
		{"check", "config", "../deploy/prometheus/prometheus.yml"},
		append([]string{"test", "rules"}, testPaths...),
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// promtool comes with the Debian prometheus package (scripts/ensure-services.sh --test installs it).
const promtool = "/usr/bin/promtool"

// metricName is a MUTT metric name in a PromQL expression; recording rules
// (mutt:...) use a colon and do not match.
var metricName = regexp.MustCompile(`\bmutt_[a-z0-9_]+`)

// usedMetrics are the MUTT metric names the rule files and the Grafana
// dashboards query, each with where it is used.
func usedMetrics(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	for path, f := range readRuleFiles(t) {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				for _, m := range metricName.FindAllString(r.Expr, -1) {
					used[m] = path + " " + r.Alert + r.Record
				}
			}
		}
	}
	dashboards, err := filepath.Glob("../deploy/grafana/dashboards/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, dashboards)
	for _, p := range dashboards {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		var d any
		require.NoError(t, json.Unmarshal(raw, &d), p)
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
						for _, m := range metricName.FindAllString(s, -1) {
							used[m] = p
						}
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(d)
	}
	return used
}

// scrapeNames returns the metric names of the samples a /metrics endpoint exposes.
func scrapeNames(addr string) (map[string]bool, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	names := map[string]bool{}
	sample := regexp.MustCompile(`(?m)^(mutt_[a-z0-9_]+)[{ ]`)
	for _, m := range sample.FindAllStringSubmatch(string(body), -1) {
		names[m[1]] = true
	}
	return names, nil
}

// needsData are metrics whose series appear only after something this test
// does not provoke (an SLO report with Prometheus data, a successful secret
// rotation): for them the name must be registered in the code instead.
var needsData = map[string]bool{
	"mutt_slo_burn_rate":                                  true,
	"mutt_slo_error_budget_remaining":                     true,
	"mutt_secret_rotation_last_success_timestamp_seconds": true,
}

// registeredInCode reports whether a non-test Go file names metric m.
func registeredInCode(t assert.TestingT, m string) bool {
	found := false
	assert.NoError(t, filepath.WalkDir("..", func(p string, e os.DirEntry, err error) error {
		if err != nil || found || e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(p)
		found = err == nil && strings.Contains(string(raw), `"`+m+`"`)
		return err
	}))
	return found
}

// TestDashboardAndRulesUseExistingMetrics runs the pipeline and the ops-plane
// worker in-process like `mutt dev`, sends an event through, scrapes /metrics
// of every role and requires every metric the rule files and the dashboards
// query to be exposed: a renamed or dropped metric fails here.
func TestDashboardAndRulesUseExistingMetrics(t *testing.T) {
	t.Parallel()
	used := usedMetrics(t)
	require.NotEmpty(t, used)

	env := devEnv(t)
	cfg, d := runInProcess(t, env)
	tc, taskQueue := testenv.Temporal(t)
	ctx, cancel := context.WithCancel(context.Background())
	workerAddr := env["MUTT_WORKER_ADDR"]
	proc := &workers.Process{Cfg: workers.Config{WorkerAddr: workerAddr}, Client: tc, TaskQueue: taskQueue,
		Log: telemetry.NewLogger(io.Discard, "text", "warn"), Health: d.OpsHandler("mutt-worker"),
		Deps: &activities.Deps{DB: d.AdminDB, Redis: d.Redis, Keys: d.Keys, Log: telemetry.NewLogger(io.Discard, "text", "warn"),
			Registerer: d.Reg, MoogURL: d.Cfg.MoogWebhookURL, Secrets: d.Provider, RedisAdmin: d.AdminRedis,
			RedisUsername: d.Cfg.RedisUsername, DBAdmin: d.AdminDB, DBUser: d.Cfg.DBUser}}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx, io.Discard) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	// One event through the whole path and one API request, so the
	// per-request series exist.
	code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, fmt.Sprintf(readmeEvent, time.Now().UTC().Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, code, out)
	getJSON(t, "http://"+cfg.APIAddr+"/api/openapi.json", nil)

	// A DLQ remediation run publishes mutt_dlq_depth.
	run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: taskQueue + "-dlq", TaskQueue: taskQueue},
		"DLQRemediationWorkflow", workflows.DLQInput{})
	require.NoError(t, err)
	require.NoError(t, run.Get(context.Background(), nil))

	roles := map[string]string{"ingestor": cfg.Ingest.Addr, "alerter": cfg.AlerterAddr, "forwarder": cfg.ForwarderAddr,
		"api": cfg.APIAddr, "worker": workerAddr}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		exposed := map[string]bool{}
		for role, addr := range roles {
			names, err := scrapeNames(addr)
			if !assert.NoError(c, err, role) {
				return
			}
			for n := range names {
				exposed[n] = true
			}
		}
		for m, where := range used {
			if exposed[m] || (needsData[m] && registeredInCode(c, m)) {
				continue
			}
			assert.Fail(c, "metric not exposed", "%s (used by %s) is not exposed by any role", m, where)
		}
	}, 30*time.Second, 200*time.Millisecond)
}

// TestComposeMountsAndImages checks docker-compose.yml statically beyond
// TestComposeFileIsConsistent: every service has a pinned image, MUTT's image
// is built from deploy/Dockerfile by the file itself, every file it mounts
// exists, host ports are not published twice, Prometheus loads the project's
// rules and Grafana the project's dashboards.
func TestComposeMountsAndImages(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image   string         `yaml:"image"`
			Build   map[string]any `yaml:"build"`
			Volumes []string       `yaml:"volumes"`
			Ports   []string       `yaml:"ports"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	built := false
	hostPorts := map[string]string{}
	mounts := map[string]bool{}
	for name, svc := range doc.Services {
		require.NotEmpty(t, svc.Image, name)
		require.Contains(t, svc.Image, ":", "%s: pin the image tag", name)
		require.NotContains(t, svc.Image, ":latest", name)
		if svc.Build != nil {
			require.Equal(t, "deploy/Dockerfile", svc.Build["dockerfile"], name)
			_, err := os.Stat(filepath.Join("..", svc.Build["dockerfile"].(string)))
			require.NoError(t, err)
			built = built || svc.Image == "mutt:local"
		}
		for _, v := range svc.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				_, err := os.Stat(filepath.Join("..", src))
				require.NoError(t, err, "%s mounts %s, which does not exist", name, src)
				mounts[src] = true
			} else {
				require.Contains(t, doc.Volumes, src, "%s uses undeclared volume %s", name, src)
			}
		}
		for _, p := range svc.Ports {
			// "[ip:]host:container[/proto]": the host side is all but the container port.
			host := p[:strings.LastIndex(p, ":")]
			require.NotContains(t, hostPorts, host, "%s and %s both publish host port %s", name, hostPorts[host], host)
			hostPorts[host] = name
		}
	}
	require.True(t, built, "the compose file builds mutt:local from deploy/Dockerfile")
	for _, s := range []string{"ingestor", "alerter", "forwarder", "api", "worker", "moog-sim", "redis", "postgres", "grafana"} {
		require.Contains(t, string(raw), "\n  "+s+":\n", s)
		block := strings.SplitN(strings.SplitN(string(raw), "\n  "+s+":\n", 2)[1], "\n\n", 2)[0]
		require.Contains(t, block, "healthcheck:", "%s has a health check", s)
	}
	for _, m := range []string{"./deploy/prometheus/prometheus.yml", "./deploy/prometheus/rules",
		"./deploy/grafana/dashboards", "./deploy/grafana/provisioning/datasources", "./deploy/grafana/provisioning/dashboards"} {
		require.True(t, mounts[m], "docker-compose.yml mounts %s", m)
	}
	for _, s := range []string{"redis", "postgres", "temporal", "vault", "prometheus", "grafana", "moog-sim",
		"ingestor", "alerter", "forwarder", "api", "worker"} {
		require.Contains(t, doc.Services, s)
	}
	// The provisioned datasource is the compose Prometheus.
	ds, err := os.ReadFile("../deploy/grafana/provisioning/datasources/prometheus.yml")
	require.NoError(t, err)
	require.Contains(t, string(ds), "url: http://prometheus:9090")
}

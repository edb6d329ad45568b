package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
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

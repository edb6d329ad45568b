package workflows

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Prometheus rules in deploy/prometheus are generated from the SLO
// definitions in code, so the alerts and the SLO report can never disagree.
// Regenerate them after changing slo_definitions.go with:
//
//	MUTT_UPDATE_PROMETHEUS_RULES=1 go test ./workflows -run TestSLOPrometheusRulesMatchDefinitions
const sloUpdateRulesEnv = "MUTT_UPDATE_PROMETHEUS_RULES"

// promtool comes with the Debian prometheus package (make test installs it).
const sloPromtool = "/usr/bin/promtool"

var sloRulesDir = filepath.Join("..", "deploy", "prometheus")

const sloRulesHeader = `# Generated from workflows/slo_definitions.go; do not edit by hand. Regenerate with
#   MUTT_UPDATE_PROMETHEUS_RULES=1 go test ./workflows -run TestSLOPrometheusRulesMatchDefinitions
# (the test fails while this file and the definitions disagree).
`

// sloRecordingRules renders rules/mutt-slo-recording.yml.
func sloRecordingRules(defs []SLODefinition) string {
	var b strings.Builder
	b.WriteString(sloRulesHeader)
	b.WriteString(`#
# mutt:slo_error_ratio:rate<window>{slo="..."} is the fraction of bad events of each SLO over the windows
# of the multi-window burn-rate alerts (5m, 30m, 1h, 6h, 3d) and over the 30-day objective window. No
# event in a window gives no sample (or NaN), never 0 or 100 %. The burn rate is that ratio divided by
# the error budget (1 - target); mutt:slo_error_budget_remaining:ratio is 1 - the 30-day burn rate.
groups:
  - name: mutt-slo-error-ratios
    rules:
`)
	for _, d := range defs {
		for _, w := range d.SLOWindows() {
			fmt.Fprintf(&b, "      - record: mutt:slo_error_ratio:rate%s\n", w)
			fmt.Fprintf(&b, "        expr: |-\n          %s\n", d.ErrorRatioQuery(w))
			fmt.Fprintf(&b, "        labels:\n          slo: %s\n", d.Name)
		}
	}
	b.WriteString(`  - name: mutt-slo-error-budget
    rules:
`)
	for _, d := range defs {
		fmt.Fprintf(&b, "      - record: mutt:slo_error_budget_remaining:ratio\n")
		fmt.Fprintf(&b, "        expr: 1 - mutt:slo_error_ratio:rate%s{slo=%q} / %s\n", d.ObjectiveWindow, d.Name, sloFormat(d.ErrorBudget()))
		fmt.Fprintf(&b, "        labels:\n          slo: %s\n", d.Name)
	}
	return b.String()
}

// sloAlertRules renders rules/mutt-slo-alerts.yml: per SLO one page alert
// (either fast pair) and one ticket alert (the slow pair).
func sloAlertRules(defs []SLODefinition) string {
	var b strings.Builder
	b.WriteString(sloRulesHeader)
	b.WriteString(`#
# Multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5) on the recording rules of
# mutt-slo-recording.yml. severity="page": 2 % of the 30-day error budget spent in 1 h (burn rate 14.4
# over 1h and 5m) or 5 % in 6 h (burn rate 6 over 6h and 30m). severity="ticket": 10 % in 3 days (burn
# rate 1 over 3d and 6h). The short window makes an alert stop soon after the burn stops. The
# SLOReportWorkflow applies the same thresholds (critical / warning in its report).
groups:
  - name: mutt-slo-burn-rate
    rules:
`)
	for _, d := range defs {
		for _, notify := range []string{"page", "ticket"} {
			var conds []string
			var pairs []string
			for _, p := range SLOBurnRatePolicies() {
				if p.Notify != notify {
					continue
				}
				limit := fmt.Sprintf("(%s * %s)", sloFormat(p.BurnRate), sloFormat(d.ErrorBudget()))
				conds = append(conds, fmt.Sprintf(
					"(mutt:slo_error_ratio:rate%s{slo=%q} > %s and mutt:slo_error_ratio:rate%s{slo=%q} > %s)",
					p.LongWindow, d.Name, limit, p.ShortWindow, d.Name, limit))
				pairs = append(pairs, fmt.Sprintf("%s over %s and %s", sloFormat(p.BurnRate), p.LongWindow, p.ShortWindow))
			}
			if len(conds) == 0 {
				continue
			}
			fmt.Fprintf(&b, "      - alert: MUTTErrorBudgetBurn\n")
			fmt.Fprintf(&b, "        expr: |-\n          %s\n", strings.Join(conds, "\n          or\n          "))
			fmt.Fprintf(&b, "        labels:\n          severity: %s\n          slo: %s\n", notify, d.Name)
			fmt.Fprintf(&b, "        annotations:\n")
			fmt.Fprintf(&b, "          summary: %q\n", fmt.Sprintf("SLO %s is burning its error budget too fast (%s)", d.Name, notify))
			fmt.Fprintf(&b, "          description: %q\n", fmt.Sprintf(
				"%s. Target %s over %s; burn rate above %s. See mutt:slo_error_ratio:rate*{slo=\"%s\"} and the latest SLO report.",
				d.Description, sloPercent(d.Target), d.ObjectiveWindow, strings.Join(pairs, ", or "), d.Name))
			fmt.Fprintf(&b, "          runbook_url: %s\n", sloRunbookURL)
		}
	}
	return b.String()
}

// sloRunbookURL is the runbook section of MUTTErrorBudgetBurn.
const sloRunbookURL = "https://github.com/mutt-ops/mutt/blob/main/docs/runbooks/alerts.md#mutterrorbudgetburn"

func sloPercent(v float64) string { return sloFormat(sloRound(v*100)) + " %" }

func TestSLOPrometheusRulesMatchDefinitions(t *testing.T) {
	t.Parallel()
	defs := SLODefinitions()
	for name, want := range map[string]string{
		"mutt-slo-recording.yml": sloRecordingRules(defs),
		"mutt-slo-alerts.yml":    sloAlertRules(defs),
	} {
		path := filepath.Join(sloRulesDir, "rules", name)
		if os.Getenv(sloUpdateRulesEnv) != "" {
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, string(got), "%s is out of date: run %s=1 go test ./workflows -run %s", path, sloUpdateRulesEnv, t.Name())
	}
}

// TestSLOPrometheusRulesPromtool validates the rules and the example config
// with promtool, and runs the rule unit tests (a fast burn pages, a slow burn
// opens a ticket, a recovered burn stops paging).
func TestSLOPrometheusRulesPromtool(t *testing.T) {
	t.Parallel()
	_, err := os.Stat(sloPromtool)
	require.NoError(t, err, "promtool is needed: apt-get install -y --no-install-recommends prometheus")
	rules, err := filepath.Glob(filepath.Join(sloRulesDir, "rules", "mutt-slo-*.yml"))
	require.NoError(t, err)
	require.Len(t, rules, 2)
	tests, err := filepath.Glob(filepath.Join(sloRulesDir, "tests", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, tests)

	for _, args := range [][]string{
		append([]string{"check", "rules"}, rules...),
		{"check", "config", filepath.Join(sloRulesDir, "prometheus.yml")},
		append([]string{"test", "rules"}, tests...),
	} {
		out, err := exec.Command(sloPromtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

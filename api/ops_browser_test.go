package api

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// opsShots is where a browser test keeps its screenshots: under
// $MUTT_UI_SCREENSHOTS/<test> when that is set (CI keeps them as
// artefacts), else in the test's temporary directory.
func opsShots(t *testing.T) string {
	t.Helper()
	base := os.Getenv("MUTT_UI_SCREENSHOTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	require.NoError(t, os.MkdirAll(dir, 0o750))
	return dir
}

// opsLogin logs in with key and opens path.
func opsLogin(srvURL, key, path string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{chromedp.Navigate(srvURL + "/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), key),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#chart svg")),
		chromedp.Navigate(srvURL + path)}
}

// TestUIBrowserDeadLetters drives the dead letters page against the real API,
// Redis, PostgreSQL, Temporal and a MUTT worker: the alerter DLQ's entries are
// listed with reason, error and payload; a replay without a reason is refused
// on the page; two selected entries are replayed by the remediation workflow
// (followed on the page until it completes, with its Temporal UI link) and
// leave the DLQ for the ingest stream; the rest are discarded by filter.
func TestUIBrowserDeadLetters(t *testing.T) {
	t.Parallel()
	e, _ := newOpsEnv(t)
	ids := addDeadLetters(t, e, 3, "max_attempts")
	addDeadLetters(t, e, 1, "shed")
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	shots := opsShots(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	rows := `//table[@id="dlq-table"][not(@aria-busy)]/tbody[@id="dlq-rows"]/tr`
	row := func(id string) string { return rows + `[@data-id="` + id + `"]` }

	do(opsLogin(srv.URL, testAdminKey, "/ui/deadletters?dlq=alerter")...)
	do(chromedp.WaitVisible(chromedp.Search(`//tbody[@id="dlq-streams"]/tr[@data-dlq="alerter"][td[3]="4"]`)),
		chromedp.WaitVisible(chromedp.Search(row(ids[2]))),
		screenshot(t, shots, "01-dead-letters"))
	require.Equal(t, "max_attempts", text(t, ctx, chromedp.Search(row(ids[0])+`/td[3]`)))
	require.Equal(t, "audit insert: max_attempts", text(t, ctx, chromedp.Search(row(ids[0])+`/td[4]`)))
	require.Equal(t, "5", text(t, ctx, chromedp.Search(row(ids[0])+`/td[5]`)))
	require.Contains(t, text(t, ctx, css("#dlq-temporal")), "DLQRemediationWorkflow")

	// The payload opens in place.
	do(chromedp.Click(chromedp.Search(row(ids[0])+`//summary`)),
		chromedp.WaitVisible(chromedp.Search(row(ids[0])+`//pre`)))
	require.Contains(t, text(t, ctx, chromedp.Search(row(ids[0])+`//pre`)), `"hostname": "dlq-host-0"`)

	// Select two; without a reason nothing is sent.
	do(chromedp.Click(chromedp.Search(row(ids[0])+`//input[@type="checkbox"]`)),
		chromedp.Click(chromedp.Search(row(ids[1])+`//input[@type="checkbox"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("dlq-replay-selected").textContent === "Replay selected (2)"`),
		chromedp.Click(css("#dlq-replay-selected")),
		chromedp.Poll[chromedp.Void](`document.getElementById("dlq-action-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#dlq-action-error")), "reason is required")
	require.EqualValues(t, 4, e.rdb.XLen(t.Context(), e.keys.AlerterDLQ()).Val())

	// With a reason: the workflow runs, the page follows it to completion.
	do(chromedp.SetValue(css("#dlq-action-reason"), "audit database is back"),
		chromedp.Click(css("#dlq-replay-selected")),
		chromedp.WaitVisible(css("#dlq-run")),
		chromedp.Poll[chromedp.Void](`document.getElementById("dlq-run-state").dataset.status === "completed"`),
		chromedp.WaitNotPresent(chromedp.Search(row(ids[0]))),
		chromedp.WaitVisible(chromedp.Search(`//tbody[@id="dlq-streams"]/tr[@data-dlq="alerter"][td[3]="2"]`)),
		screenshot(t, shots, "02-replayed"))
	require.Contains(t, text(t, ctx, css("#dlq-run-state")), "alerter: examined 2, replayed 2")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("dlq-run-link").href`))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(href, opsUIURL+"/namespaces/default/workflows/"), href)
	require.EqualValues(t, 2, e.rdb.XLen(t.Context(), e.keys.AlerterDLQ()).Val())
	require.EqualValues(t, 2, e.rdb.XLen(t.Context(), e.keys.IngestStreams()[0]).Val())

	// Filter by reason (a shareable URL) and discard everything it matches.
	answers := make(chan string, 1)
	acceptDialogs(ctx, answers)
	do(chromedp.SetValue(css("#dlq-reason-filter"), "shed"),
		chromedp.Click(css("#dlq-filter-apply")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#dlq-rows tr").length === 1`),
		chromedp.SetValue(css("#dlq-action-reason"), "load-test leftovers"),
		chromedp.Click(css("#dlq-discard-all")),
		chromedp.Poll[chromedp.Void](`document.getElementById("dlq-run-state").dataset.status === "completed"`),
		chromedp.WaitVisible(css("#dlq-empty")),
		screenshot(t, shots, "03-discarded"))
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	require.NoError(t, err)
	require.Equal(t, "/ui/deadletters?dlq=alerter&reason=shed", loc)
	left, err := e.rdb.XRange(t.Context(), e.keys.AlerterDLQ(), "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.Equal(t, ids[2], left[0].ID)

	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log WHERE table_name = 'dlq'
		AND reason IN ('audit database is back', 'load-test leftovers')`).Scan(&n))
	require.Equal(t, 2, n)
}

// TestUIBrowserDeadLettersWithoutTemporal: the page says Temporal is not
// configured and its write actions are disabled.
func TestUIBrowserDeadLettersWithoutTemporal(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	addDeadLetters(t, e, 1, "max_attempts")
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	require.NoError(t, chromedp.Do(ctx, opsLogin(srv.URL, testAdminKey, "/ui/deadletters?dlq=alerter")...))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//tbody[@id="dlq-rows"]/tr`)),
		screenshot(t, opsShots(t), "01-no-temporal")))
	require.Contains(t, text(t, ctx, css("#dlq-temporal")), "Temporal is not configured")
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`["dlq-replay-all", "dlq-discard-all", "dlq-replay-selected"]
		.every(id => document.getElementById(id).disabled) &&
		Array.from(document.querySelectorAll("#dlq-rows button")).every(b => b.disabled)`))
	require.NoError(t, err)
	require.True(t, disabled)
}

// TestUIBrowserJobs drives the ops jobs page: a schedule applied and run on
// the real Temporal shows as active with its last run completed, the next run,
// and links into the Temporal UI; its run is listed with its summary.
func TestUIBrowserJobs(t *testing.T) {
	t.Parallel()
	e, ops := newOpsEnv(t, "DLQRemediationWorkflow")
	addDeadLetters(t, e, 2, "max_attempts")
	applyAndTrigger(t, ops)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	id := ops.IDPrefix + "mutt-dlq-remediation"
	row := `//tbody[@id="jobs-rows"]/tr[@data-schedule="` + id + `"]`
	run := `//tbody[@id="runs-rows"]/tr[@data-status="completed"]`
	require.NoError(t, chromedp.Do(ctx, opsLogin(srv.URL, testReadOnlyKey, "/ui/jobs")...))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(row)),
		chromedp.WaitVisible(chromedp.Search(run)),
		screenshot(t, opsShots(t), "01-jobs")))
	require.Equal(t, "active", text(t, ctx, chromedp.Search(row+`/td[4]/span`)))
	require.Equal(t, "completed", text(t, ctx, chromedp.Search(row+`/td[5]/span`)))
	require.Equal(t, "every 5m0s, jitter 30s", text(t, ctx, chromedp.Search(row+`/td[3]`)))
	require.Contains(t, text(t, ctx, chromedp.Search(run+`/td[5]`)), "alerter: examined 2, replayed 2")
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#jobs-rows a, #runs-rows a")).map(a => a.href)`))
	require.NoError(t, err)
	require.Contains(t, links, opsUIURL+"/namespaces/default/schedules/"+id)
	require.Contains(t, strings.Join(links, " "), opsUIURL+"/namespaces/default/workflows/"+id)
	require.Contains(t, text(t, ctx, css("#jobs-temporal")), "task queue "+ops.TaskQueue)
}

package api

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/stream"
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
	ingested, err := stream.Depth(t.Context(), e.rdb, e.keys.IngestStreams()[0])
	require.NoError(t, err)
	require.EqualValues(t, 2, ingested, "two events back on the ingest stream")

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

// TestUIBrowserJobs drives the ops jobs page against the real API, Temporal
// and a MUTT worker: schedules applied on Temporal show as active with their
// last run, its outcome and counts from the run's memo, the next run and
// links into the Temporal UI. A read-only key sees no "Run now"; an admin's
// "Run now" without a reason is refused on the page, and with one starts the
// schedule's run, which the page follows to completion with its Temporal UI
// link, and whose outcome then shows on the schedule's row.
func TestUIBrowserJobs(t *testing.T) {
	t.Parallel()
	e, ops := newOpsEnv(t, "PartitionMaintenanceWorkflow", "DLQRemediationWorkflow")
	addDeadLetters(t, e, 2, "max_attempts")
	applyAndTrigger(t, ops) // runs partition maintenance, the first
	part, dlq := ops.IDPrefix+"mutt-partition-maintenance", ops.IDPrefix+"mutt-dlq-remediation"
	pauseSchedule(t, ops, dlq) // runs only when the test says so
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	shots := opsShots(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	row := func(id string) string { return `//tbody[@id="jobs-rows"]/tr[@data-schedule="` + id + `"]` }
	run := `//tbody[@id="runs-rows"]/tr[@data-status="completed"]`

	// Read-only: the schedules and the last run's outcome, no "Run now".
	do(opsLogin(srv.URL, testReadOnlyKey, "/ui/jobs")...)
	do(chromedp.WaitVisible(chromedp.Search(row(part))), chromedp.WaitVisible(chromedp.Search(run)),
		screenshot(t, shots, "01-jobs-read-only"))
	require.Equal(t, "active", text(t, ctx, chromedp.Search(row(part)+`/td[4]/span`)))
	require.Equal(t, "completed", text(t, ctx, chromedp.Search(row(part)+`/td[5]/span`)))
	require.Equal(t, "daily 01:10 UTC, jitter 5m0s", text(t, ctx, chromedp.Search(row(part)+`/td[3]`)))
	outcome := text(t, ctx, chromedp.Search(row(part)+`/td[6]/div[@class="outcome"]`))
	require.Regexp(t, `^(created \d+.*|no partition created), \d+ already there; \d+ months ahead$`, outcome)
	require.Contains(t, text(t, ctx, chromedp.Search(row(part)+`/td[6]/div[contains(@class, "counts")]`)), "partitions ahead 3")
	require.Equal(t, outcome, text(t, ctx, chromedp.Search(run+`/td[5]/div[@class="outcome"]`)))
	require.Equal(t, "paused", text(t, ctx, chromedp.Search(row(dlq)+`/td[4]/span`)))
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll("button.run-now, #jobs-action-form"))
		.every(b => b.offsetParent === null) && document.querySelectorAll("button.run-now").length === 2`))
	require.NoError(t, err)
	require.True(t, hidden, "no Run now for a read-only key")
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#jobs-rows a, #runs-rows a")).map(a => a.href)`))
	require.NoError(t, err)
	require.Contains(t, links, opsUIURL+"/namespaces/default/schedules/"+part)
	require.Contains(t, strings.Join(links, " "), opsUIURL+"/namespaces/default/workflows/"+part)
	require.Contains(t, text(t, ctx, css("#jobs-temporal")), "task queue "+ops.TaskQueue)

	// Admin: "Run now" names its schedule and needs a reason.
	do(opsLogin(srv.URL, testAdminKey, "/ui/jobs")...)
	button := row(dlq) + `//button[contains(@class, "run-now")]`
	do(chromedp.WaitVisible(chromedp.Search(button)))
	require.Equal(t, "Run "+dlq+" now", text(t, ctx, chromedp.Search(button)))
	do(chromedp.Click(chromedp.Search(button)),
		chromedp.Poll[chromedp.Void](`document.getElementById("jobs-action-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#jobs-action-error")), "reason is required")

	dialogs := acceptDialogs(ctx, make(chan string))
	do(chromedp.SetValue(css("#jobs-action-reason"), "moogsoft is back"),
		chromedp.Click(chromedp.Search(button)),
		chromedp.WaitVisible(css("#jobs-run")),
		chromedp.Poll[chromedp.Void](`document.getElementById("jobs-run-state").dataset.status === "completed"`),
		chromedp.WaitVisible(chromedp.Search(row(dlq)+`/td[6]/div[@class="outcome"]`)),
		screenshot(t, shots, "02-run-now"))
	require.Contains(t, <-dialogs, "Run "+dlq+" (DLQRemediationWorkflow) now?")
	require.Contains(t, text(t, ctx, css("#jobs-run-text")), "workflow "+dlq)
	require.Contains(t, text(t, ctx, css("#jobs-run-state")), "replayed 2, parked 0, discarded 0, left 0")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("jobs-run-link").href`))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(href, opsUIURL+"/namespaces/default/workflows/"+dlq), href)
	require.Equal(t, "replayed 2, parked 0, discarded 0, left 0", text(t, ctx, chromedp.Search(row(dlq)+`/td[6]/div[@class="outcome"]`)))
	require.Contains(t, text(t, ctx, chromedp.Search(row(dlq)+`/td[6]/div[contains(@class, "counts")]`)), "replayed 2")
	require.EqualValues(t, 0, e.rdb.XLen(t.Context(), e.keys.AlerterDLQ()).Val())

	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM config_audit_log WHERE table_name = 'schedule'
		AND record_id = $1 AND reason = 'moogsoft is back'`, dlq).Scan(&n))
	require.Equal(t, 1, n)
}

package api

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/browsertest"
)

// newBrowser starts headless Chromium (browsertest.New) with a desktop window.
func newBrowser(t *testing.T) context.Context { return browsertest.New(t, 1400, 900) }

// screenshot saves the whole page as dir/name.png. Quality 100 is what makes
// chromedp capture a PNG; any other quality gives a JPEG.
func screenshot(t *testing.T, dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name+".png")
		t.Logf("screenshot %s", p)
		return os.WriteFile(p, buf, 0o600)
	})
}

// auditRows is an XPath to the rows of the audit page once the answer to its
// latest filter is drawn (the table is aria-busy until then), so a test never
// finds, or clicks, a row of the list that the filter is about to replace.
const auditRows = `//table[@id="audit-table"][not(@aria-busy)]/tbody[@id="audit-rows"]/tr`

// acceptDialogs accepts every JavaScript dialog of the tab (the UI asks for
// a reason with prompt() before a one-click change) and passes on each
// dialog's text. A prompt is answered with the next text sent on answers (""
// when none is waiting). Call it once the browser runs: it subscribes before
// it returns, so no dialog is missed.
func acceptDialogs(ctx context.Context, answers <-chan string) <-chan string {
	texts := make(chan string, 16)
	opening := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range opening {
			if err != nil {
				return
			}
			select {
			case texts <- ev.Message:
			default:
			}
			params := page.HandleJavaScriptDialogParams{Accept: true}
			if ev.Type == page.DialogTypePrompt {
				select {
				case params.PromptText = <-answers:
				default:
				}
			}
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, params); err != nil {
				return // the click that waits for the dialog fails the test with the context's deadline
			}
		}
	}()
	return texts
}

// text reads an element's visible text.
func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	require.NoError(t, err, "read text of %v", sel)
	return strings.TrimSpace(v)
}

// value reads a form control's value.
func value[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(sel))
	require.NoError(t, err, "read value of %v", sel)
	return v
}

// TestUIBrowserRuleLifecycle drives the real UI in Chromium against the real
// API, PostgreSQL and Redis: log in, create a rule (after a rejected one shows
// the server's message), edit it, and find the edit's old/new diff in the audit page.
func TestUIBrowserRuleLifecycle(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	shots := t.TempDir()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	const match = "ui-browser-disk-full"
	row := `//tbody[@id="rules-rows"]/tr[td[@data-col="match"]="` + match + `"]`
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}

	// Log in; the dashboard then loads its data with the key.
	do(chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(css("#login-form")), // no key yet: sent to the login page
		chromedp.SendKeys(css("#api-key"), testAdminKey),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#chart svg")),
		screenshot(t, shots, "01-dashboard"))

	// An invalid rule shows the server's validation message next to the form.
	do(chromedp.Navigate(srv.URL+"/ui/rules"),
		chromedp.WaitVisible(css("#rule-form")),
		chromedp.SetValue(css("#rule-match-type"), "regex"),
		chromedp.SetValue(css("#rule-match-string"), "(["),
		chromedp.SetValue(css("#rule-team"), "ui-team"),
		chromedp.SetValue(css("#rule-reason"), "created by the browser test"),
		chromedp.Click(css("#rule-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("rule-error").textContent !== ""`),
		screenshot(t, shots, "02-rule-invalid"))
	require.Contains(t, text(t, ctx, css("#rule-error")), "regular expression")

	// Create a valid rule and see it in the list.
	do(chromedp.SetValue(css("#rule-match-type"), "contains"),
		chromedp.SetValue(css("#rule-match-string"), match),
		chromedp.SetValue(css("#rule-reason"), "created by the browser test"),
		chromedp.Click(css("#rule-save")),
		chromedp.WaitVisible(chromedp.Search(row)),
		screenshot(t, shots, "03-rule-created"))

	// Edit it (the form carries the version) and see the new values listed.
	do(chromedp.Click(chromedp.Search(row+`//button[contains(@class,"edit")]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("rule-version").value === "1"`),
		chromedp.SetValue(css("#rule-team"), "ui-team-edited"),
		chromedp.SetValue(css("#rule-priority"), "42"),
		chromedp.SetValue(css("#rule-app-name"), "sshd"),
		chromedp.SetValue(css("#rule-facility"), "10"),
		chromedp.SetValue(css("#rule-reason"), "edited by the browser test"),
		chromedp.Click(css("#rule-save")),
		chromedp.WaitVisible(chromedp.Search(row+`[td[@data-col="team"]="ui-team-edited"]`)),
		screenshot(t, shots, "04-rule-edited"))
	require.Equal(t, "ui-team-edited", text(t, ctx, chromedp.Search(row+`/td[@data-col="team"]`)))
	require.Equal(t, "2", text(t, ctx, chromedp.Search(row+`/td[@data-col="version"]`)))
	require.Equal(t, "sshd", text(t, ctx, chromedp.Search(row+`/td[@data-col="app"]`)))
	require.Equal(t, "authpriv (10)", text(t, ctx, chromedp.Search(row+`/td[@data-col="facility"]`)))
	// Editing again shows the stored syslog conditions in the form.
	do(chromedp.Click(chromedp.Search(row+`//button[contains(@class,"edit")]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("rule-version").value === "2"`))
	require.Equal(t, "sshd", value(t, ctx, css("#rule-app-name")))
	require.Equal(t, "10", value(t, ctx, css("#rule-facility")))

	// The audit page lists the edit; clicking it shows old and new side by side.
	auditRow := auditRows + `[td[4]="UPDATE"][td[7]="edited by the browser test"]`
	do(chromedp.Navigate(srv.URL+"/ui/audit"),
		chromedp.WaitVisible(css("#audit-filters")),
		chromedp.SetValue(css("#f-table"), "alert_rules"),
		chromedp.SetValue(css("#f-operation"), "UPDATE"),
		chromedp.Click(css("#audit-apply")),
		chromedp.WaitVisible(chromedp.Search(auditRow)),
		chromedp.Click(chromedp.Search(auditRow)),
		chromedp.WaitVisible(css(`#diff-rows tr.changed[data-field="team_assignment"]`)),
		screenshot(t, shots, "05-audit-diff"))
	require.Equal(t, "ui-team", text(t, ctx, css(`#diff-rows tr.changed[data-field="team_assignment"] td.old`)))
	require.Equal(t, "ui-team-edited", text(t, ctx, css(`#diff-rows tr.changed[data-field="team_assignment"] td.new`)))
	require.Equal(t, "100", text(t, ctx, css(`#diff-rows tr.changed[data-field="priority"] td.old`)))
	require.Equal(t, "42", text(t, ctx, css(`#diff-rows tr.changed[data-field="priority"] td.new`)))
	same, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#diff-rows tr.same")).map(r => r.dataset.field)`))
	require.NoError(t, err)
	require.Contains(t, same, "match_string", "unchanged fields are not highlighted")

	// Dynamic config: an out-of-range value shows the server's message; a valid one is applied.
	cfgRow := `//tbody[@id="config-rows"]/tr[@data-key="unhandled_threshold"]`
	do(chromedp.Navigate(srv.URL+"/ui/config"),
		chromedp.WaitVisible(chromedp.Search(cfgRow)),
		chromedp.Click(chromedp.Search(cfgRow+`//button[contains(@class,"edit")]`)),
		chromedp.WaitVisible(css("#config-form")),
		chromedp.SetValue(css("#config-value"), "0"),
		chromedp.SetValue(css("#config-reason"), "browser test"),
		chromedp.Click(css("#config-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("config-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#config-error")), "unhandled_threshold")
	do(chromedp.SetValue(css("#config-value"), "250"),
		chromedp.Click(css("#config-save")),
		chromedp.WaitVisible(chromedp.Search(cfgRow+`[td[2]="250"]`)),
		screenshot(t, shots, "06-config"))
	require.Equal(t, "250", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val())
}

// TestUIBrowserDevHosts drives the dev hosts and teams page: a rejected dev
// host and team mapping show the server's message; a dev host is added, a
// mapping added, edited and deleted, the dev host deleted; each change has its
// config_audit_log row, and the audit page shows them with their diffs. It
// starts on the dashboard, which shows the pipeline's breaker colour.
func TestUIBrowserDevHosts(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	require.NoError(t, e.rdb.HSet(t.Context(), e.keys.CircuitBreaker(), "state", "open", "failures", "3").Err())
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	shots := t.TempDir()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	const (
		host   = "ui-dev-host-01"
		mapped = "ui-router-01.prod.example.com"
	)
	row := `//tbody[@id="hosts-rows"]/tr[td[1]="` + host + `"]`
	teamRow := `//tbody[@id="teams-rows"]/tr[td[1]="` + mapped + `"]`
	do(chromedp.Navigate(srv.URL+"/ui/login"),
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#api-key"), testAdminKey),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css(`#breaker-state.red`)),
		screenshot(t, shots, "01-dashboard-pipeline"))
	require.Equal(t, "breaker open", text(t, ctx, css("#breaker-state")))
	answers := make(chan string, 1)
	confirms := acceptDialogs(ctx, answers)
	next := func(texts <-chan string) string {
		t.Helper()
		select {
		case s := <-texts:
			return s
		case <-ctx.Done():
			t.Fatal("no dialog before the browser's deadline")
			return ""
		}
	}

	do(chromedp.Navigate(srv.URL+"/ui/hosts"),
		chromedp.WaitVisible(css("#host-form")),
		chromedp.SetValue(css("#host-name"), "bad host"),
		chromedp.SetValue(css("#host-reason"), "browser test"),
		chromedp.Click(css("#host-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("host-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#host-error")), "hostname")

	do(chromedp.SetValue(css("#host-name"), host),
		chromedp.Click(css("#host-save")),
		chromedp.WaitVisible(chromedp.Search(row)),
		screenshot(t, shots, "02-dev-host-added"))
	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM development_hosts WHERE hostname = $1`, host).Scan(&n))
	require.Equal(t, 1, n)

	// A mapping without a team shows the server's message next to the form.
	do(chromedp.SetValue(css("#team-host"), mapped),
		chromedp.SetValue(css("#team-reason"), "browser test: map"),
		chromedp.Click(css("#team-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("team-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#team-error")), "team_assignment")
	require.Empty(t, text(t, ctx, css("#status")), "the message of the earlier action (dev host added) is gone")

	do(chromedp.SetValue(css("#team-name"), "UI-NetOps"),
		chromedp.Click(css("#team-save")),
		chromedp.WaitVisible(chromedp.Search(teamRow+`[td[2]="UI-NetOps"]`)),
		screenshot(t, shots, "03-team-added"))
	require.Empty(t, text(t, ctx, css("#team-error")), "the earlier message is gone")
	require.Equal(t, "1", text(t, ctx, css("#teams-total")))

	// Edit: the form holds the mapping with its hostname locked; the new team is listed.
	do(chromedp.Click(chromedp.Search(teamRow+`//button[contains(@class,"edit")]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("team-host").readOnly &&
			document.getElementById("team-host").value === "`+mapped+`" &&
			document.getElementById("team-name").value === "UI-NetOps"`),
		screenshot(t, shots, "04-team-editing"),
		chromedp.SetValue(css("#team-name"), "UI-Security"),
		chromedp.SetValue(css("#team-reason"), "browser test: remap"),
		chromedp.Click(css("#team-save")),
		chromedp.WaitVisible(chromedp.Search(teamRow+`[td[2]="UI-Security"]`)),
		screenshot(t, shots, "05-team-edited"))
	require.Equal(t, "1", text(t, ctx, css("#teams-total")), "edited in place, not added again")
	locked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("team-host").readOnly`))
	require.NoError(t, err)
	require.False(t, locked, "after saving, the form is for a new mapping again")

	// Delete the mapping, then the dev host; each asks for a reason first, and
	// a reason of blanks deletes nothing.
	answers <- "   "
	do(chromedp.Click(chromedp.Search(teamRow+`//button[contains(@class,"delete")]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.includes("a reason is required")`))
	require.Equal(t, "Remove the team mapping of "+mapped+"? Reason for the change (required):", next(confirms))
	require.Equal(t, "1", text(t, ctx, css("#teams-total")), "nothing deleted without a reason")
	answers <- "browser test: unmap"
	do(chromedp.Click(chromedp.Search(teamRow+`//button[contains(@class,"delete")]`)),
		chromedp.WaitNotPresent(chromedp.Search(teamRow)))
	require.Equal(t, "Remove the team mapping of "+mapped+"? Reason for the change (required):", next(confirms))
	answers <- "browser test: no longer a dev host"
	do(chromedp.Click(chromedp.Search(row+`//button[contains(@class,"delete")]`)),
		chromedp.WaitNotPresent(chromedp.Search(row)),
		screenshot(t, shots, "06-deleted"))
	require.Equal(t, "Remove dev host "+host+"? Reason for the change (required):", next(confirms))
	require.Equal(t, "Dev host "+host+" removed", text(t, ctx, css("#status")))
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM development_hosts WHERE hostname = $1)
        + (SELECT count(*) FROM device_teams WHERE hostname = $2)`, host, mapped).Scan(&n))
	require.Equal(t, 0, n)

	// Each change wrote its audit row, with the reason given (deletes: the one typed at the prompt).
	type change struct {
		By, Op, Table, Record, Reason string
		Old, New                      map[string]any
	}
	rows, err := e.db.Query(t.Context(), `SELECT changed_by, operation, table_name, record_id, coalesce(reason, ''),
        old_values, new_values FROM config_audit_log WHERE record_id IN ($1, $2) ORDER BY id`, host, mapped)
	require.NoError(t, err)
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
		var c change
		return c, r.Scan(&c.By, &c.Op, &c.Table, &c.Record, &c.Reason, &c.Old, &c.New)
	})
	require.NoError(t, err)
	require.Len(t, changes, 5, "%+v", changes)
	by := KeyName(testKeyNameSecret, testAdminKey, true)
	want := []change{
		{by, "CREATE", "development_hosts", host, "browser test", nil, nil},
		{by, "CREATE", "device_teams", mapped, "browser test: map", nil, nil},
		{by, "UPDATE", "device_teams", mapped, "browser test: remap", nil, nil},
		{by, "DELETE", "device_teams", mapped, "browser test: unmap", nil, nil},
		{by, "DELETE", "development_hosts", host, "browser test: no longer a dev host", nil, nil},
	}
	for i, w := range want {
		got := changes[i]
		require.Equal(t, w, change{got.By, got.Op, got.Table, got.Record, got.Reason, nil, nil}, "change %d", i)
	}
	require.Nil(t, changes[1].Old)
	require.Equal(t, "UI-NetOps", changes[1].New["team_assignment"])
	require.Equal(t, "UI-NetOps", changes[2].Old["team_assignment"])
	require.Equal(t, "UI-Security", changes[2].New["team_assignment"])
	require.Equal(t, "UI-Security", changes[3].Old["team_assignment"])
	require.Nil(t, changes[3].New)
	require.Equal(t, host, changes[4].Old["hostname"])
	require.Nil(t, changes[4].New)

	// The audit page lists the mapping's history, newest first; the edit shows old and new.
	do(chromedp.Navigate(srv.URL+"/ui/audit"),
		chromedp.WaitVisible(css("#audit-filters")),
		chromedp.SetValue(css("#f-table"), "device_teams"),
		chromedp.SetValue(css("#f-record"), mapped),
		chromedp.Click(css("#audit-apply")),
		chromedp.WaitVisible(chromedp.Search(auditRows+`[td[4]="UPDATE"]`)))
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#audit-rows tr"))
		.map(r => [3, 4, 5, 6].map(i => r.children[i].textContent).join(" | "))`))
	require.NoError(t, err)
	require.Equal(t, []string{
		"DELETE | device_teams | " + mapped + " | browser test: unmap",
		"UPDATE | device_teams | " + mapped + " | browser test: remap",
		"CREATE | device_teams | " + mapped + " | browser test: map",
	}, listed)
	do(chromedp.Click(chromedp.Search(auditRows+`[td[4]="UPDATE"]`)),
		chromedp.WaitVisible(css(`#diff-rows tr.changed[data-field="team_assignment"]`)),
		screenshot(t, shots, "07-audit-team-diff"))
	require.Equal(t, "UI-NetOps", text(t, ctx, css(`#diff-rows tr.changed[data-field="team_assignment"] td.old`)))
	require.Equal(t, "UI-Security", text(t, ctx, css(`#diff-rows tr.changed[data-field="team_assignment"] td.new`)))
	require.Equal(t, mapped, text(t, ctx, css(`#diff-rows tr.same[data-field="hostname"] td.new`)))

	// And the dev host's removal, with what was removed.
	hostDelete := auditRows + `[td[4]="DELETE"][td[5]="development_hosts"][td[6]="` + host + `"]`
	do(chromedp.SetValue(css("#f-table"), "development_hosts"),
		chromedp.SetValue(css("#f-record"), host),
		chromedp.SetValue(css("#f-operation"), "DELETE"),
		chromedp.Click(css("#audit-apply")),
		chromedp.WaitVisible(chromedp.Search(hostDelete)),
		chromedp.Click(chromedp.Search(hostDelete)),
		chromedp.WaitVisible(css(`#diff-rows tr.changed[data-field="hostname"]`)),
		screenshot(t, shots, "08-audit-host-deleted"))
	require.Equal(t, "browser test: no longer a dev host", text(t, ctx, chromedp.Search(hostDelete+`/td[7]`)))
	require.Equal(t, host, text(t, ctx, css(`#diff-rows tr.changed[data-field="hostname"] td.old`)))
	require.Equal(t, "DELETE development_hosts #"+host, text(t, ctx, css("#diff-title")))
}

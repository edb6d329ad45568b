package api

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium with a throwaway profile. A missing
// browser fails the test (it is part of `make test`), naming the package.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "the browser test needs %s: install the Debian package chromium "+
		"(apt-get install --no-install-recommends chromium, or scripts/ensure-services.sh --test)", chromiumPath)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	return bctx
}

func screenshot(t *testing.T, dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name+".png")
		t.Logf("screenshot %s", p)
		return os.WriteFile(p, buf, 0o600)
	})
}

// text reads an element's visible text.
func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	require.NoError(t, err, "read text of %v", sel)
	return strings.TrimSpace(v)
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
	row := `//tbody[@id="rules-rows"]/tr[td[3]="` + match + `"]`
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
		chromedp.SetValue(css("#rule-reason"), "edited by the browser test"),
		chromedp.Click(css("#rule-save")),
		chromedp.WaitVisible(chromedp.Search(row+`[td[8]="ui-team-edited"]`)),
		screenshot(t, shots, "04-rule-edited"))
	require.Equal(t, "ui-team-edited", text(t, ctx, chromedp.Search(row+`/td[8]`)))
	require.Equal(t, "2", text(t, ctx, chromedp.Search(row+`/td[10]`)))

	// The audit page lists the edit; clicking it shows old and new side by side.
	auditRow := `//tbody[@id="audit-rows"]/tr[td[4]="UPDATE"][td[7]="edited by the browser test"]`
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
		chromedp.Click(chromedp.Search(cfgRow+`//button`)),
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

// TestUIBrowserDevHosts adds a dev host in the hosts page (after a rejected
// one shows the server's message), sees it listed, and sees the pipeline's
// breaker colour on the dashboard.
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
	const host = "ui-dev-host-01"
	row := `//tbody[@id="hosts-rows"]/tr[td[1]="` + host + `"]`

	do(chromedp.Navigate(srv.URL+"/ui/login"),
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#api-key"), testAdminKey),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css(`#breaker-state.red`)),
		screenshot(t, shots, "01-dashboard-pipeline"))
	require.Equal(t, "breaker open", text(t, ctx, css("#breaker-state")))

	do(chromedp.Navigate(srv.URL+"/ui/hosts"),
		chromedp.WaitVisible(css("#host-form")),
		chromedp.SetValue(css("#host-name"), "bad host"),
		chromedp.Click(css("#host-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("host-error").textContent !== ""`))
	require.Contains(t, text(t, ctx, css("#host-error")), "hostname")

	do(chromedp.SetValue(css("#host-name"), host),
		chromedp.SetValue(css("#host-reason"), "browser test"),
		chromedp.Click(css("#host-save")),
		chromedp.WaitVisible(chromedp.Search(row)),
		screenshot(t, shots, "02-dev-host-added"))
	var n int
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM development_hosts WHERE hostname = $1`, host).Scan(&n))
	require.Equal(t, 1, n)
}
